#!/usr/bin/env node
/**
 * Generates the project-owned copy of an AWS API model that `libs/mesh-model` validates
 * requests against, and the TypeScript types of every request shape. Two APIs are served:
 * App Mesh and Cloud Map (servicediscovery); the model's `metadata.endpointPrefix` says which.
 *
 * Usage: node scripts/generate-appmesh-model.mjs <service-2.json>
 *
 * <service-2.json> is the official service model from botocore,
 * appmesh/2019-01-25/service-2.json or servicediscovery/2017-03-14/service-2.json
 * (documentation strings may be stripped). Trellis never reads it at run time; it reads only
 * the two files written here, which are committed:
 *
 *   libs/mesh-model/src/generated/<api>-model.json  operations (name, HTTP method, request URI,
 *     input shape) and every shape reachable from an operation input, with only the keys that
 *     validation needs. Keys are sorted so a model update shows as a readable diff.
 *   libs/mesh-model/src/generated/<api>-types.ts    an interface per input structure, a
 *     string-literal union per enum, a record per map, and a union of single-member objects per
 *     `union` shape.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';

const outputDir = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  'libs',
  'mesh-model',
  'src',
  'generated',
);

const SHAPE_KEYS = ['type', 'required', 'min', 'max', 'pattern', 'enum', 'union'];
const MEMBER_KEYS = ['shape', 'location', 'locationName'];
const SUPPORTED_TYPES = [
  'structure',
  'list',
  'map',
  'string',
  'integer',
  'long',
  'boolean',
  'timestamp',
];

/** The APIs Trellis serves, by the model's endpoint prefix. */
const APIS = {
  appmesh: { title: 'App Mesh', supplement: {} },
  servicediscovery: {
    title: 'Cloud Map (servicediscovery)',
    // DiscoverInstancesRevision joined the API after the 2017-03-14 model revision Trellis is
    // generated from; the AWS SDKs send it, so its input is declared here as AWS documents it.
    supplement: {
      operations: {
        DiscoverInstancesRevision: {
          http: { method: 'POST', requestUri: '/' },
          input: { shape: 'DiscoverInstancesRevisionRequest' },
        },
      },
      shapes: {
        DiscoverInstancesRevisionRequest: {
          type: 'structure',
          required: ['NamespaceName', 'ServiceName'],
          members: {
            NamespaceName: { shape: 'NamespaceName' },
            ServiceName: { shape: 'ServiceName' },
          },
        },
      },
    },
  },
};

async function main() {
  const modelPath = process.argv[2];
  if (!modelPath) {
    console.error('usage: node scripts/generate-appmesh-model.mjs <appmesh service-2.json>');
    process.exit(2);
  }
  const model = JSON.parse(readFileSync(modelPath, 'utf8'));
  const prefix = model.metadata?.endpointPrefix;
  const api = APIS[prefix];
  if (!api) throw new Error(`no API with endpoint prefix ${prefix} is served by Trellis`);
  const source = {
    operations: { ...model.operations, ...api.supplement.operations },
    shapes: { ...model.shapes, ...api.supplement.shapes },
  };
  const { operations, shapes } = validationModel(source);

  mkdirSync(outputDir, { recursive: true });
  await writeFormatted(`${prefix}-model.json`, JSON.stringify(sortKeys({ operations, shapes })));
  await writeFormatted(`${prefix}-types.ts`, typesSource(operations, shapes, api.title));
  console.log(
    `wrote ${Object.keys(operations).length} operations and ${Object.keys(shapes).length} shapes to ${outputDir}`,
  );
}

/** Formats with the project's Prettier settings, so the output reads like the rest of the code. */
async function writeFormatted(fileName, text) {
  const filepath = join(outputDir, fileName);
  const options = await prettier.resolveConfig(filepath);
  writeFileSync(filepath, await prettier.format(text, { ...options, filepath }));
}

