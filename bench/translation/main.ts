import { parseArgs } from 'node:util';
import { runTranslationBench, translationTable } from './translation-bench';

// tsc -p bench/tsconfig.json && node dist/bench/bench/translation/main.js [options]
//
// Translation of meshes of N virtual nodes through the production path (embedded Postgres,
// MeshConfigSource, XdsEngine with one sidecar per node): full translation, and one route change
// until the affected sidecars' responses are ready. Prints a Markdown table; exits non-zero when
// a check fails.

const USAGE = `usage: node dist/bench/bench/translation/main.js [options]
  --sizes N,N,...   virtual nodes per mesh (default 100,1000,5000)
  --runs R          full translations per size, median reported (default 5; 3 above 2,000 nodes)
  --changes C       route changes per size (default 20)
  --smoke           a few seconds' run that checks the results (20 nodes, 2 changes)
  --profile PREFIX  write CPU profiles to PREFIX-<nodes>-full.cpuprofile (last full
                    translation) and PREFIX-<nodes>-change.cpuprofile (all changes)
  --json            also print the results as one JSON line`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sizes: { type: 'string', default: '100,1000,5000' },
      runs: { type: 'string' },
      changes: { type: 'string' },
      smoke: { type: 'boolean', default: false },
      profile: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const sizes = values.sizes.split(',').map(Number);
  if (sizes.some((size) => !Number.isInteger(size) || size < 9)) {
    throw new Error(`--sizes takes whole numbers of at least 9, got ${values.sizes}`);
  }
  const results = await runTranslationBench({
    sizes,
    smoke: values.smoke,
    runs: values.runs === undefined ? undefined : Number(values.runs),
    changes: values.changes === undefined ? undefined : Number(values.changes),
    profile: values.profile,
    log: (line) => console.error(line),
  });
  console.log(translationTable(results));
  if (values.json) console.log(JSON.stringify(results));
  if (values.smoke) console.log('bench:translation smoke OK');
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error('bench:translation FAILED', error);
    process.exit(1);
  },
);
