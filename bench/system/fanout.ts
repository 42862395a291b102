import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROUTE_CONFIGURATION } from '../../libs/xds-types/src/resource-types';
import { percentile } from '../report';
import { MESH } from '../xds/bench-mesh';
import type { GroupSubscriptions } from '../xds/bench-mesh';
import type { Protocol } from '../xds/load-client';
import { LoadGeneratorProcess } from '../xds/load-generator';
import { wallClock } from '../xds/wall-clock';
import { ensureBenchMesh, restMeshSubscriptions, setCanaryWeight } from './bench-mesh-rest';
import { ControlPlaneProcess, freePort, type ControlPlaneOptions } from './control-plane-process';
import type { FloorCommand, FloorEvent } from './floor-server';

// Fan-out through the whole control plane: proxies connected to `npm start`'s process, one
// UpdateRoute over REST, and the time from its 200 until every proxy ACKed the new route
// configuration, timed by the proxies. Then the floor, the same number of streams on a minimal
// grpc-js server that writes the same bytes. And the reconnect storm: a restart with every proxy
// connected.

export interface Percentiles {
  p50: number;
  p99: number;
  max: number;
}

export interface FanoutResult {
  protocol: Protocol;
  streams: number;
  groups: number;
  /** Until every stream had its initial configuration, ms. */
  connectMs: number;
  connectCpuSeconds: number;
  /** From the UpdateRoute 200 to each proxy's ACK, ms. */
  change: Percentiles;
  /** Control-plane (Node) CPU from the UpdateRoute request until all ACKed. */
  changeCpuSeconds: number;
  /** The Postgres processes' CPU in the same window. */
  changePostgresCpuSeconds: number;
  /** Responses proxies received during the change, by type (only RDS, once per stream, is right). */
  changeResponses: Record<string, number>;
  rssBeforeBytes: number;
  rssConnectedBytes: number;
  peakRssBytes: number;
  /** The floor with the same streams (SotW), from its first write to each ACK, ms. */
  floor?: Percentiles;
}

export interface StormResult {
  protocol: Protocol;
  streams: number;
  /** From the old process's SIGTERM until it exited, ms. */
  stopMs: number;
  /** From starting the new process until it was listening (includes Postgres), ms. */
  startMs: number;
  /** From starting the new process until every proxy was reconnected, ms. */
  reconnectedMs: number;
  /** From starting the new process until the propagation API first showed a proxy in sync, ms. */
  firstSyncedMs: number;
  /** From starting the new process until every proxy was reported in sync at the current revision, ms. */
  syncedMs: number;
  /** Responses proxies received after the restart, by type: a version they already had is waste. */
  responses: Record<string, number>;
  reconnects: number;
  errors: number;
  errorSamples: string[];
  cpuSeconds: number;
  peakRssBytes: number;
}

export interface SystemBenchOptions {
  dataDir: string;
  groups: number;
  timeoutMs: number;
  log: (line: string) => void;
  cpuProfileDir?: string;
}

/** Starts a control plane on fresh ports against the benchmark's data directory. */
export async function startControlPlane(
  options: SystemBenchOptions,
  extra: Partial<ControlPlaneOptions> = {},
): Promise<ControlPlaneProcess> {
  return ControlPlaneProcess.start({
    dataDir: options.dataDir,
    httpPort: await freePort(),
    xdsPort: await freePort(),
    postgresPort: await freePort(),
    cpuProfileDir: options.cpuProfileDir,
    ...extra,
  });
}

