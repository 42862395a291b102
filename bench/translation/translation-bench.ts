import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pino, { type Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { MeshConfigSource } from '../../apps/xds-server/src/mesh-config-source';
import { unpackAny } from '../../libs/envoy-api/src/any';
import { RouteConfiguration } from '../../libs/envoy-api/generated/envoy/config/route/v3/route';
import { DiscoveryResponse } from '../../libs/envoy-api/generated/envoy/service/discovery/v3/discovery';
import type { ResolvedTracing } from '../../libs/mesh-model/src/tracing';
import { createDataSource, migrate } from '../../libs/persistence/src/data-source';
import { startEmbeddedPostgres } from '../../libs/persistence/src/embedded-postgres';
import { MeshReader } from '../../libs/persistence/src/mesh-reader';
import { MeshStore } from '../../libs/persistence/src/mesh-store';
import { meshSnapshot, type EndpointRegistry } from '../../libs/translator/src/mesh-snapshot';
import { translate } from '../../libs/translator/src/translate';
import {
  CLUSTER,
  CLUSTER_LOAD_ASSIGNMENT,
  LISTENER,
  ROUTE_CONFIGURATION,
  type TypeUrl,
} from '../../libs/xds-types/src/resource-types';
import { DEFAULT_ENGINE_OPTIONS, XdsEngine, type ProxyStream } from '../../libs/xds/src/xds-engine';
import {
  benchMeshResources,
  CHANGED_ROUTE,
  clientsOf,
  nodeName,
  primaryRoute,
  routerName,
  serviceName,
  sidecarNode,
  updateRoute,
  writeBenchMesh,
} from './bench-mesh';
import { PhaseProfiler } from '../phase-profiler';

/** One registered instance for each Cloud Map–discovered node of the benchmark mesh. */
export const BENCH_REGISTRY: EndpointRegistry = {
  instances: (_namespace, service) => [
    { address: `10.1.${service.length % 250}.${service.charCodeAt(service.length - 1) % 250}` },
  ],
};
import { markdownTable, median } from '../report';

// Translation of a whole mesh, and of one route change, through the production path: the mesh in
// a real (embedded) Postgres, MeshConfigSource reading it, and an XdsEngine with one subscribed
// sidecar per virtual node that encodes and validates what the source loads.

export interface TranslationBenchOptions {
  /** Virtual nodes per mesh, one measurement each. */
  sizes: number[];
  /** A few seconds' run that checks correctness: 20 nodes, 2 changes. */
  smoke?: boolean;
  /** Full translations measured per size (median reported); default 5, 3 above 2,000 nodes. */
  runs?: number;
  /** Route changes measured per size; default 20. */
  changes?: number;
  /** Write CPU profiles of each size's phases to `<profile>-<nodes>-{full,change}.cpuprofile`. */
  profile?: string;
  /** A Postgres with Trellis' schema to use instead of starting an embedded one (tests). */
  databaseUrl?: string;
  log?: (line: string) => void;
}

export interface TranslationBenchResult {
  nodes: number;
  /** App Mesh resources stored in the mesh. */
  storedResources: number;
  /** xDS resources over all sidecars (one group per virtual node). */
  xdsResources: number;
  /** Reading the whole mesh from Postgres (MeshReader.load), ms. */
  meshReadMs: number;
  /** translate() of every group on one mesh snapshot, no encoding: median ms. */
  translatorMs: number;
  /** Every group loaded by the engine from the source (read, translate, encode, validate): median ms. */
  fullMs: number[];
  fullMedianMs: number;
  /** This process's CPU time (user + system) during the full translations: median ms. */
  fullCpuMs: number;
  changes: number;
  /** From just before COMMIT to the last affected sidecar's response being ready to send. */
  publishMs: { p50: number; max: number };
  /** From just before COMMIT until the engine has handled the change for every group. */
  settledMs: { p50: number; max: number };
  /** Sidecars that got a response per change (each change reaches five). */
  pushedPerChange: number;
  /** Groups the source translated per change (median). */
  translatedPerChange: number;
  loadAverage: number;
}

const TRACING: ResolvedTracing = { enabled: true, daemonAddress: '127.0.0.1', daemonPort: 2000 };
const SMOKE_NODES = 20;
const SMOKE_CHANGES = 2;

/** Runs the benchmark on one embedded Postgres, one mesh per size. */
export async function runTranslationBench(
  options: TranslationBenchOptions,
): Promise<TranslationBenchResult[]> {
  const log = options.log ?? (() => undefined);
  const logger = pino({ level: 'silent' });
  const dataDir = options.databaseUrl
    ? undefined
    : await mkdtemp(path.join(os.tmpdir(), 'trellis-bench-translation-'));
  const database = dataDir
    ? await startEmbeddedPostgres(dataDir, logger)
    : { url: options.databaseUrl!, stop: () => Promise.resolve() };
  const dataSource = createDataSource(database.url, 4);
  const profiler = new PhaseProfiler(options.profile);
  try {
    await dataSource.initialize();
    if (dataDir) await migrate(dataSource);
    const sizes = options.smoke ? [SMOKE_NODES] : options.sizes;
    const results: TranslationBenchResult[] = [];
    for (const nodes of sizes) {
      const bench = new SizeBench(nodes, dataSource, database.url, logger, profiler, log);
      results.push(
        await bench.run({
          runs: options.smoke ? 1 : (options.runs ?? (nodes > 2000 ? 3 : 5)),
          changes: options.smoke ? SMOKE_CHANGES : (options.changes ?? 20),
          check: options.smoke ?? false,
        }),
      );
    }
    return results;
  } finally {
    if (dataSource.isInitialized) await dataSource.destroy();
    await database.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }
}

/** The results as a Markdown table, one row per size. */
export function translationTable(results: readonly TranslationBenchResult[]): string {
  const ms = (value: number) => `${value.toFixed(1)} ms`;
  const rows = [
    [
      'virtual nodes',
      'stored / xDS resources',
      'mesh read',
      'translator only',
      'full translation (CPU)',
      'route change → published p50',
      'max',
      'all groups handled p50',
      'max',
      'groups translated / pushed per change',
    ],
    ...results.map((r) => [
      r.nodes.toLocaleString('en-US'),
      `${r.storedResources.toLocaleString('en-US')} / ${r.xdsResources.toLocaleString('en-US')}`,
      ms(r.meshReadMs),
      ms(r.translatorMs),
      `${ms(r.fullMedianMs)} (${ms(r.fullCpuMs)})`,
      ms(r.publishMs.p50),
      ms(r.publishMs.max),
      ms(r.settledMs.p50),
      ms(r.settledMs.max),
      `${r.translatedPerChange} / ${r.pushedPerChange}`,
    ]),
  ];
  return markdownTable(
    rows[0]!,
    rows.slice(1),
    rows[0]!.map((_, i) => (i === 1 ? '---' : '---:')),
  );
}

/** One sidecar of the benchmark: its stream, and responses not acknowledged yet. */
class BenchSidecar {
  stream!: ProxyStream;
  readonly unanswered: DiscoveryResponse[] = [];
  /** Called with every response, when it is ready to send. */
  onResponse?: (sidecar: BenchSidecar, response: DiscoveryResponse, at: number) => void;

  constructor(readonly index: number) {}

  readonly sink = (bytes: Buffer) => {
    const at = performance.now();
    const response = DiscoveryResponse.decode(bytes);
    this.unanswered.push(response);
    this.onResponse?.(this, response, at);
  };

  /** ACKs every response received, as Envoy does once it has applied them. */
  acknowledge(names: Map<TypeUrl, string[]>): void {
    for (const response of this.unanswered.splice(0)) {
      const typeUrl = response.typeUrl as TypeUrl;
      this.stream.request({
        typeUrl,
        versionInfo: response.versionInfo ?? '',
        responseNonce: response.nonce ?? '',
        resourceNames: names.get(typeUrl) ?? [],
        resourceLocators: [],
      });
    }
  }
}

class SizeBench {
  private readonly meshName: string;
  private readonly store: MeshStore;
  private readonly reader: MeshReader;
  /** What each sidecar subscribes to by name (endpoints, route configurations), from the translator. */
  private readonly subscriptions: Array<Map<TypeUrl, string[]>> = [];

  constructor(
    private readonly nodes: number,
    dataSource: DataSource,
    private readonly databaseUrl: string,
    private readonly logger: Logger,
    private readonly profiler: PhaseProfiler,
    private readonly log: (line: string) => void,
  ) {
    this.meshName = `bench-${nodes}-${randomUUID().slice(0, 8)}`;
    this.store = new MeshStore(dataSource);
    this.reader = new MeshReader(dataSource);
  }

  async run(opts: {
    runs: number;
    changes: number;
    check: boolean;
  }): Promise<TranslationBenchResult> {
    const resources = benchMeshResources(this.meshName, this.nodes);
    let started = performance.now();
    await writeBenchMesh(this.store, this.meshName, resources);
    this.log(
      `${this.nodes} nodes: wrote ${resources.length} resources in ${Math.round(performance.now() - started)} ms`,
    );

    started = performance.now();
    const contents = await this.reader.load(this.meshName);
    const meshReadMs = performance.now() - started;
    if (!contents) throw new Error('the benchmark mesh is missing');

    const translatorRuns: number[] = [];
    let xdsResources = 0;
    for (let run = 0; run < opts.runs; run++) {
      started = performance.now();
      const snapshot = meshSnapshot(contents);
      xdsResources = 0;
      for (let index = 0; index < this.nodes; index++) {
        const { resources: translated, errors } = translate(
          snapshot,
          { kind: 'sidecar', virtualNode: nodeName(index), tracing: TRACING },
          BENCH_REGISTRY,
        );
        if (errors.length > 0) {
          throw new Error(
            `the benchmark mesh does not translate cleanly: ${JSON.stringify(errors)}`,
          );
        }
        xdsResources += translated.length;
        if (run === 0) {
          const named = (typeUrl: TypeUrl) =>
            translated.filter((r) => r.typeUrl === typeUrl).map((r) => r.name);
          this.subscriptions[index] = new Map([
            [CLUSTER, []],
            [LISTENER, []],
            [CLUSTER_LOAD_ASSIGNMENT, named(CLUSTER_LOAD_ASSIGNMENT)],
            [ROUTE_CONFIGURATION, named(ROUTE_CONFIGURATION)],
          ]);
        }
      }
      translatorRuns.push(performance.now() - started);
    }
    const translatorMs = median(translatorRuns);
    this.log(`${this.nodes} nodes: translator only ${translatorMs.toFixed(1)} ms`);

    const fullMs: number[] = [];
    const fullCpuMs: number[] = [];
    for (let run = 0; run < opts.runs; run++) {
      if (run === opts.runs - 1) await this.profiler.start();
      const cpu = process.cpuUsage();
      const { source, engine, sidecars, elapsedMs } = await this.connectAll(false);
      const used = process.cpuUsage(cpu);
      if (run === opts.runs - 1) await this.profiler.stop(`${this.nodes}-full`);
      fullMs.push(elapsedMs);
      fullCpuMs.push((used.user + used.system) / 1000);
      this.log(`${this.nodes} nodes: full translation ${elapsedMs.toFixed(1)} ms`);
      this.disconnect(engine, sidecars);
      await source.stop();
    }

    const change = await this.measureChanges(opts.changes, opts.check);
    return {
      nodes: this.nodes,
      storedResources: resources.length,
      xdsResources,
      meshReadMs,
      translatorMs,
      fullMs,
      fullMedianMs: median(fullMs),
      fullCpuMs: median(fullCpuMs),
      ...change,
      loadAverage: os.loadavg()[0] ?? 0,
    };
  }

  /** A fresh source and engine, and every sidecar connected: the time until all groups loaded. */
  private async connectAll(watch: boolean): Promise<{
    source: MeshConfigSource;
    engine: XdsEngine;
    sidecars: BenchSidecar[];
    elapsedMs: number;
  }> {
    const source = new MeshConfigSource(this.reader, this.logger, {
      databaseUrl: this.databaseUrl,
      accountId: '000000000000',
      tracing: TRACING,
      resyncMs: 3_600_000,
    });
    if (watch) await source.start();
    const engine = new XdsEngine(source, this.logger, DEFAULT_ENGINE_OPTIONS);
    engine.start();
    const sidecars = Array.from({ length: this.nodes }, (_, index) => new BenchSidecar(index));
    const started = performance.now();
    await Promise.all(
      sidecars.map(async (sidecar) => {
        sidecar.stream = await engine.open(
          sidecarNode(this.meshName, sidecar.index),
          'sotw',
          sidecar.sink,
        );
      }),
    );
    return { source, engine, sidecars, elapsedMs: performance.now() - started };
  }

  private disconnect(engine: XdsEngine, sidecars: BenchSidecar[]): void {
    for (const sidecar of sidecars) engine.close(sidecar.stream);
    engine.stop();
  }

  private async measureChanges(
    count: number,
    check: boolean,
  ): Promise<
    Pick<
      TranslationBenchResult,
      'changes' | 'publishMs' | 'settledMs' | 'pushedPerChange' | 'translatedPerChange'
    >
  > {
    const { source, engine, sidecars } = await this.connectAll(true);
    for (const sidecar of sidecars) {
      const names = this.subscriptions[sidecar.index]!;
      for (const [typeUrl, resourceNames] of names) {
        sidecar.stream.request({
          node: sidecarNode(this.meshName, sidecar.index),
          typeUrl,
          resourceNames,
          versionInfo: '',
          responseNonce: '',
          resourceLocators: [],
        });
      }
      sidecar.acknowledge(names);
    }
    await engine.settled();

    const publish: number[] = [];
    const settled: number[] = [];
    const translated: number[] = [];
    let pushed = 0;
    await this.profiler.start();
    try {
      for (let change = 0; change < count; change++) {
        // Routers far apart, so that consecutive changes reach different sidecars.
        const router = (change * 7919 + 11) % this.nodes;
        const canary = 20 + ((change * 13) % 60);
        const expected = new Set(clientsOf(router, this.nodes));
        const translationsBefore = source.translations;
        let committing = 0;
        const received = new Map<number, { at: number; response: DiscoveryResponse }>();
        const allReceived = new Promise<void>((resolve, reject) => {
          const timeout = setTimeout(
            () => reject(new Error(`change ${change}: no response after 60 s`)),
            60_000,
          );
          for (const sidecar of sidecars) {
            sidecar.onResponse = (from, response, at) => {
              received.set(from.index, { at, response });
              if ([...expected].every((index) => received.has(index))) {
                clearTimeout(timeout);
                resolve();
              }
            };
          }
        });
        const revision = await updateRoute(
          this.store,
          this.meshName,
          routerName(router),
          CHANGED_ROUTE,
          primaryRoute(router, this.nodes, canary),
          () => (committing = performance.now()),
        );
        await allReceived;
        const published = Math.max(...[...expected].map((index) => received.get(index)!.at));
        await engine.settled();
        const done = performance.now();
        publish.push(published - committing);
        settled.push(done - committing);
        translated.push(source.translations - translationsBefore);
        pushed += received.size;
        if (check) this.checkChange(router, canary, revision, expected, received, sidecars);
        for (const sidecar of sidecars) {
          sidecar.onResponse = undefined;
          sidecar.acknowledge(this.subscriptions[sidecar.index]!);
        }
      }
    } finally {
      await this.profiler.stop(`${this.nodes}-change`);
      this.disconnect(engine, sidecars);
      await source.stop();
    }
    this.log(
      `${this.nodes} nodes: ${count} changes, published p50 ${median(publish).toFixed(1)} ms, ` +
        `max ${Math.max(...publish).toFixed(1)} ms`,
    );
    return {
      changes: count,
      publishMs: { p50: median(publish), max: Math.max(...publish) },
      settledMs: { p50: median(settled), max: Math.max(...settled) },
      pushedPerChange: pushed / count,
      translatedPerChange: median(translated),
    };
  }

  /**
   * The new weights reached exactly the sidecars that call the router's service, as one route
   * configuration response each, and every sidecar is synced to the new revision.
   */
  private checkChange(
    router: number,
    canary: number,
    revision: number,
    expected: ReadonlySet<number>,
    received: ReadonlyMap<number, { response: DiscoveryResponse }>,
    sidecars: readonly BenchSidecar[],
  ): void {
    const pushedTo = [...received.keys()].sort((a, b) => a - b);
    if (pushedTo.join() !== [...expected].join()) {
      throw new Error(
        `route change of ${routerName(router)}: pushed to ${pushedTo.join()}, expected ${[...expected].join()}`,
      );
    }
    for (const [index, { response }] of received) {
      if (response.typeUrl !== ROUTE_CONFIGURATION) {
        throw new Error(`sidecar ${index} got ${response.typeUrl}, expected only routes`);
      }
      const weights = (response.resources ?? [])
        .map((any) => unpackAny(any, RouteConfiguration))
        .flatMap((config) => config.virtualHosts ?? [])
        .filter((host) => host.name === serviceName(router))
        .flatMap((host) => host.routes ?? [])
        .filter((route) => route.name === CHANGED_ROUTE)
        .map((route) =>
          route.action?.$case === 'route' &&
          route.action.value.clusterSpecifier?.$case === 'weightedClusters'
            ? (route.action.value.clusterSpecifier.value.clusters ?? []).map((c) => c.weight)
            : [],
        );
      const want = [100 - canary, canary].sort((a, b) => a - b).join();
      if (weights.length !== 1 || [...weights[0]!].sort((a, b) => a! - b!).join() !== want) {
        throw new Error(
          `sidecar ${index}: weights ${JSON.stringify(weights)} after the change, expected ${want}`,
        );
      }
    }
    for (const sidecar of sidecars) {
      sidecar.acknowledge(this.subscriptions[sidecar.index]!);
      if ((sidecar.stream.syncedRevision ?? -1) < revision) {
        throw new Error(
          `sidecar ${sidecar.index} is synced to revision ${sidecar.stream.syncedRevision}, not ${revision}`,
        );
      }
    }
  }
}
