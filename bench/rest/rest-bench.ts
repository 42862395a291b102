import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { AppMeshHttp, appMeshPaths, canaryRouteSpec } from './app-mesh-http';
import type { LoadClientKind, LoadEvent, LoadOperation, UpdateRouteLoad } from './load-client';
import { sampleCpu, type CpuSample } from '../system/proc';
import { markdownTable, percentile } from '../report';

// The REST benchmark against a control plane that is already running (usually started by
// main.ts). Two parts:
//
// 1. UpdateRoute throughput: `clients` concurrent clients, each updating the weights of its own
//    canary route in one virtual router, one request at a time, for a warm-up and then a
//    measured window. That is what many CI pipelines shifting canaries in one shared mesh look
//    like. Separate routes keep the clients from overwriting each other's changes; they still
//    contend for the mesh, since every write to a mesh is serialised by the mesh's revision.
// 2. ListVirtualNodes pages in a mesh of `nodes` virtual nodes: first, middle and last page.

export interface RestBenchOptions {
  /** The control plane's REST API, e.g. `http://127.0.0.1:8080`. */
  baseUrl: string;
  /** Concurrent UpdateRoute clients (default 16; 2 with `smoke`). */
  clients?: number;
  /** Measured UpdateRoute window (default 10 s; 1 s with `smoke`). */
  durationSeconds?: number;
  /** Warm-up before the window (default 2 s; 0.5 s with `smoke`). */
  warmupSeconds?: number;
  /** Virtual nodes in the ListVirtualNodes mesh (default 5,000; 50 with `smoke`). */
  nodes?: number;
  /** A run of a few seconds that checks the harness and the answers, not the speed. */
  smoke?: boolean;
  /** `http`: lean node:http client (default); `sdk`: @aws-sdk/client-app-mesh. */
  client?: LoadClientKind;
  /** The server's process id, for its CPU time (and its Postgres's, its descendants). */
  serverPid: number;
  log?: (line: string) => void;
}

