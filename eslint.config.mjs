// @ts-check
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The layer table of DESIGN.md, enforced: what each layer may not import (imports flow one way).
 * Relative specifiers are matched by folder name (`xds/src` is the engine, `xds-types/src` the
 * vocabulary it shares with the translator).
 */
const APPS = '**/apps/**';
const NEST = '@nestjs/*';
const SQL = ['typeorm', 'pg'];
const MESH_MODEL = '**/mesh-model/src/**';
const PERSISTENCE = '**/persistence/src/**';
const TRANSLATOR = '**/translator/src/**';
const XDS_ENGINE = '**/xds/src/**';
const XDS_TYPES = '**/xds-types/src/**';
const ENVOY_TYPES = '**/envoy-api/**';

function layer(files, forbidden, message, ignores = []) {
  return {
    files,
    ignores,
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: forbidden, message }] }],
    },
  };
}

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      '.trellis/**',
      'libs/envoy-api/generated/**',
      '**/*.js',
      '**/*.mjs',
    ],
  },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'off',
    },
  },
  layer(
    ['libs/mesh-model/**/*.ts'],
    [PERSISTENCE, TRANSLATOR, XDS_ENGINE, XDS_TYPES, ENVOY_TYPES, APPS, NEST, ...SQL],
    'The mesh model knows App Mesh only: no Nest, no SQL, no Envoy (DESIGN.md, Layers).',
  ),
  layer(
    ['libs/persistence/**/*.ts'],
    [TRANSLATOR, XDS_ENGINE, XDS_TYPES, ENVOY_TYPES, APPS, NEST],
    'Persistence knows the mesh model and SQL only (DESIGN.md, Layers).',
  ),
  layer(
    [
      'libs/translator/src/envoy/**/*.ts',
      'libs/translator/**/*.spec.ts',
      'libs/translator/test/**',
    ],
    [PERSISTENCE, XDS_ENGINE, APPS, NEST, ...SQL],
    'The translator is pure: it shares the xDS vocabulary (libs/xds-types) with the engine and imports neither the engine nor storage (DESIGN.md, Layers).',
  ),
  layer(
    ['libs/translator/**/*.ts'],
    [PERSISTENCE, XDS_ENGINE, ENVOY_TYPES, APPS, NEST, ...SQL],
    "Only the translator's last step (libs/translator/src/envoy) imports Envoy types; the translator imports neither the engine nor storage (DESIGN.md, Layers).",
    ['libs/translator/src/envoy/**', 'libs/translator/**/*.spec.ts', 'libs/translator/test/**'],
  ),
  layer(
    ['libs/xds/**/*.ts'],
    [MESH_MODEL, PERSISTENCE, TRANSLATOR, APPS, NEST, ...SQL],
    'The xDS engine knows Envoy and xDS only, not App Mesh or storage (DESIGN.md, Layers).',
  ),
  layer(
    ['libs/xds-types/**/*.ts'],
    ['../../**'],
    'The shared xDS vocabulary depends on nothing else in the repository.',
  ),
  layer(
    ['libs/envoy-api/src/**/*.ts'],
    [MESH_MODEL, PERSISTENCE, TRANSLATOR, XDS_ENGINE, XDS_TYPES, APPS, NEST, ...SQL],
    'Envoy types and their validation depend on nothing but the generated code.',
  ),
  {
    files: ['**/*.spec.ts', '**/*.e2e-spec.ts', 'test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/unbound-method': 'off',
      // Tests walk deep JSON documents (bootstraps, config dumps) to assert on them.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
    },
  },
);
