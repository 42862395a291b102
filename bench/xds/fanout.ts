import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pino from 'pino';
import type { Counter } from 'prom-client';
import { AdsServer } from '../../libs/xds/src/ads-server';
import {
  ROUTE_CONFIGURATION,
  TYPE_SHORT_NAMES,
  type TypeUrl,
} from '../../libs/xds-types/src/resource-types';
import type { OutgoingResponse } from '../../libs/xds/src/sotw-stream';
import type { SentResponse } from '../../libs/xds/src/type-status';
import { DEFAULT_ENGINE_OPTIONS, XdsEngine } from '../../libs/xds/src/xds-engine';
import {
  benchSource,
  groupSubscriptions,
  RDS_CHANGED,
  SharedBenchSource,
  type BenchSourceKind,
} from './bench-mesh';
import type { Protocol } from './load-client';
import { PhaseProfiler } from '../phase-profiler';
import { percentile } from '../report';
import { LoadGeneratorProcess } from './load-generator';

// `npm run bench:xds -- [--streams N] [--groups G] [--delta] [--source shared|translate] [--smoke]`
//
// Fan-out of one configuration change to N ADS streams: an in-process AdsServer + XdsEngine on
// loopback, N simulated proxies in a child process, each on its own connection. Once every stream
// has ACKed its initial configuration, one change to a route configuration that every group
// shares is published, and the time from publishing until each stream ACKed it is measured on
// the server. Prints a Markdown table; exits non-zero when a check fails or time runs out.

const USAGE = `usage: npm run bench:xds -- [options]
  --streams N       ADS streams, one connection each (default 2000; 50 with --smoke)
  --groups G        proxy groups (virtual nodes) the streams are spread over (default 10)
  --delta           incremental xDS instead of state of the world
  --source KIND     shared: groups share message objects, loads are prepared (default);
                    translate: every load runs the translator, like the mesh config source
  --concurrency C   streams connecting at once (default 250)
  --timeout S       give up after S seconds (default 120; 30 with --smoke)
  --smoke           a few seconds' run that keeps the harness honest (50 streams, 5 groups)
  --profile PREFIX  write the server's CPU profiles of the two phases to
                    PREFIX-connect.cpuprofile and PREFIX-change.cpuprofile
  --json            also print the results as one JSON line`;

interface Options {
  streams: number;
  groups: number;
  protocol: Protocol;
  source: BenchSourceKind;
  concurrency: number;
  timeoutMs: number;
  smoke: boolean;
  json: boolean;
  profile?: string;
}

function options(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      streams: { type: 'string' },
      groups: { type: 'string' },
      delta: { type: 'boolean', default: false },
      source: { type: 'string', default: 'shared' },
      concurrency: { type: 'string', default: '250' },
      timeout: { type: 'string' },
      smoke: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      profile: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const positive = (name: string, value: string | undefined, fallback: number): number => {
    const parsed = value === undefined ? fallback : Number(value);
    if (!Number.isInteger(parsed) || parsed < 1) throw new UsageError(`--${name} ${value}`);
    return parsed;
  };
  if (values.source !== 'shared' && values.source !== 'translate') {
    throw new UsageError(`--source ${values.source}`);
  }
  const smoke = values.smoke;
  const streams = positive('streams', values.streams, smoke ? 50 : 2000);
  return {
    streams,
    groups: Math.min(streams, positive('groups', values.groups, smoke ? 5 : 10)),
    protocol: values.delta ? 'delta' : 'sotw',
    source: values.source,
    concurrency: positive('concurrency', values.concurrency, 250),
    timeoutMs: positive('timeout', values.timeout, smoke ? 30 : 120) * 1000,
    smoke,
    json: values.json,
    profile: values.profile,
  };
}

class UsageError extends Error {}

/**
 * The engine, with the server-side clock on every ACK and every response written. It hooks the
 * engine's internal metrics callbacks; the smoke run fails if they are renamed.
 */
class TimedEngine extends XdsEngine {
  onAnswer?: (typeUrl: TypeUrl, nack: boolean, now: number) => void;
  onWrite?: (response: OutgoingResponse) => void;