export interface LatencySummary {
  requests: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface ListPageResult extends LatencySummary {
  page: 'first' | 'middle' | 'last';
  /** The `limit` query parameter; undefined for the API's default. */
  limit?: number;
  items: number;
}

export interface WriteLoadSummary extends LatencySummary {
  throughputPerSecond: number;
  /** Failed requests, warm-up included; must be 0. */
  errors: number;
  errorSamples: string[];
  /** CPU of the control plane's Node.js process during the window. */
  serverCpuMs: number;
  /** CPU of its embedded Postgres (descendant processes) during the window; 0 with an external one. */
  postgresCpuMs: number;
  loadGeneratorCpuMs: number;
}

export interface RestBenchResult {
  clients: number;
  client: LoadClientKind;
  warmupSeconds: number;
  durationSeconds: number;
  updateRoute: WriteLoadSummary;
  /** The same load through `PUT …/routes/{route}/weights`. */
  setWeights: WriteLoadSummary;
  nodes: number;
  /** Time to create the virtual nodes, `clients` at a time. */
  nodesSetupMs: number;
  /** Time to read every page in turn with limit 100. */
  fullListingMs: number;
  pages: number;
  listVirtualNodes: ListPageResult[];
  /** 1-minute load average at the start: other work on the machine skews every figure. */
  loadAverage: number;
  /** Checks that failed; empty when the run is valid. */
  failures: string[];
}

const LIST_REPEATS = 50;
const SMOKE_LIST_REPEATS = 5;
/** App Mesh's maximum page size. */
const MAX_LIMIT = 100;

export async function runRestBench(options: RestBenchOptions): Promise<RestBenchResult> {
  const smoke = options.smoke ?? false;
  const clients = options.clients ?? (smoke ? 2 : 16);
  const durationSeconds = options.durationSeconds ?? (smoke ? 1 : 10);
  const warmupSeconds = options.warmupSeconds ?? (smoke ? 0.5 : 2);
  const nodes = options.nodes ?? (smoke ? 50 : 5000);
  const clientKind = options.client ?? 'http';
  const log = options.log ?? (() => undefined);
  const loadAverage = os.loadavg()[0] ?? NaN;
  const serverPid = options.serverPid;
  const failures: string[] = [];
  const api = new AppMeshHttp(options.baseUrl, clients);
  const run = randomUUID().slice(0, 8);

  try {
    // 1. UpdateRoute.
    const meshName = `rest-bench-${run}`;
    const routerName = 'web';
    const routes = Array.from({ length: clients }, (_, i) => `canary-${i}`);
    log(`setting up mesh ${meshName}: 2 virtual nodes, 1 virtual router, ${clients} routes`);
    await api.send('PUT', appMeshPaths.meshes(), { meshName });
    for (const name of ['blue', 'green']) {
      await api.send('PUT', appMeshPaths.virtualNodes(meshName), {
        virtualNodeName: name,
        spec: virtualNodeSpec(name),
      });
    }
    await api.send('PUT', appMeshPaths.virtualRouters(meshName), {
      virtualRouterName: routerName,
      spec: { listeners: [{ portMapping: { port: 8080, protocol: 'http' } }] },
    });
    await Promise.all(
      routes.map((routeName) =>
        api.send('PUT', appMeshPaths.routes(meshName, routerName), {
          routeName,
          spec: canaryRouteSpec(100),
        }),
      ),
    );

    // The same load through UpdateRoute, then through the weights API: one write path, so the
    // weights API must cost no more than UpdateRoute.
    const loads: Partial<Record<LoadOperation, LoadResult>> = {};
    const versions = new Map<string, number>(routes.map((route) => [route, 1]));
    for (const operation of ['UpdateRoute', 'SetWeights'] as const) {
      log(
        `${operation}: ${clients} clients (${clientKind}), ${warmupSeconds} s warm-up, ${durationSeconds} s measured`,
      );
      const load = await updateRouteLoad(serverPid, {
        kind: 'run',
        baseUrl: options.baseUrl,
        client: clientKind,
        operation,
        meshName,
        routerName,
        routes,
        warmupMs: warmupSeconds * 1000,
        durationMs: durationSeconds * 1000,
      });
      loads[operation] = load;
      if (load.errors > 0) {
        failures.push(
          `${load.errors} ${operation} requests failed: ${load.errorSamples.join('; ')}`,
        );
      }
      // Every successful update adds one to its route's version, and nothing else may. The
      // first weights call of a route may find those weights in place already and write nothing.
      for (const [index, routeName] of routes.entries()) {
        const { body } = await api.send('GET', appMeshPaths.route(meshName, routerName, routeName));
        // Describe* answers carry the resource data as the whole body (its `@httpPayload`).
        const version = (body.metadata as { version?: number } | undefined)?.version ?? 0;
        const expected = (versions.get(routeName) ?? 0) + (load.updatesPerRoute[index] ?? 0);
        const allowed = operation === 'SetWeights' ? [expected, expected - 1] : [expected];
        if (!allowed.includes(version)) {
          failures.push(`route ${routeName} is at version ${version}, ${expected} expected`);
        }
        versions.set(routeName, version);
      }
    }

    // 2. ListVirtualNodes.
    const nodesMesh = `rest-bench-nodes-${run}`;
    log(`creating ${nodes} virtual nodes in mesh ${nodesMesh}, ${clients} at a time`);
    await api.send('PUT', appMeshPaths.meshes(), { meshName: nodesMesh });
    const setupStarted = performance.now();
    let created = 0;
    await Promise.all(
      Array.from({ length: clients }, async () => {
        for (let i = created++; i < nodes; i = created++) {
          const name = `node-${String(i).padStart(5, '0')}`;
          await api.send('PUT', appMeshPaths.virtualNodes(nodesMesh), {
            virtualNodeName: name,
            spec: virtualNodeSpec(name),
          });
        }
      }),
    );
    const nodesSetupMs = performance.now() - setupStarted;

    const listPath = (limit: number | undefined, token: string | undefined) => {
      const query = new URLSearchParams();
      if (limit !== undefined) query.set('limit', String(limit));
      if (token !== undefined) query.set('nextToken', token);
      const search = query.toString();
      return `${appMeshPaths.virtualNodes(nodesMesh)}${search ? `?${search}` : ''}`;
    };
    const listItems = (body: Record<string, unknown>) =>
      (body.virtualNodes as unknown[] | undefined) ?? [];

    log('ListVirtualNodes: reading every page with limit 100');
    const tokens: Array<string | undefined> = [undefined];
    let listed = 0;
    const listingStarted = performance.now();
    for (;;) {
      const { body } = await api.send('GET', listPath(MAX_LIMIT, tokens[tokens.length - 1]));
      listed += listItems(body).length;
      if (typeof body.nextToken !== 'string') break;
      tokens.push(body.nextToken);
    }
    const fullListingMs = performance.now() - listingStarted;
    if (listed !== nodes) failures.push(`listing every page found ${listed} of ${nodes} nodes`);

    const repeats = smoke ? SMOKE_LIST_REPEATS : LIST_REPEATS;
    const measurePage = async (
      page: ListPageResult['page'],
      limit: number | undefined,
      token: string | undefined,
    ): Promise<ListPageResult> => {
      const latencies: number[] = [];
      let items = 0;
      for (let i = 0; i < repeats; i++) {
        const response = await api.send('GET', listPath(limit, token));
        latencies.push(response.latencyMs);
        items = listItems(response.body).length;
      }
      return { page, limit, items, ...summarise(latencies.sort((a, b) => a - b)) };
    };
    log(`ListVirtualNodes: first, middle and last page, ${repeats} requests each`);
    const middle = Math.floor(tokens.length / 2);
    const listVirtualNodes = [
      await measurePage('first', undefined, undefined),
      await measurePage('first', MAX_LIMIT, undefined),
      await measurePage('middle', MAX_LIMIT, tokens[middle]),
      await measurePage('last', MAX_LIMIT, tokens[tokens.length - 1]),
    ];
    const expectedLast = nodes - (tokens.length - 1) * MAX_LIMIT;
    for (const result of listVirtualNodes) {
      const expected =
        result.page === 'last' ? expectedLast : Math.min(nodes, result.limit ?? MAX_LIMIT);
      if (result.items !== expected) {
        failures.push(`${result.page} page had ${result.items} nodes, ${expected} expected`);
      }
    }

    return {
      clients,
      client: clientKind,
      warmupSeconds,
      durationSeconds,
      updateRoute: writeSummary(loads.UpdateRoute!, durationSeconds),
      setWeights: writeSummary(loads.SetWeights!, durationSeconds),
      nodes,
      nodesSetupMs,
      fullListingMs,
      pages: tokens.length,
      listVirtualNodes,
      loadAverage,
      failures,
    };
  } finally {
    api.close();
  }
}

type LoadResult = Extract<LoadEvent, { kind: 'done' }> & { serverCpu: CpuSample };

function writeSummary(load: LoadResult, durationSeconds: number): WriteLoadSummary {
  return {
    ...summarise([...load.latenciesMs].sort((a, b) => a - b)),
    throughputPerSecond: load.requests / durationSeconds,
    errors: load.errors,
    errorSamples: load.errorSamples,
    serverCpuMs: load.serverCpu.processMs,
    postgresCpuMs: load.serverCpu.descendantsMs,
    loadGeneratorCpuMs: load.cpuMs,
  };
}

/** Runs the UpdateRoute load in a child process; samples the server's CPU over the window. */
function updateRouteLoad(serverPid: number, load: UpdateRouteLoad): Promise<LoadResult> {
  const child = fork(path.join(__dirname, 'load-client.js'), [], { stdio: 'inherit' });
  let atStart: CpuSample | undefined;
  return new Promise((resolve, reject) => {
    child.on('message', (event: LoadEvent) => {
      switch (event.kind) {
        case 'measuring':
          atStart = sampleCpu(serverPid);
          break;
        case 'done': {
          const atEnd = sampleCpu(serverPid);
          const start = atStart ?? atEnd;
          resolve({
            ...event,
            serverCpu: {
              processMs: atEnd.processMs - start.processMs,
              descendantsMs: atEnd.descendantsMs - start.descendantsMs,
            },
          });
          break;
        }
        case 'failed':
          reject(new Error(`load generator: ${event.message}`));
          break;
      }
    });
    child.on('exit', (code) => reject(new Error(`load generator exited with ${code}`)));
    child.send(load);
  });
}

function summarise(sortedMs: readonly number[]): LatencySummary {
  return {
    requests: sortedMs.length,
    p50Ms: percentile(sortedMs, 0.5),
    p99Ms: percentile(sortedMs, 0.99),
    maxMs: sortedMs[sortedMs.length - 1] ?? NaN,
  };
}

function virtualNodeSpec(name: string): Record<string, unknown> {
  return {
    listeners: [{ portMapping: { port: 8080, protocol: 'http' } }],
    serviceDiscovery: { dns: { hostname: `${name}.bench.local` } },
  };
}

const ms = (value: number) => `${value.toFixed(1)} ms`;
const seconds = (valueMs: number) => `${(valueMs / 1000).toFixed(2)} s`;
const count = (value: number) => value.toLocaleString('en-US');

/** The result as Markdown: one table for UpdateRoute, one for ListVirtualNodes. */
export function restTable(result: RestBenchResult): string {
  const loads = [result.updateRoute, result.setWeights];
  const perRequest = (load: WriteLoadSummary, cpuMs: number) =>
    load.requests > 0 ? ` (${((cpuMs * 1000) / load.requests).toFixed(0)} µs per request)` : '';
  const row = (label: string, cell: (load: WriteLoadSummary) => string): string[] => [
    label,
    ...loads.map(cell),
  ];
  const updateRows: string[][] = [
    row('clients', () => `${result.clients} (${result.client}), one route each, one mesh`),
    row('window', () => `${result.warmupSeconds} s warm-up, ${result.durationSeconds} s measured`),
    row('throughput', (u) => `${u.throughputPerSecond.toFixed(0)}/s (${count(u.requests)})`),
    row('latency p50 / p99 / max', (u) => `${ms(u.p50Ms)} / ${ms(u.p99Ms)} / ${ms(u.maxMs)}`),
    row('errors', (u) => String(u.errors)),
    row('server CPU (Node.js)', (u) => `${seconds(u.serverCpuMs)}${perRequest(u, u.serverCpuMs)}`),
    row('Postgres CPU', (u) => `${seconds(u.postgresCpuMs)}${perRequest(u, u.postgresCpuMs)}`),
    row('load generator CPU', (u) => seconds(u.loadGeneratorCpuMs)),
    row('load average (1 min) at start', () => result.loadAverage.toFixed(2)),
  ];
  const lines = [
    markdownTable(['', 'UpdateRoute', 'PUT …/weights'], updateRows, ['---', '---', '---']),
    '',
    `ListVirtualNodes, ${count(result.nodes)} virtual nodes in one mesh ` +
      `(created in ${seconds(result.nodesSetupMs)}, ${result.clients} at a time; ` +
      `all ${result.pages} pages read in ${ms(result.fullListingMs)}):`,
    '',
    markdownTable(
      ['page', 'limit', 'items', 'requests', 'p50', 'p99', 'max'],
      result.listVirtualNodes.map((p) => [
        p.page,
        String(p.limit ?? 'default'),
        String(p.items),
        String(p.requests),
        ms(p.p50Ms),
        ms(p.p99Ms),
        ms(p.maxMs),
      ]),
    ),
  ];
  if (result.failures.length > 0) {
    lines.push('', ...result.failures.map((failure) => `- check failed: ${failure}`));
  }
  return lines.join('\n');
}
