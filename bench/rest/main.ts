import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ControlPlaneProcess, freePort } from '../system/control-plane-process';
import type { LoadClientKind } from './load-client';
import { restTable, runRestBench } from './rest-bench';

// `node dist/bench/bench/rest/main.js [--smoke] [--json] [--profile DIR] …`
//
// Starts the built control plane (`npm run build` first) as its own process, as `npm start`
// does, with an embedded Postgres in a fresh temporary directory and free ports; runs the REST
// benchmark against it; prints a Markdown table; stops it with SIGTERM and removes the
// directory. Exits non-zero when a check fails.

const USAGE = `usage: node dist/bench/bench/rest/main.js [options]
  --clients N       concurrent UpdateRoute clients, one route each (default 16; 2 with --smoke)
  --duration S      measured UpdateRoute window in seconds (default 10; 1 with --smoke)
  --warmup S        warm-up before the window (default 2; 0.5 with --smoke)
  --nodes N         virtual nodes for the ListVirtualNodes pages (default 5000; 50 with --smoke)
  --client KIND     http: lean node:http client (default); sdk: @aws-sdk/client-app-mesh
  --roles ROLES     TRELLIS_ROLES of the server (default admin,xds, as npm start)
  --log-level L     TRELLIS_LOG_LEVEL of the server (default info, as npm start)
  --timeout S       give up after S seconds (default 300; 60 with --smoke)
  --smoke           a few seconds' run that checks the harness and the answers
  --profile DIR     run the server with --cpu-prof; its profile is written into DIR
  --server FILE     the control plane's main.js to run (default: this checkout's build, as
                    npm start runs it), e.g. another commit's build for a before/after
  --json            also print the results as one JSON line`;

class UsageError extends Error {}

function options(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      clients: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      nodes: { type: 'string' },
      client: { type: 'string', default: 'http' },
      roles: { type: 'string' },
      'log-level': { type: 'string', default: 'info' },
      timeout: { type: 'string' },
      smoke: { type: 'boolean', default: false },
      profile: { type: 'string' },
      server: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const number = (name: string, value: string | undefined, min: number): number | undefined => {
    if (value === undefined) return undefined;
    const parsed = Number(value);
    if (!Number.isFinite(parsed) || parsed < min) throw new UsageError(`--${name} ${value}`);
    return parsed;
  };
  if (values.client !== 'http' && values.client !== 'sdk') {
    throw new UsageError(`--client ${values.client}`);
  }
  const client: LoadClientKind = values.client;
  const smoke = values.smoke;
  return {
    clients: number('clients', values.clients, 1),
    durationSeconds: number('duration', values.duration, 0.1),
    warmupSeconds: number('warmup', values.warmup, 0),
    nodes: number('nodes', values.nodes, 1),
    client,
    roles: values.roles,
    logLevel: values['log-level'],
    timeoutMs: (number('timeout', values.timeout, 1) ?? (smoke ? 60 : 300)) * 1000,
    smoke,
    profile: values.profile,
    server: values.server === undefined ? undefined : path.resolve(values.server),
    json: values.json,
  };
}

async function main(): Promise<void> {
  const opts = options(process.argv.slice(2));
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'trellis-rest-bench-'));
  const env: Record<string, string> = { TRELLIS_LOG_LEVEL: opts.logLevel };
  if (opts.roles) env.TRELLIS_ROLES = opts.roles;
  let server: ControlPlaneProcess | undefined = await ControlPlaneProcess.start({
    dataDir,
    httpPort: await freePort(),
    xdsPort: await freePort(),
    postgresPort: await freePort(),
    env,
    cpuProfileDir: opts.profile,
    entry: opts.server,
  });
  const deadline = setTimeout(() => {
    console.error(`bench:rest FAILED: no result within ${opts.timeoutMs / 1000} s`);
    void server
      ?.stop()
      .finally(() => rmSync(dataDir, { recursive: true, force: true }))
      .finally(() => process.exit(1));
  }, opts.timeoutMs);
  try {
    const result = await runRestBench({
      baseUrl: server.httpUrl,
      clients: opts.clients,
      durationSeconds: opts.durationSeconds,
      warmupSeconds: opts.warmupSeconds,
      nodes: opts.nodes,
      smoke: opts.smoke,
      client: opts.client,
      serverPid: server.pid,
      log: (line) => console.error(`bench:rest: ${line}`),
    });
    await server.stop();
    server = undefined;
    clearTimeout(deadline);
    console.log(`\nREST API — Node ${process.version}, ${os.cpus().length} cores\n`);
    console.log(restTable(result));
    if (opts.json) console.log(JSON.stringify(result));
    if (opts.profile) console.log(`\nserver CPU profile in ${opts.profile}`);
    if (result.failures.length > 0) {
      for (const failure of result.failures) console.error(`bench:rest check failed: ${failure}`);
      process.exitCode = 1;
    } else if (opts.smoke) {
      console.log('bench:rest smoke OK');
    }
  } finally {
    clearTimeout(deadline);
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  if (error instanceof UsageError) {
    console.error(`bench:rest: bad option ${error.message}\n${USAGE}`);
    process.exit(2);
  }
  console.error('bench:rest FAILED:', error);
  process.exit(1);
});