/** The operations and the input-reachable shapes, reduced to what validation reads. */
function validationModel(source) {
  const operations = {};
  const shapes = {};

  const visit = (name) => {
    if (shapes[name]) return;
    const shape = source.shapes[name];
    if (!shape) throw new Error(`shape ${name} is referenced but not defined`);
    if (!SUPPORTED_TYPES.includes(shape.type)) {
      throw new Error(`shape ${name} has unsupported type ${shape.type}`);
    }
    if (shape.pattern !== undefined) checkPattern(name, shape.pattern);
    shapes[name] = pick(shape, SHAPE_KEYS);
    if (shape.members) {
      shapes[name].members = Object.fromEntries(
        Object.entries(shape.members).map(([member, ref]) => [member, pick(ref, MEMBER_KEYS)]),
      );
      Object.values(shape.members).forEach((ref) => visit(ref.shape));
    }
    if (shape.member) {
      shapes[name].member = pick(shape.member, MEMBER_KEYS);
      visit(shape.member.shape);
    }
    for (const part of ['key', 'value']) {
      if (!shape[part]) continue;
      shapes[name][part] = pick(shape[part], MEMBER_KEYS);
      visit(shape[part].shape);
    }
  };

  for (const [name, operation] of Object.entries(source.operations)) {
    if (!operation.input) throw new Error(`operation ${name} has no input shape`);
    operations[name] = {
      name,
      method: operation.http.method,
      requestUri: operation.http.requestUri,
      input: operation.input.shape,
    };
    visit(operation.input.shape);
  }
  return { operations, shapes };
}

/** Fails generation when a pattern would not compile the way the validator compiles it. */
function checkPattern(name, pattern) {
  try {
    new RegExp(`^(?:${pattern})$`, 'u');
  } catch (error) {
    throw new Error(`shape ${name}: pattern ${pattern} is not a valid JS RegExp: ${error.message}`);
  }
}

function pick(object, keys) {
  return Object.fromEntries(
    keys.filter((key) => object[key] !== undefined).map((key) => [key, object[key]]),
  );
}

function sortKeys(value) {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortKeys(value[key])]),
  );
}

function typesSource(operations, shapes, title) {
  const lines = [
    `// Generated by scripts/generate-appmesh-model.mjs from the ${title} service model. Do not edit.`,
    '',
  ];
  const names = Object.keys(shapes).sort();
  const structures = names.filter((name) => shapes[name].type === 'structure');

  for (const name of names) {
    const shape = shapes[name];
    if (shape.type === 'string' && shape.enum) {
      lines.push(
        `export type ${name} = ${shape.enum.map((value) => quote(value)).join(' | ')};`,
        '',
      );
    } else if (shape.type === 'structure' && shape.union) {
      const variants = Object.entries(shape.members).map(
        ([member, ref]) => `{ ${member}: ${typeOf(ref.shape, shapes)} }`,
      );
      lines.push(`export type ${name} = ${variants.join(' | ')};`, '');
    } else if (shape.type === 'structure') {
      const required = new Set(shape.required ?? []);
      lines.push(`export interface ${name} {`);
      for (const [member, ref] of Object.entries(shape.members ?? {})) {
        const optional = required.has(member) ? '' : '?';
        lines.push(`  ${member}${optional}: ${typeOf(ref.shape, shapes)};`);
      }
      lines.push('}', '');
    }
  }

  lines.push(
    '/** Every input structure by its model name, for code that looks shapes up by name. */',
    'export interface StructureShapes {',
    ...structures.map((name) => `  ${name}: ${name};`),
    '}',
    '',
    '/** The input of every operation by operation name. */',
    'export interface OperationInputs {',
    ...Object.keys(operations)
      .sort()
      .map((name) => `  ${name}: ${operations[name].input};`),
    '}',
    '',
    'export type OperationName = keyof OperationInputs;',
    '',
  );
  return lines.join('\n');
}

function typeOf(shapeName, shapes) {
  const shape = shapes[shapeName];
  switch (shape.type) {
    case 'structure':
      return shapeName;
    case 'list':
      return `${typeOf(shape.member.shape, shapes)}[]`;
    case 'map':
      return `Record<string, ${typeOf(shape.value.shape, shapes)}>`;
    case 'string':
      return shape.enum ? shapeName : 'string';
    case 'integer':
    case 'long':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'timestamp':
      // App Mesh and Cloud Map timestamps travel as epoch seconds.
      return 'number';
    default:
      throw new Error(`shape ${shapeName} has unsupported type ${shape.type}`);
  }
}

function quote(value) {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

await main();