  override answered(typeUrl: TypeUrl, response: SentResponse, nack: boolean, now: number): void {
    super.answered(typeUrl, response, nack, now);
    this.onAnswer?.(typeUrl, nack, now);
  }

  override wrote(response: OutgoingResponse): void {
    super.wrote(response);
    this.onWrite?.(response);
  }
}

/** Resolves once `count()` reaches `target`; checked on every event that may move it. */
class Countdown {
  private resolve?: () => void;
  readonly done: Promise<void>;
  constructor(
    private readonly count: () => number,
    private readonly target: number,
  ) {
    this.done = new Promise((resolve) => (this.resolve = resolve));
    this.check();
  }
  check(): void {
    if (this.count() >= this.target) this.resolve?.();
  }
}

async function counterValue(counter: Counter): Promise<number> {
  return (await counter.get()).values.reduce((sum, v) => sum + v.value, 0);
}

async function countsByType(counter: Counter): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const v of (await counter.get()).values) counts[String(v.labels.type)] = v.value;
  return counts;
}

function difference(after: Record<string, number>, before: Record<string, number>) {
  const diff: Record<string, number> = {};
  for (const [type, value] of Object.entries(after)) {
    const d = value - (before[type] ?? 0);
    if (d !== 0) diff[type] = d;
  }
  return diff;
}

function memory() {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage();
}

const MiB = 1024 * 1024;
const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const ms = (value: number) => `${value.toFixed(1)} ms`;
const formatCounts = (counts: Record<string, number>) =>
  Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([type, n]) => `${type} ${n}`)
    .join(', ') || 'none';

/** What one run measured; printed as a table and, with --json, as one line. */
interface Result {
  protocol: Protocol;
  source: BenchSourceKind;
  streams: number;
  groups: number;
  resourcesPerGroup: number;
  /** Distinct message objects the shared source hands the engine. */
  distinctMessages?: number;
  connectMs: number;
  connectCpuMs: number;
  p50Ms: number;
  p99Ms: number;
  /** Until the last stream ACKed: the whole propagation. */
  maxMs: number;
  changeCpuMs: number;
  firstWriteMs: number;
  lastWriteMs: number;
  changeResponses: Record<string, number>;
  changeBytesEncoded: number;
  changeBytesSent: number;
  initialBytesEncoded: number;
  initialBytesSent: number;
  rssIdle: number;
  rssConnected: number;
  heapIdle: number;
  heapConnected: number;
  totalMs: number;
  /** 1-minute load average at the start: other work on the machine skews every figure. */
  loadAverage: number;
}

type Phase = 'starting' | 'connect' | 'change' | 'report';

