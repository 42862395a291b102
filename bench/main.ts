import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  runFanout,
  runStorm,
  type FanoutResult,
  type Percentiles,
  type StormResult,
} from './system/fanout';
import { markdownTable } from './report';
import { restTable, runRestBench, type RestBenchResult } from './rest/rest-bench';
import { startControlPlane } from './system/fanout';
import { runColdStart, type ColdStartResult, type ColdStartSize } from './system/cold-start';
import {
  runTranslationBench,
  translationTable,
  type TranslationBenchResult,
} from './translation/translation-bench';
import type { Protocol } from './xds/load-client';
import { MAX_GROWTH, runSoak, soakTable } from './soak/soak';
import {
  registryFailures,
  registryTable,
  runRegistryBench,
  SMOKE_SIZE,
  type RegistryBenchResult,
  type RegistryBenchSize,
} from './registry/registry-bench';

// `npm run bench`: the whole benchmark suite against the real control plane (the built
// `npm start` entry point on its embedded Postgres), with load generators in processes of their
// own. Prints Markdown tables and rewrites the generated part of docs/benchmarks.md.

const USAGE = `usage: npm run bench -- [options]
  --only LIST     run only these parts: fanout, storm, coldstart, translation, rest, registry
                  (comma-separated)
  --fanout LIST   fan-out cases as protocol:proxies
                  (default sotw:1000,sotw:5000,sotw:10000,delta:10000,sotw:19900)
  --storm N       proxies in the reconnect storm (default 10000)
  --cold-start N:P  the cold start's size: virtual nodes stored, proxies reconnecting
                  (default 5000:10000)
  --registry P:N:S:R:T  the registry part's size: protocol (sotw|delta), sidecars, Cloud Map
                  services, changes per second, seconds (default sotw:10000:100:1000:30)
  --smoke         a short run that checks the harness (50 streams, tiny meshes); writes no docs
  --no-write      print the tables without rewriting docs/benchmarks.md (--only and
                  --smoke never rewrite it)
  --json          also print every result as one JSON line
  --profile DIR   CPU profiles of every control-plane process into DIR
  --timeout S     give up on a phase after S seconds (default 180)
  --soak          instead of the suite: the soak (REST writes, proxy churn and rollouts on one
                  process; RSS, event-loop delay and open handles every minute); fails if RSS
                  grows by more than 10 % after the warm-up. Rewrites its own section of
                  docs/benchmarks.md unless --no-write or shorter than 30 minutes
  --soak-minutes N  how long the soak runs (default 30)`;

const PARTS = ['fanout', 'storm', 'coldstart', 'translation', 'rest', 'registry'] as const;
type Part = (typeof PARTS)[number];

const DOC = path.resolve(__dirname, '../../../docs/benchmarks.md');
const SUITE_MARKERS = {
  begin: '<!-- npm run bench: begin (generated; edit outside these markers) -->',
  end: '<!-- npm run bench: end -->',
  command: 'npm run bench',
};
const SOAK_MARKERS = {
  begin: '<!-- npm run bench -- --soak: begin (generated; edit outside these markers) -->',
  end: '<!-- npm run bench -- --soak: end -->',
  command: 'npm run bench -- --soak',
};

interface Options {
  parts: Set<Part>;
  fanout: Array<[Protocol, number]>;
  storm: number;
  coldStart: ColdStartSize;
  registry: RegistryBenchSize;
  smoke: boolean;
  write: boolean;
  json: boolean;
  profile?: string;
  timeoutMs: number;
  soakMinutes?: number;
}

