import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { AppMeshClient, UpdateRouteCommand } from '@aws-sdk/client-app-mesh';
import {
  AppMeshHttp,
  appMeshPaths,
  BENCH_ACCESS_KEY,
  canaryRouteSpec,
  describeFailure,
} from './app-mesh-http';

// The UpdateRoute load generator, in a process of its own so that the CPU the server uses is
// measured apart from the CPU the clients use. Every client updates its own route in a loop,
// one request at a time, on its own keep-alive connection, as a CI job shifting canary weights
// does; the SDK and the AWS CLI send a fresh client token with every UpdateRoute, so this does too.

export type LoadClientKind = 'http' | 'sdk';

/**
 * `UpdateRoute`: the App Mesh call with the whole spec and a client token. `SetWeights`: Trellis'
 * `PUT …/routes/{route}/weights` with percentages, what CI scripts and rollouts call (plain HTTP
 * with either client kind: the SDK does not know it).
 */
export type LoadOperation = 'UpdateRoute' | 'SetWeights';

/** Parent → load generator. */
export interface UpdateRouteLoad {
  kind: 'run';
  baseUrl: string;
  client: LoadClientKind;
  operation: LoadOperation;
  meshName: string;
  routerName: string;
  /** One route per client. */
  routes: string[];
  warmupMs: number;
  durationMs: number;
}

/** Load generator → parent. */
export type LoadEvent =
  | { kind: 'measuring' }
  | {
      kind: 'done';
      /** Requests answered within the measured window. */
      requests: number;
      windowMs: number;
      /** Latencies of the requests answered within the measured window. */
      latenciesMs: number[];
      /** Failed requests, warm-up included, and the first few messages. */
      errors: number;
      errorSamples: string[];
      /** Successful updates per route (in the order of `routes`), warm-up included. */
      updatesPerRoute: number[];
      /** CPU the load generator used in the measured window. */
      cpuMs: number;
    }
  | { kind: 'failed'; message: string };

type UpdateRoute = (route: string, weight: number) => Promise<string | undefined>;

function updater(load: UpdateRouteLoad): { update: UpdateRoute; close: () => void } {
  if (load.client === 'sdk' && load.operation === 'UpdateRoute') {
    const appMesh = new AppMeshClient({
      region: 'us-east-1',
      endpoint: load.baseUrl,
      credentials: { accessKeyId: BENCH_ACCESS_KEY, secretAccessKey: 'unused' },
      maxAttempts: 1,
    });
    return {
      update: async (route, weight) => {
        try {
          await appMesh.send(
            new UpdateRouteCommand({
              meshName: load.meshName,
              virtualRouterName: load.routerName,
              routeName: route,
              spec: canaryRouteSpec(weight),
            }),
          );
          return undefined;
        } catch (error) {
          return `UpdateRoute ${route}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
        }
      },
      close: () => appMesh.destroy(),
    };
  }
  const client = new AppMeshHttp(load.baseUrl, load.routes.length);
  return {
    update: async (route, weight) => {
      const setWeights = load.operation === 'SetWeights';
      const path = setWeights
        ? `/v1/meshes/${load.meshName}/virtualRouters/${load.routerName}/routes/${route}/weights`
        : appMeshPaths.route(load.meshName, load.routerName, route);
      try {
        const response = await client.request(
          'PUT',
          path,
          setWeights
            ? { targets: { blue: weight, green: 100 - weight } }
            : { spec: canaryRouteSpec(weight), clientToken: randomUUID() },
        );
        return response.status === 200 ? undefined : describeFailure('PUT', path, response);
      } catch (error) {
        return `PUT ${path}: ${error instanceof Error ? error.message : String(error)}`;
      }
    },
    close: () => client.close(),
  };
}

async function run(load: UpdateRouteLoad, emit: (event: LoadEvent) => void): Promise<void> {
  const { update, close } = updater(load);
  const started = performance.now();
  const measureFrom = started + load.warmupMs;
  const measureUntil = measureFrom + load.durationMs;
  const latenciesMs: number[] = [];
  const errorSamples: string[] = [];
  const updatesPerRoute = load.routes.map(() => 0);
  let errors = 0;
  let cpuAtStart: NodeJS.CpuUsage | undefined;
  const windowStarted = setTimeout(() => {
    cpuAtStart = process.cpuUsage();
    emit({ kind: 'measuring' });
  }, load.warmupMs);

  const client = async (route: string, index: number): Promise<void> => {
    for (let i = index; performance.now() < measureUntil; i++) {
      const sent = performance.now();
      const failure = await update(route, i % 101);
      const answered = performance.now();
      if (failure !== undefined) {
        errors++;
        if (errorSamples.length < 5) errorSamples.push(failure);
        continue;
      }
      updatesPerRoute[index]!++;
      if (answered >= measureFrom && answered <= measureUntil) latenciesMs.push(answered - sent);
    }
  };
  await Promise.all(load.routes.map((route, index) => client(route, index)));
  clearTimeout(windowStarted);
  const cpu = process.cpuUsage(cpuAtStart);
  close();
  emit({
    kind: 'done',
    requests: latenciesMs.length,
    windowMs: load.durationMs,
    latenciesMs,
    errors,
    errorSamples,
    updatesPerRoute,
    cpuMs: (cpu.user + cpu.system) / 1000,
  });
}

process.on('message', (command: UpdateRouteLoad) => {
  const emit = (event: LoadEvent) => process.send?.(event);
  run(command, emit).then(
    () => process.disconnect(),
    (error: unknown) => {
      emit({ kind: 'failed', message: error instanceof Error ? error.message : String(error) });
      process.disconnect();
    },
  );
});