async function main(): Promise<void> {
  const opts = options(process.argv.slice(2));
  const started = performance.now();
  const loadAverage = os.loadavg()[0] ?? NaN;
  const failures: string[] = [];
  let phase: Phase = 'starting';
  const changeLatencies: number[] = [];
  const abort = (message: string): never => {
    console.error(`bench:xds FAILED during ${phase}: ${message}`);
    generator.stop();
    process.exit(1);
  };
  const generator = new LoadGeneratorProcess(abort);
  const deadline = setTimeout(() => {
    const { opened, synced } = generator.lastProgress;
    abort(
      `no result within ${opts.timeoutMs / 1000} s (streams opened ${opened}, synced ${synced}, ` +
        `change ACKed by ${changeLatencies.length} of ${opts.streams})`,
    );
  }, opts.timeoutMs);

  // The configuration, translated before anything is measured.
  const source = benchSource(opts.source, opts.groups, 10);
  const groups = Array.from({ length: opts.groups }, (_, g) =>
    groupSubscriptions(source.groupResources(g)),
  );

  const logger = pino({ level: 'silent' });
  const engine = new TimedEngine(source, logger, DEFAULT_ENGINE_OPTIONS);
  engine.start();
  const server = new AdsServer(engine, logger);
  const port = await server.listen('127.0.0.1', 0);

  let initialAcks = 0;
  let publishedAt = 0;
  let firstWriteMs = NaN;
  let lastWriteMs = NaN;
  const unexpectedAcks: string[] = [];
  const initialSynced = new Countdown(() => initialAcks, opts.streams * 4);
  const changeAcked = new Countdown(() => changeLatencies.length, opts.streams);
  engine.onAnswer = (typeUrl, nack, now) => {
    if (nack) failures.push(`a proxy NACKed ${TYPE_SHORT_NAMES[typeUrl]}`);
    if (phase === 'change') {
      if (typeUrl === ROUTE_CONFIGURATION) changeLatencies.push(now - publishedAt);
      else unexpectedAcks.push(TYPE_SHORT_NAMES[typeUrl]);
      changeAcked.check();
    } else {
      initialAcks++;
      initialSynced.check();
    }
  };
  engine.onWrite = () => {
    if (phase !== 'change') return;
    lastWriteMs = performance.now() - publishedAt;
    if (Number.isNaN(firstWriteMs)) firstWriteMs = lastWriteMs;
  };

  const profiler = new PhaseProfiler(opts.profile);
  const idle = memory();

  // Connect every stream and wait until each has ACKed its four initial responses, on both ends.
  phase = 'connect';
  await profiler.start();
  const connectStarted = performance.now();
  const connectCpu = process.cpuUsage();
  generator.send({
    kind: 'start',
    port,
    protocol: opts.protocol,
    streams: opts.streams,
    concurrency: opts.concurrency,
    groups,
  });
  await generator.next('synced');
  await initialSynced.done;
  const connectMs = performance.now() - connectStarted;
  const connectCpuMs = cpuMs(process.cpuUsage(connectCpu));
  await profiler.stop('connect');
  const connected = memory();

  const statuses = engine.proxyStatuses();
  if (statuses.length !== opts.streams) {
    failures.push(`${statuses.length} proxies connected, ${opts.streams} expected`);
  }
  const notSynced = statuses.filter((s) => s.state !== 'SYNCED').length;
  if (notSynced > 0) failures.push(`${notSynced} proxies not SYNCED after the initial push`);
  if (statuses.some((s) => s.rejectedResources.length > 0)) {
    failures.push('resources fail Envoy validation');
  }

  const metrics = engine.metrics;
  const initialBytesEncoded = await counterValue(metrics.bytesEncoded);
  const initialBytesSent = await counterValue(metrics.bytesSent);
  const responsesBefore = await countsByType(metrics.responses);
  generator.send({ kind: 'count' }); // resets the proxies' response counts
  await generator.next('counts');

  // One change every proxy must receive: the canary route's weights, in a shared route config.
  const publish = source.prepareChange(50);
  await profiler.start();
  phase = 'change';
  const changeCpu = process.cpuUsage();
  publishedAt = performance.now();
  publish();
  await changeAcked.done;
  const maxMs = performance.now() - publishedAt;
  const changeCpuMs = cpuMs(process.cpuUsage(changeCpu));
  await profiler.stop('change');
  phase = 'report';

  const changeResponses = difference(await countsByType(metrics.responses), responsesBefore);
  generator.send({ kind: 'count' });
  const received = (await generator.next('counts')).responses;
  const rds = TYPE_SHORT_NAMES[ROUTE_CONFIGURATION];
  if (unexpectedAcks.length > 0) {
    failures.push(`the change also pushed ${formatCounts(tally(unexpectedAcks))}`);
  }
  if (changeResponses[rds] !== opts.streams || Object.keys(changeResponses).length !== 1) {
    failures.push(`the change sent ${formatCounts(changeResponses)}; ${opts.streams} RDS expected`);
  }
  if (received[rds] !== opts.streams || Object.keys(received).length !== 1) {
    failures.push(`the proxies received ${formatCounts(received)}; ${opts.streams} RDS expected`);
  }

  generator.stop();
  engine.stop();
  await server.close(0);
  clearTimeout(deadline);

  const sorted = [...changeLatencies].sort((a, b) => a - b);
  const result: Result = {
    protocol: opts.protocol,
    source: opts.source,
    streams: opts.streams,
    groups: opts.groups,
    resourcesPerGroup: source.groupResources(0).length,
    distinctMessages: source instanceof SharedBenchSource ? source.distinctMessages : undefined,
    connectMs,
    connectCpuMs,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    maxMs,
    changeCpuMs,
    firstWriteMs,
    lastWriteMs,
    changeResponses,
    changeBytesEncoded: (await counterValue(metrics.bytesEncoded)) - initialBytesEncoded,
    changeBytesSent: (await counterValue(metrics.bytesSent)) - initialBytesSent,
    initialBytesEncoded,
    initialBytesSent,
    rssIdle: idle.rss,
    rssConnected: connected.rss,
    heapIdle: idle.heapUsed,
    heapConnected: connected.heapUsed,
    totalMs: performance.now() - started,
    loadAverage,
  };
  printTable(tableRows(result));
  if (opts.json) console.log(JSON.stringify(result));
  if (failures.length > 0) {
    for (const failure of failures) console.error(`bench:xds check failed: ${failure}`);
    process.exit(1);
  }
  if (opts.smoke) console.log(`bench:xds smoke OK (${RDS_CHANGED} pushed to every stream)`);
  process.exit(0);
}