function options(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      only: { type: 'string' },
      fanout: { type: 'string', default: 'sotw:1000,sotw:5000,sotw:10000,delta:10000,sotw:19900' },
      storm: { type: 'string', default: '10000' },
      'cold-start': { type: 'string', default: '5000:10000' },
      registry: { type: 'string', default: 'sotw:10000:100:1000:30' },
      smoke: { type: 'boolean', default: false },
      'no-write': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      profile: { type: 'string' },
      timeout: { type: 'string', default: '180' },
      soak: { type: 'boolean', default: false },
      'soak-minutes': { type: 'string', default: '30' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const parts = new Set<Part>();
  for (const part of (values.only ?? PARTS.join(',')).split(',')) {
    if (!(PARTS as readonly string[]).includes(part)) throw new UsageError(`--only ${part}`);
    parts.add(part as Part);
  }
  const fanout = values.fanout.split(',').map((item): [Protocol, number] => {
    const [protocol, proxies] = item.split(':');
    const count = Number(proxies);
    if ((protocol !== 'sotw' && protocol !== 'delta') || !Number.isInteger(count) || count < 1) {
      throw new UsageError(`--fanout ${item}`);
    }
    return [protocol, count];
  });
  const [registryProtocol, ...registryNumbers] = values.registry.split(':');
  const [proxies, services, perSecond, seconds] = registryNumbers.map(Number);
  if (
    (registryProtocol !== 'sotw' && registryProtocol !== 'delta') ||
    registryNumbers.length !== 4 ||
    ![proxies, services, perSecond, seconds].every((n) => Number.isInteger(n) && n! > 0)
  ) {
    throw new UsageError(`--registry ${values.registry}`);
  }
  const registry: RegistryBenchSize = {
    protocol: registryProtocol,
    proxies: proxies!,
    services: services!,
    perSecond: perSecond!,
    seconds: seconds!,
  };
  const storm = Number(values.storm);
  if (!Number.isInteger(storm) || storm < 1) throw new UsageError(`--storm ${values.storm}`);
  const [coldNodes, coldProxies, ...coldRest] = values['cold-start'].split(':').map(Number);
  if (
    coldRest.length > 0 ||
    !Number.isInteger(coldNodes) ||
    coldNodes! < 9 ||
    !Number.isInteger(coldProxies) ||
    coldProxies! < coldNodes!
  ) {
    throw new UsageError(`--cold-start ${values['cold-start']} (nodes ≥ 9, proxies ≥ nodes)`);
  }
  const timeout = Number(values.timeout);
  if (!Number.isInteger(timeout) || timeout < 1)
    throw new UsageError(`--timeout ${values.timeout}`);
  const soakMinutes = Number(values['soak-minutes']);
  if (!(soakMinutes > 0)) throw new UsageError(`--soak-minutes ${values['soak-minutes']}`);
  return {
    soakMinutes: values.soak ? soakMinutes : undefined,
    parts,
    fanout: values.smoke ? [['sotw', 50]] : fanout,
    storm: values.smoke ? 50 : storm,
    coldStart: values.smoke
      ? { nodes: 20, proxies: 50 }
      : { nodes: coldNodes!, proxies: coldProxies! },
    registry: values.smoke ? SMOKE_SIZE : registry,
    smoke: values.smoke,
    // Only a complete run rewrites the docs: a partial one would leave figures out.
    write: !values.smoke && !values['no-write'] && parts.size === PARTS.length,
    json: values.json,
    profile: values.profile ? path.resolve(values.profile) : undefined,
    timeoutMs: timeout * 1000,
  };
}

class UsageError extends Error {}

interface Report {
  machine: Record<string, string>;
  fanout: FanoutResult[];
  storms: StormResult[];
  coldStarts: ColdStartResult[];
  translation: TranslationBenchResult[];
  rest?: RestBenchResult;
  registry?: RegistryBenchResult;
  sections: string[];
}

async function main(): Promise<void> {
  const opts = options(process.argv.slice(2));
  const log = (line: string): void => console.error(`[bench] ${line}`);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'trellis-bench-'));
  const system = {
    dataDir,
    groups: opts.smoke ? 5 : 10,
    timeoutMs: opts.smoke ? 60_000 : opts.timeoutMs,
    log,
    cpuProfileDir: opts.profile,
  };
  const report: Report = {
    machine: machine(),
    fanout: [],
    storms: [],
    coldStarts: [],
    translation: [],
    sections: [],
  };
  const started = Date.now();
  if (opts.soakMinutes !== undefined) {
    await soak(system, opts.soakMinutes, opts.write && opts.soakMinutes >= 30);
    return;
  }
  try {
    if (opts.parts.has('fanout')) {
      for (const [protocol, streams] of opts.fanout) {
        const result = await runFanout(system, protocol, streams, protocol === 'sotw');
        check(result);
        report.fanout.push(result);
      }
      report.sections.push(fanoutTable(report.fanout));
    }
    if (opts.parts.has('storm')) {
      for (const protocol of ['sotw', 'delta'] as const) {
        const storm = await runStorm(system, protocol, opts.storm);
        checkStorm(storm);
        report.storms.push(storm);
      }
      report.sections.push(stormTable(report.storms));
    }
    if (opts.parts.has('coldstart')) {
      for (const protocol of ['sotw', 'delta'] as const) {
        const coldStart = await runColdStart(system, protocol, opts.coldStart);
        checkStorm(coldStart);
        report.coldStarts.push(coldStart);
      }
      report.sections.push(coldStartTable(report.coldStarts));
    }
    if (opts.parts.has('translation')) {
      log('translation: meshes of 100, 1,000 and 5,000 virtual nodes');
      report.translation = await runTranslationBench({
        sizes: [100, 1000, 5000],
        smoke: opts.smoke,
        log,
        profile: opts.profile && path.join(opts.profile, 'translation'),
      });
      report.sections.push(
        [
          '### Translation: whole meshes, and one route change',
          '',
          translationTable(report.translation),
        ].join('\n'),
      );
    }
    if (opts.parts.has('rest')) {
      log('REST: UpdateRoute with 16 clients, ListVirtualNodes at 5,000 nodes');
      report.rest = await runRest(system, opts.smoke);
      report.sections.push(
        [
          '### REST: UpdateRoute throughput, ListVirtualNodes pages',
          '',
          restTable(report.rest),
        ].join('\n'),
      );
    }
    if (opts.parts.has('registry')) {
      const size = opts.registry;
      log(
        `registry: ${size.proxies} sidecars, ${size.perSecond} Cloud Map changes/s over ${size.services} services for ${size.seconds} s`,
      );
      report.registry = await runRegistryBench(system, size);
      const failures = registryFailures(report.registry);
      if (failures.length > 0) throw new CheckError(`registry: ${failures.join('; ')}`);
      report.sections.push(registryTable([report.registry]));
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
  const elapsed = ((Date.now() - started) / 1000).toFixed(0);
  const output = [machineTable(report.machine), targetsTable(report), ...report.sections].join(
    '\n\n',
  );
  console.log(output);
  if (opts.json) console.log(JSON.stringify(report));
  if (opts.write) {
    await writeDoc(output, elapsed);
    log(`docs/benchmarks.md rewritten (${elapsed} s)`);
  }
  if (opts.smoke) console.log('bench smoke OK');
}

/** The soak against a control plane of its own; fails when memory grew after the warm-up. */
async function soak(
  system: Parameters<typeof startControlPlane>[0],
  minutes: number,
  write: boolean,
): Promise<void> {
  system.log(`soak: ${minutes} minutes`);
  const started = Date.now();
  const controlPlane = await startControlPlane(system);
  let result;
  try {
    result = await runSoak(controlPlane, { minutes, log: system.log });
  } finally {
    await controlPlane.stop();
    rmSync(system.dataDir, { recursive: true, force: true });
  }
  const output = [machineTable(machine()), soakTable(result)].join('\n\n');
  console.log(output);
  const elapsed = ((Date.now() - started) / 1000).toFixed(0);
  if (write) {
    await writeDoc(output, elapsed, SOAK_MARKERS);
    system.log(`docs/benchmarks.md soak section rewritten (${elapsed} s)`);
  }
  if (result.growth > MAX_GROWTH) {
    throw new Error(
      `RSS grew ${(result.growth * 100).toFixed(1)} % after the warm-up (at most ${MAX_GROWTH * 100} %)`,
    );
  }
}

/** The REST benchmark against a control plane of its own (a fresh mesh, same data directory). */
async function runRest(
  system: Parameters<typeof startControlPlane>[0],
  smoke: boolean,
): Promise<RestBenchResult> {
  const controlPlane = await startControlPlane(system);
  try {
    const result = await runRestBench({
      baseUrl: controlPlane.httpUrl,
      serverPid: controlPlane.pid,
      smoke,
      log: system.log,
    });
    if (result.failures.length > 0) {
      throw new CheckError(`REST: ${result.failures.join('; ')}`);
    }
    return result;
  } finally {
    await controlPlane.stop();
  }
}

/** What every fan-out must show, or the figures mean nothing. */
function check(result: FanoutResult): void {
  const { streams, changeResponses } = result;
  const pushed = Object.entries(changeResponses).filter(([, count]) => count > 0);
  if (pushed.length !== 1 || pushed[0]![0] !== 'RDS' || pushed[0]![1] !== streams) {
    throw new CheckError(
      `the change should send one RDS response to each of ${streams} streams; sent ${JSON.stringify(changeResponses)}`,
    );
  }
}

function checkStorm(result: StormResult): void {
  const resent = Object.values(result.responses).reduce((sum, n) => sum + n, 0);
  if (result.errors > 0) {
    throw new CheckError(
      `reconnect storm: ${result.errors} errors, e.g. ${result.errorSamples.join('; ')}`,
    );
  }
  if (resent > 0) {
    throw new CheckError(
      `reconnect storm: proxies received versions they already had: ${JSON.stringify(result.responses)}`,
    );
  }
}

class CheckError extends Error {}

const ms = (value: number): string => `${Math.round(value).toLocaleString('en-US')} ms`;
const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;
const cpu = (seconds: number): string => `${seconds.toFixed(2)} s`;
const spread = (p: Percentiles): string => `${ms(p.p50)} / ${ms(p.p99)} / ${ms(p.max)}`;

function fanoutTable(results: FanoutResult[]): string {
  return [
    '### Fan-out: one UpdateRoute to every connected proxy',
    '',
    markdownTable(
      [
        'protocol',
        'proxies',
        'connect (CPU)',
        '200 → ACK p50 / p99 / max',
        'floor p50 / p99 / max',
        '÷ floor (p99, max)',
        'CPU: control plane + Postgres',
        'RSS idle → connected',
        'RSS per stream',
        'peak RSS',
      ],
      results.map((r) => [
        r.protocol === 'sotw' ? 'SotW' : 'delta',
        r.streams.toLocaleString('en-US'),
        `${ms(r.connectMs)} (${cpu(r.connectCpuSeconds)})`,
        spread(r.change),
        r.floor ? spread(r.floor) : '—',
        r.floor
          ? `${(r.change.p99 / r.floor.p99).toFixed(1)}×, ${(r.change.max / r.floor.max).toFixed(1)}×`
          : '—',
        `${cpu(r.changeCpuSeconds)} + ${cpu(r.changePostgresCpuSeconds)}`,
        `${mib(r.rssBeforeBytes)} → ${mib(r.rssConnectedBytes)}`,
        kib((r.rssConnectedBytes - r.rssBeforeBytes) / r.streams),
        mib(r.peakRssBytes),
      ]),
    ),
  ].join('\n');
}

function stormTable(storms: StormResult[]): string {
  return restartTable(
    `### Reconnect storm: restart with ${storms[0]!.streams.toLocaleString('en-US')} proxies connected`,
    storms,
  );
}

function coldStartTable(results: ColdStartResult[]): string {
  const { nodes, storedResources, streams } = results[0]!;
  return restartTable(
    `### Cold start: restart with ${nodes.toLocaleString('en-US')} virtual nodes stored ` +
      `(${storedResources.toLocaleString('en-US')} App Mesh resources) and ` +
      `${streams.toLocaleString('en-US')} proxies connected`,
    results,
  );
}

/** Times are from starting the new process. */
function restartTable(title: string, results: StormResult[]): string {
  const resent = (r: StormResult) => Object.values(r.responses).reduce((sum, n) => sum + n, 0);
  const rows: Array<[string, (r: StormResult) => string]> = [
    ['old process stops (SIGTERM → exit)', (r) => ms(r.stopMs)],
    ['new process listening (includes Postgres start)', (r) => ms(r.startMs)],
    ['first proxy in sync (propagation API, polled every 100 ms)', (r) => ms(r.firstSyncedMs)],
    ['every proxy reconnected', (r) => ms(r.reconnectedMs)],
    ['every proxy in sync at the current revision (propagation API)', (r) => ms(r.syncedMs)],
    ['… from listening', (r) => ms(r.syncedMs - r.startMs)],
    ['errors after the new process listened', (r) => String(r.errors)],
    ['responses with a version the proxy already had', (r) => String(resent(r))],
    [
      'reconnect attempts (Envoy-like backoff, refused ones included)',
      (r) => r.reconnects.toLocaleString('en-US'),
    ],
    ['control-plane CPU until in sync', (r) => cpu(r.cpuSeconds)],
    ['peak RSS of the new process', (r) => mib(r.peakRssBytes)],
  ];
  return [
    title,
    '',
    markdownTable(
      ['', ...results.map((r) => (r.protocol === 'sotw' ? 'SotW' : 'delta'))],
      rows.map(([label, value]) => [label, ...results.map(value)]),
    ),
  ].join('\n');
}

function machine(): Record<string, string> {
  const cpus = os.cpus();
  return {
    CPU: `${cpus.length} × ${cpus[0]?.model ?? 'unknown'}`,
    Memory: `${(os.totalmem() / 1024 ** 3).toFixed(0)} GiB`,
    OS: `${os.type()} ${os.release()}`,
    Node: process.version,
    'Load average (1 min) at start': (os.loadavg()[0] ?? 0).toFixed(2),
    Date: new Date().toISOString().slice(0, 10),
  };
}

/** The targets against this run's figures; a part not run shows as "not run". */
function targetsTable(report: Report): string {
  const at10k = (protocol: Protocol) =>
    report.fanout.find((r) => r.protocol === protocol && r.streams === 10_000);
  const sotw = at10k('sotw');
  const delta = at10k('delta');
  const translation = report.translation.find((r) => r.nodes === 1000);
  const rest = report.rest?.updateRoute;
  const storms = report.storms.filter((r) => r.streams === 10_000);
  const slowest = storms.length === 2 ? Math.max(...storms.map((r) => r.syncedMs)) : undefined;
  const stormErrors = storms.reduce((sum, r) => sum + r.errors, 0);
  const row = (
    target: string,
    measured: string | undefined,
    met: boolean | undefined,
  ): string[] => [
    target,
    measured ?? 'not run',
    met === undefined ? '—' : met ? 'met' : '**not met**',
  ];
  const perStream = (r: FanoutResult) => (r.rssConnectedBytes - r.rssBeforeBytes) / r.streams;
  const rows = [
    row(
      '≤ 100 KB RSS per connected stream at 10,000',
      sotw && delta && `SotW ${kib(perStream(sotw))}, delta ${kib(perStream(delta))}`,
      sotw && delta && Math.max(perStream(sotw), perStream(delta)) <= 100_000,
    ),
    row(
      'weight change ACKed by all 10,000: p99 < 2 s',
      sotw && delta && `SotW ${ms(sotw.change.p99)}, delta ${ms(delta.change.p99)}`,
      sotw && delta && Math.max(sotw.change.p99, delta.change.p99) < 2000,
    ),
    row(
      '… and within 3× the floor (SotW, p99 and max)',
      sotw?.floor &&
        `${(sotw.change.p99 / sotw.floor.p99).toFixed(1)}×, ${(sotw.change.max / sotw.floor.max).toFixed(1)}×`,
      sotw?.floor &&
        Math.max(sotw.change.p99 / sotw.floor.p99, sotw.change.max / sotw.floor.max) <= 3,
    ),
    row(
      'reconnect storm of 10,000 served < 30 s, no errors',
      slowest === undefined
        ? undefined
        : `SotW ${ms(storms[0]!.syncedMs)}, delta ${ms(storms[1]!.syncedMs)}; ${stormErrors} errors`,
      slowest === undefined ? undefined : slowest < 30_000 && stormErrors === 0,
    ),
    row(
      'full translation of 1,000 nodes < 250 ms',
      translation &&
        `${ms(translation.fullMedianMs)} (translator alone ${ms(translation.translatorMs)})`,
      translation && translation.fullMedianMs < 250,
    ),
    row(
      'one-route change recomputed and published < 25 ms (1,000 nodes, p50)',
      translation && `${ms(translation.publishMs.p50)} (max ${ms(translation.publishMs.max)})`,
      translation && translation.publishMs.p50 < 25,
    ),
    row(
      '≥ 300 UpdateRoute/s sustained, p99 < 100 ms (16 clients)',
      rest && `${Math.round(rest.throughputPerSecond)}/s, p99 ${ms(rest.p99Ms)}`,
      rest && rest.throughputPerSecond >= 300 && rest.p99Ms < 100,
    ),
    row(
      'registry: 1,000 changes/s over 100 services to 10,000 sidecars, 200 → ACK p99 ≤ 1 s',
      report.registry &&
        `p99 ${ms(report.registry.ack.p99)} at ${Math.round(report.registry.changes / (report.registry.windowMs / 1000))}/s`,
      report.registry &&
        report.registry.proxies === 10_000 &&
        report.registry.ack.p99 <= 1000 &&
        report.registry.changes / (report.registry.windowMs / 1000) >= 950,
    ),
    row(
      '… and no CDS/LDS/RDS response',
      report.registry &&
        (Object.entries(report.registry.responses)
          .filter(([type]) => type !== 'EDS')
          .map(([type, n]) => `${type} ${n}`)
          .join(', ') ||
          'none'),
      report.registry &&
        Object.entries(report.registry.responses).every(([type, n]) => type === 'EDS' || n === 0),
    ),
  ];
  return [
    '### Targets',
    '',
    markdownTable(['target', 'this run', ''], rows),
    '',
    roundTwoTargets(report, row, perStream),
  ].join('\n');
}

/**
 * The second performance round's targets. The 20,000-stream row takes the largest SotW fan-out
 * of at least 19,900 streams: a process needs an open file per connection, and a machine whose
 * hard limit is 20,000 open files (`ulimit -Hn`) fits 19,900 connections and the rest of the
 * process.
 */
function roundTwoTargets(
  report: Report,
  row: (target: string, measured: string | undefined, met: boolean | undefined) => string[],
  perStream: (r: FanoutResult) => number,
): string {
  const translation = report.translation.find((r) => r.nodes === 5000);
  const translation1k = report.translation.find((r) => r.nodes === 1000);
  const cold = report.coldStarts.filter((r) => r.nodes === 5000 && r.streams === 10_000);
  const coldSynced = (r: ColdStartResult) => r.syncedMs - r.startMs;
  const resent = (r: ColdStartResult) => Object.values(r.responses).reduce((sum, n) => sum + n, 0);
  const large = report.fanout
    .filter((r) => r.protocol === 'sotw' && r.streams >= LARGE_FANOUT && r.floor)
    .sort((a, b) => b.streams - a.streams)[0];
  const GiB = 1024 ** 3;
  const rows = [
    row(
      'full translation of 1,000 nodes < 250 ms',
      translation1k && `${ms(translation1k.fullMedianMs)} (CPU ${ms(translation1k.fullCpuMs)})`,
      translation1k && translation1k.fullMedianMs < 250,
    ),
    row(
      'full translation of 5,000 nodes < 1.25 s',
      translation && `${ms(translation.fullMedianMs)} (CPU ${ms(translation.fullCpuMs)})`,
      translation && translation.fullMedianMs < 1250,
    ),
    row(
      'cold start, 5,000 nodes and 10,000 proxies: all in sync ≤ 10 s from listening',
      cold.length > 0
        ? cold
            .map((r) => `${r.protocol === 'sotw' ? 'SotW' : 'delta'} ${ms(coldSynced(r))}`)
            .join(', ')
        : undefined,
      cold.length > 0 ? cold.every((r) => coldSynced(r) <= 10_000) : undefined,
    ),
    row(
      '… no response with a version a proxy had; first proxies in sync before the last group',
      cold.length > 0
        ? cold
            .map(
              (r) =>
                `${r.protocol === 'sotw' ? 'SotW' : 'delta'}: ${resent(r)} resent, first in sync at ${ms(r.firstSyncedMs - r.startMs)}`,
            )
            .join('; ')
        : undefined,
      cold.length > 0
        ? cold.every((r) => resent(r) === 0 && r.errors === 0 && r.firstSyncedMs < r.syncedMs)
        : undefined,
    ),
    row(
      `${large ? large.streams.toLocaleString('en-US') : '20,000'} streams: one UpdateRoute ACKed by all, p99 ≤ 2 s`,
      large && `${ms(large.change.p99)}`,
      large && large.change.p99 <= 2000,
    ),
    row(
      '… within 1.5× the floor of the same run (p99)',
      large?.floor &&
        `${(large.change.p99 / large.floor.p99).toFixed(2)}× (floor ${ms(large.floor.p99)})`,
      large?.floor && large.change.p99 / large.floor.p99 <= 1.5,
    ),
    row(
      '… ≤ 60 KiB RSS per stream, peak RSS ≤ 1.5 GiB',
      large && `${kib(perStream(large))}, peak ${(large.peakRssBytes / GiB).toFixed(2)} GiB`,
      large && perStream(large) <= 60 * 1024 && large.peakRssBytes <= 1.5 * GiB,
    ),
  ];
  return ['### Targets, round two', '', markdownTable(['target', 'this run', ''], rows)].join('\n');
}

/** The fewest streams the 20,000-stream target row accepts (see roundTwoTargets). */
const LARGE_FANOUT = 19_900;

function machineTable(facts: Record<string, string>): string {
  return ['### Machine', '', markdownTable(['', ''], Object.entries(facts))].join('\n');
}

/** Rewrites the generated section, formatted as `npm run lint` wants it (Prettier). */
async function writeDoc(
  output: string,
  elapsed: string,
  markers: typeof SUITE_MARKERS = SUITE_MARKERS,
): Promise<void> {
  const doc = readFileSync(DOC, 'utf8');
  const begin = doc.indexOf(markers.begin);
  const end = doc.indexOf(markers.end);
  if (begin < 0 || end < begin)
    throw new Error(`docs/benchmarks.md has no ${markers.begin} … ${markers.end} section`);
  const generated = [
    markers.begin,
    '',
    `Written by \`${markers.command}\` (${process.argv.slice(2).join(' ') || 'no options'}; ${elapsed} s).`,
    '',
    output,
    '',
    markers.end,
  ].join('\n');
  const text = doc.slice(0, begin) + generated + doc.slice(end + markers.end.length);
  const prettier = await import('prettier');
  const config = (await prettier.resolveConfig(DOC)) ?? {};
  writeFileSync(DOC, await prettier.format(text, { ...config, filepath: DOC }));
}

main().catch((error: unknown) => {
  if (error instanceof UsageError) {
    console.error(`bench: bad option ${error.message}\n${USAGE}`);
    process.exit(64);
  }
  console.error(`bench FAILED: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
