// @ts-check
// Regenerates libs/envoy-api/generated/ from the Envoy protos that @grpc/grpc-js-xds ships.
//
//   npm run generate:envoy             write libs/envoy-api/generated/
//   npm run generate:envoy -- --check  fail if the committed output is not what generation gives
//
// buf only reads modules inside its workspace (proto/), so this first assembles proto/vendor/:
// symlinks to the shipped envoy-api, xds and googleapis trees, and a patched copy of
// protoc-gen-validate's validate/validate.proto (see patchValidateProto). Then it runs
// `buf generate --template proto/buf.gen.yaml`, which does the rest.
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const depsDir = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
const vendorDir = join(root, 'proto', 'vendor');
const outDir = 'libs/envoy-api/generated';
const check = process.argv.includes('--check');

const started = performance.now();
assembleVendor();
if (check) {
  const scratch = mkdtempSync(join(tmpdir(), 'trellis-envoy-api-'));
  try {
    runBuf(['generate', '--template', 'proto/buf.gen.yaml', '-o', scratch]);
    const differences = compareTrees(join(scratch, outDir), join(root, outDir));
    if (differences.length > 0) {
      console.error(
        `${outDir} is out of date (run npm run generate:envoy):\n  ${differences.join('\n  ')}`,
      );
      process.exit(1);
    }
    console.log(`${outDir} is up to date`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
} else {
  runBuf(['generate', '--template', 'proto/buf.gen.yaml']);
  const { files, bytes } = treeSize(join(root, outDir));
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`${outDir}: ${files} files, ${(bytes / 1024 / 1024).toFixed(1)} MiB in ${seconds} s`);
}

function assembleVendor() {
  rmSync(vendorDir, { recursive: true, force: true });
  mkdirSync(vendorDir, { recursive: true });
  for (const module of ['envoy-api', 'xds', 'googleapis']) {
    const target = join(depsDir, module);
    // Junctions need absolute targets on Windows; relative links survive moving the checkout.
    if (process.platform === 'win32') symlinkSync(target, join(vendorDir, module), 'junction');
    else symlinkSync(relative(vendorDir, target), join(vendorDir, module), 'dir');
  }
  const validateDir = join(vendorDir, 'protoc-gen-validate', 'validate');
  mkdirSync(validateDir, { recursive: true });
  const shipped = readFileSync(
    join(depsDir, 'protoc-gen-validate', 'validate', 'validate.proto'),
    'utf8',
  );
  writeFileSync(join(validateDir, 'validate.proto'), patchValidateProto(shipped));
}

/**
 * The validate.proto in @grpc/grpc-js-xds predates protoc-gen-validate's `ignore_empty` rule, yet
 * the Envoy protos next to it use `string = {... ignore_empty: true}` (e.g. in
 * envoy/config/core/v3/protocol.proto), which protoc and buf reject. Add the field to every rule
 * message that has it upstream, with upstream's field numbers
 * (https://github.com/bufbuild/protoc-gen-validate/blob/main/validate/validate.proto), so the
 * options decode exactly as Envoy's own build reads them. Messages that already have it are left
 * alone, so a newer grpc-js-xds needs no change here.
 * @param {string} source
 */
function patchValidateProto(source) {
  const numbers = {
    FloatRules: 8,
    DoubleRules: 8,
    Int32Rules: 8,
    Int64Rules: 8,
    UInt32Rules: 8,
    UInt64Rules: 8,
    SInt32Rules: 8,
    SInt64Rules: 8,
    Fixed32Rules: 8,
    Fixed64Rules: 8,
    SFixed32Rules: 8,
    SFixed64Rules: 8,
    StringRules: 26,
    BytesRules: 14,
    RepeatedRules: 5,
    MapRules: 6,
  };
  // The shipped file has CRLF line endings.
  let patched = source.replace(/\r\n/g, '\n');
  for (const [message, number] of Object.entries(numbers)) {
    const block = new RegExp(`^message ${message} \\{\\n[\\s\\S]*?^\\}`, 'm').exec(patched);
    if (!block) throw new Error(`validate.proto: message ${message} not found`);
    if (/\bignore_empty\b/.test(block[0])) continue;
    const field = `    optional bool ignore_empty = ${number}; // added by scripts/generate-envoy-api.mjs`;
    patched = patched.replace(block[0], `${block[0].slice(0, -1)}\n${field}\n}`);
  }
  const header = [
    '// Patched copy of @grpc/grpc-js-xds/deps/protoc-gen-validate/validate/validate.proto, written',
    '// by scripts/generate-envoy-api.mjs (see patchValidateProto there).',
  ];
  return `${header.join('\n')}\n${patched}`;
}

/** @param {string[]} args */
function runBuf(args) {
  const buf = require.resolve('@bufbuild/buf/bin/buf');
  const result = spawnSync(process.execPath, [buf, ...args], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

/**
 * @param {string} expectedDir
 * @param {string} actualDir
 */
function compareTrees(expectedDir, actualDir) {
  const expected = listFiles(expectedDir);
  const actual = existsSync(actualDir) ? listFiles(actualDir) : [];
  const differences = [];
  for (const file of expected) {
    if (!actual.includes(file)) differences.push(`missing ${file}`);
    else if (!readFileSync(join(expectedDir, file)).equals(readFileSync(join(actualDir, file)))) {
      differences.push(`differs ${file}`);
    }
  }
  for (const file of actual) if (!expected.includes(file)) differences.push(`unexpected ${file}`);
  return differences;
}

/** @param {string} dir */
function listFiles(dir) {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => statSync(join(dir, file)).isFile())
    .map((file) => file.split('\\').join('/'))
    .sort();
}

/** @param {string} dir */
function treeSize(dir) {
  const files = listFiles(dir);
  const bytes = files.reduce((sum, file) => sum + statSync(join(dir, file)).size, 0);
  return { files: files.length, bytes };
}