function tableRows(r: Result): Array<[string, string]> {
  const distinct = r.distinctMessages === undefined ? '' : `, ${r.distinctMessages} distinct`;
  const { debounceMs, maxWaitMs } = DEFAULT_ENGINE_OPTIONS;
  return [
    ['protocol', r.protocol === 'sotw' ? 'state of the world' : 'delta'],
    ['source', `${r.source} (${r.resourcesPerGroup} resources per group${distinct})`],
    ['streams / groups', `${r.streams} / ${r.groups}`],
    ['engine debounce / max wait', `${debounceMs} / ${maxWaitMs} ms`],
    [
      'connect + initial config, all streams',
      `${ms(r.connectMs)} (server CPU ${ms(r.connectCpuMs)})`,
    ],
    ['change → ACK p50', ms(r.p50Ms)],
    ['change → ACK p99', ms(r.p99Ms)],
    ['change → ACK max (all ACKed)', `${ms(r.maxMs)} (server CPU ${ms(r.changeCpuMs)})`],
    ['change → first / last response written', `${ms(r.firstWriteMs)} / ${ms(r.lastWriteMs)}`],
    ['change: responses sent', formatCounts(r.changeResponses)],
    ['change: bytes encoded / sent', `${kib(r.changeBytesEncoded)} / ${kib(r.changeBytesSent)}`],
    ['initial: bytes encoded / sent', `${kib(r.initialBytesEncoded)} / ${kib(r.initialBytesSent)}`],
    ['RSS before connecting', mib(r.rssIdle)],
    ['RSS connected', mib(r.rssConnected)],
    ['RSS per stream', kib((r.rssConnected - r.rssIdle) / r.streams)],
    ['heap used per stream', kib((r.heapConnected - r.heapIdle) / r.streams)],
    ['total run time', ms(r.totalMs)],
    ['load average (1 min) at start', r.loadAverage.toFixed(2)],
  ];
}

function cpuMs(usage: NodeJS.CpuUsage): number {
  return (usage.user + usage.system) / 1000;
}

function tally(items: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[item] = (counts[item] ?? 0) + 1;
  return counts;
}

function printTable(rows: ReadonlyArray<[string, string]>): void {
  const width = Math.max(...rows.map(([name]) => name.length));
  const valueWidth = Math.max(...rows.map(([, value]) => value.length));
  console.log(`\nxDS fan-out — Node ${process.version}, ${os.cpus().length} cores`);
  console.log(`| ${'metric'.padEnd(width)} | ${'value'.padEnd(valueWidth)} |`);
  console.log(`|${'-'.repeat(width + 2)}|${'-'.repeat(valueWidth + 2)}|`);
  for (const [name, value] of rows) {
    console.log(`| ${name.padEnd(width)} | ${value.padEnd(valueWidth)} |`);
  }
}

main().catch((error: unknown) => {
  if (error instanceof UsageError) {
    console.error(`bench:xds: bad option ${error.message}\n${USAGE}`);
    process.exit(2);
  }
  console.error('bench:xds FAILED:', error);
  process.exit(1);
});