/** Fails with `message` unless `work` finishes within `ms`. */
export async function within<T>(ms: number, message: () => string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out: ${message()}`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    max: percentile(sorted, 1),
  };
}

/** A load generator whose failures reject `failed`. */
export function loadGenerator(): { generator: LoadGeneratorProcess; failed: Promise<never> } {
  let fail!: (error: Error) => void;
  const failed = new Promise<never>((_, reject) => (fail = reject));
  failed.catch(() => undefined);
  const generator = new LoadGeneratorProcess((message) => fail(new Error(message)));
  return { generator, failed };
}

export async function connect(
  generator: LoadGeneratorProcess,
  failed: Promise<never>,
  command: {
    port: number;
    protocol: Protocol;
    streams: number;
    /** The fan-out mesh's group count, or what each group's proxies subscribe to. */
    groups: number | GroupSubscriptions[];
    /** The mesh the groups' virtual nodes are in (default: the fan-out mesh). */
    mesh?: string;
    reconnect?: boolean;
  },
  timeoutMs: number,
): Promise<void> {
  const synced = generator.next('synced');
  generator.send({
    kind: 'start',
    port: command.port,
    protocol: command.protocol,
    streams: command.streams,
    concurrency: 250,
    groups:
      typeof command.groups === 'number' ? restMeshSubscriptions(command.groups) : command.groups,
    mesh: command.mesh,
    reconnect: command.reconnect,
  });
  await within(
    timeoutMs,
    () => `connecting: ${generator.lastProgress.synced} of ${command.streams} streams synced`,
    Promise.race([synced, failed]),
  );
}

/** Resets the proxies' response counts; resolves once the generator has handled earlier commands. */
export async function responseCounts(
  generator: LoadGeneratorProcess,
): Promise<Record<string, number>> {
  const counts = generator.next('counts');
  generator.send({ kind: 'count' });
  return (await counts).responses;
}

/**
 * Arms every stream to time its next route-configuration ACK, runs `trigger`, and returns each
 * stream's ACK time relative to the time `trigger` resolves with, once all have ACKed.
 */
async function timeRouteAcks(
  generator: LoadGeneratorProcess,
  failed: Promise<never>,
  trigger: () => Promise<number>,
  timeoutMs: number,
): Promise<number[]> {
  generator.send({ kind: 'arm', typeUrl: ROUTE_CONFIGURATION });
  await responseCounts(generator);
  const acked = generator.next('acked');
  const start = await trigger();
  const { times } = await within(
    timeoutMs,
    () => 'waiting for ACKs',
    Promise.race([acked, failed]),
  );
  return times.map((time) => time - start);
}

export async function runFanout(
  options: SystemBenchOptions,
  protocol: Protocol,
  streams: number,
  withFloor: boolean,
): Promise<FanoutResult> {
  const { log, groups } = options;
  log(`fan-out ${protocol} ${streams}: starting the control plane`);
  const controlPlane = await startControlPlane(options);
  const appMesh = controlPlane.appMesh();
  const { generator, failed } = loadGenerator();
  try {
    await ensureBenchMesh(appMesh, groups);
    await setCanaryWeight(appMesh, groups, 10);
    await sleep(1000);
    const rssBeforeBytes = controlPlane.rss();

    log(`fan-out ${protocol} ${streams}: connecting`);
    const connectStart = wallClock();
    const connectCpu = controlPlane.cpuSeconds();
    await connect(
      generator,
      failed,
      { port: controlPlane.options.xdsPort, protocol, streams, groups },
      options.timeoutMs,
    );
    const connectMs = wallClock() - connectStart;
    const connectCpuSeconds = controlPlane.cpuSeconds() - connectCpu;
    await sleep(2000); // let status publishing and allocation settle
    const rssConnectedBytes = controlPlane.rss();
    const initial = await captured(generator);

    log(`fan-out ${protocol} ${streams}: UpdateRoute`);
    const cpu = controlPlane.cpuSeconds();
    const postgresCpu = controlPlane.postgresCpuSeconds();
    const latencies = await timeRouteAcks(
      generator,
      failed,
      async () => {
        await setCanaryWeight(appMesh, groups, 50);
        return wallClock();
      },
      options.timeoutMs,
    );
    const changeCpuSeconds = controlPlane.cpuSeconds() - cpu;
    const changePostgresCpuSeconds = controlPlane.postgresCpuSeconds() - postgresCpu;
    await sleep(500); // anything pushed after the route configuration shows in the counts
    const changeResponses = await responseCounts(generator);
    const change = await captured(generator);
    const peakRssBytes = controlPlane.peakRss();
    // Stopped now, not only in `finally`: the floor below gets the machine to itself.
    generator.stop();
    appMesh.destroy();
    await controlPlane.stop();

    const result: FanoutResult = {
      protocol,
      streams,
      groups,
      connectMs,
      connectCpuSeconds,
      change: percentiles(latencies),
      changeCpuSeconds,
      changePostgresCpuSeconds,
      changeResponses,
      rssBeforeBytes,
      rssConnectedBytes,
      peakRssBytes,
    };
    if (withFloor && protocol === 'sotw') {
      log(`fan-out ${protocol} ${streams}: the floor`);
      const rds = change[ROUTE_CONFIGURATION];
      if (!rds) throw new Error('no route configuration response captured');
      result.floor = percentiles(await runFloor(options, streams, initial, rds));
    }
    return result;
  } finally {
    generator.stop();
    appMesh.destroy();
    await controlPlane.stop();
  }
}

async function captured(generator: LoadGeneratorProcess): Promise<Record<string, string>> {
  const event = generator.next('captured');
  generator.send({ kind: 'capture' });
  return (await event).responses;
}

/** The floor server in a process of its own, as promises. */
class FloorProcess {
  private readonly child: ChildProcess;
  private readonly waiting = new Map<string, (event: FloorEvent) => void>();

  constructor() {
    this.child = fork(path.join(__dirname, 'floor-server.js'), [], { stdio: 'inherit' });
    this.child.on('message', (event: FloorEvent) => this.waiting.get(event.kind)?.(event));
  }

  request<K extends FloorEvent['kind']>(
    command: FloorCommand,
    kind: K,
  ): Promise<Extract<FloorEvent, { kind: K }>> {
    return new Promise((resolve, reject) => {
      this.waiting.set('failed', (event) =>
        reject(new Error(`floor server: ${(event as { message: string }).message}`)),
      );
      this.waiting.set(kind, (event) => resolve(event as Extract<FloorEvent, { kind: K }>));
      this.child.send(command);
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  stop(): void {
    if (this.child.connected) this.child.send({ kind: 'stop' } satisfies FloorCommand);
  }
}

/** The same streams on the floor server; latencies from its first write of the change. */
async function runFloor(
  options: SystemBenchOptions,
  streams: number,
  initial: Record<string, string>,
  change: string,
): Promise<number[]> {
  const floor = new FloorProcess();
  const { generator, failed } = loadGenerator();
  try {
    const { port } = await floor.request({ kind: 'start', initial, change }, 'listening');
    await connect(
      generator,
      failed,
      { port, protocol: 'sotw', streams, groups: options.groups },
      options.timeoutMs,
    );
    await sleep(1000);
    return await timeRouteAcks(
      generator,
      failed,
      async () => (await floor.request({ kind: 'push' }, 'pushed')).startedAt,
      options.timeoutMs,
    );
  } finally {
    generator.stop();
    floor.stop();
  }
}

/** Every proxy connected and in sync, then a restart of the control plane under them. */
export async function runStorm(
  options: SystemBenchOptions,
  protocol: Protocol,
  streams: number,
): Promise<StormResult> {
  const { log, groups } = options;
  log(`reconnect storm ${protocol} ${streams}: starting the control plane`);
  let controlPlane = await startControlPlane(options);
  const { generator, failed } = loadGenerator();
  try {
    const appMesh = controlPlane.appMesh();
    await ensureBenchMesh(appMesh, groups);
    await setCanaryWeight(appMesh, groups, 10);
    appMesh.destroy();
    log(`reconnect storm ${protocol} ${streams}: connecting`);
    await connect(
      generator,
      failed,
      { port: controlPlane.options.xdsPort, protocol, streams, groups, reconnect: true },
      options.timeoutMs,
    );
    const restart = await restartUnderFleet(controlPlane, generator, {
      streams,
      meshName: MESH,
      options,
      label: `reconnect storm ${protocol} ${streams}`,
    });
    controlPlane = restart.controlPlane;
    return { protocol, ...restart.result };
  } finally {
    generator.stop();
    await controlPlane.stop();
  }
}

/** What a restart under a connected fleet measures (see StormResult). */
export type RestartResult = Omit<StormResult, 'protocol'>;

/**
 * Stops `controlPlane` while `generator`'s proxies (started with `reconnect`) are connected,
 * starts it again on the same ports and data, and measures until every proxy reconnected and
 * the propagation API shows all `streams` in sync in `meshName`. The caller stops the returned
 * control plane.
 */
export async function restartUnderFleet(
  controlPlane: ControlPlaneProcess,
  generator: LoadGeneratorProcess,
  run: { streams: number; meshName: string; options: SystemBenchOptions; label: string },
): Promise<{ controlPlane: ControlPlaneProcess; result: RestartResult }> {
  const { streams, meshName, options, label } = run;
  const ports = {
    httpPort: controlPlane.options.httpPort,
    xdsPort: controlPlane.options.xdsPort,
    postgresPort: controlPlane.options.postgresPort,
  };
  await responseCounts(generator);
  options.log(`${label}: restarting the control plane`);
  const stopStart = wallClock();
  const exitCode = await controlPlane.stop();
  const stopMs = wallClock() - stopStart;
  if (exitCode !== 0) {
    throw new Error(
      `${label}: the old process exited with ${exitCode}:\n${controlPlane.log.slice(-3000)}`,
    );
  }
  const start = wallClock();
  const restarted = await startControlPlane(options, ports);
  const startMs = wallClock() - start;
  generator.send({ kind: 'mark' });
  const cpu = restarted.cpuSeconds();

  let reconnectedMs: number | undefined;
  let syncedMs: number | undefined;
  let firstSyncedMs: number | undefined;
  let last: Propagation | undefined;
  try {
    await within(
      options.timeoutMs,
      () =>
        `${label}: reconnected after ${reconnectedMs ?? '-'} ms, in sync after ${syncedMs ?? '-'} ms; ` +
        `propagation: ${JSON.stringify({ ...last, pending: last?.pending.slice(0, 3) })}`,
      (async () => {
        while (reconnectedMs === undefined || syncedMs === undefined) {
          await sleep(100);
          if (reconnectedMs === undefined) {
            const stats = generator.next('stats');
            generator.send({ kind: 'stats' });
            if ((await stats).open === streams) reconnectedMs = wallClock() - start;
          }
          if (syncedMs === undefined) {
            last = await propagation(restarted, meshName);
            if (last && last.acked > 0) firstSyncedMs ??= wallClock() - start;
            if (last && last.proxies === streams && last.acked === streams) {
              syncedMs = wallClock() - start;
            }
          }
        }
      })(),
    );
  } catch (error) {
    await restarted.stop();
    throw error;
  }
  const statsEvent = generator.next('stats');
  generator.send({ kind: 'stats' });
  const stats = await statsEvent;
  const responses = await responseCounts(generator);
  return {
    controlPlane: restarted,
    result: {
      streams,
      stopMs,
      startMs,
      reconnectedMs: reconnectedMs!,
      firstSyncedMs: firstSyncedMs!,
      syncedMs: syncedMs!,
      responses,
      reconnects: stats.reconnects,
      errors: stats.errors,
      errorSamples: stats.errorSamples,
      cpuSeconds: restarted.cpuSeconds() - cpu,
      peakRssBytes: restarted.peakRss(),
    },
  };
}

interface Propagation {
  revision: number;
  proxies: number;
  acked: number;
  pending: Array<{ node: string; state: string; syncedRevision?: number }>;
}

/** The propagation endpoint's view of `meshName` (what `--wait` polls); undefined while it does not answer. */
async function propagation(
  controlPlane: ControlPlaneProcess,
  meshName: string,
): Promise<Propagation | undefined> {
  const response = await fetch(`${controlPlane.httpUrl}/v1/meshes/${meshName}/propagation`);
  if (!response.ok) return undefined;
  return (await response.json()) as Propagation;
}
