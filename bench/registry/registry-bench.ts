import { fork } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { VirtualNodeSpec, VirtualServiceSpec } from '../../libs/mesh-model/src/validation';
import type {
  CloudMapInstance,
  EndpointRegistry,
  MeshSnapshot,
} from '../../libs/translator/src/mesh-snapshot';
import { egressClusterName } from '../../libs/translator/src/names';
import { translate } from '../../libs/translator/src/translate';
import { markdownTable } from '../report';
import { AppMeshHttp } from '../rest/app-mesh-http';
import { createMesh } from '../system/bench-mesh-rest';
import {
  connect,
  loadGenerator,
  percentiles,
  responseCounts,
  startControlPlane,
  within,
  type Percentiles,
  type SystemBenchOptions,
} from '../system/fanout';
import { groupNode, groupSubscriptions, type GroupSubscriptions } from '../xds/bench-mesh';
import type { Protocol } from '../xds/load-client';
import type { TrackedLatencies } from './endpoint-tracker';
import type { ChangeEvent, ChangeLoad } from './change-client';
import { INITIAL_INSTANCES, INSTANCE_ADDRESS, PORT_BASE } from './instance-schedule';

// The registry benchmark: sidecars whose backends are discovered through Cloud Map, and a steady
// stream of RegisterInstance / DeregisterInstance calls through the Cloud Map API. Each proxy
// reads its endpoint sets, which tell which changes they hold (instance-schedule.ts), so every
// change's latency is measured from the API's 200 to each watching proxy's ACK.

const MESH = 'registry-bench';
const NAMESPACE = 'bench.registry';
const PORT = 8080;

export interface RegistryBenchSize {
  proxies: number;
  services: number;
  perSecond: number;
  seconds: number;
  protocol: Protocol;
}

export const SMOKE_SIZE: RegistryBenchSize = {
  proxies: 50,
  services: 5,
  perSecond: 50,
  seconds: 3,
  protocol: 'sotw',
};

export interface RegistryBenchResult extends RegistryBenchSize {
  /** Changes answered with 200, and over how long. */
  changes: number;
  windowMs: number;
  api: Percentiles;
  /** Changes sent more than one interval late (the service's previous change was slow). */
  late: number;
  apiErrors: number;
  /** The first few failed calls. */
  apiErrorSamples: string[];
  /** From each change's 200 to each watching proxy's ACK of a set holding it. */
  ack: TrackedLatencies;
  /** Responses by type during the run (only EDS is right). */
  responses: Record<string, number>;
  cpuSeconds: number;
  postgresCpuSeconds: number;
  peakRssBytes: number;
}

/** Provider `svc-<i>` discovered through Cloud Map; client `app-<i>` calls it. */
function registryMesh(services: number): MeshSnapshot {
  const virtualNodes = new Map<string, VirtualNodeSpec>();
  const virtualServices = new Map<string, VirtualServiceSpec>();
  for (let i = 0; i < services; i++) {
    virtualNodes.set(provider(i), {
      listeners: [{ portMapping: { port: PORT, protocol: 'http' } }],
      serviceDiscovery: { awsCloudMap: { namespaceName: NAMESPACE, serviceName: provider(i) } },
    });
    virtualServices.set(serviceName(i), {
      provider: { virtualNode: { virtualNodeName: provider(i) } },
    });
    virtualNodes.set(groupNode(i), {
      backends: [{ virtualService: { virtualServiceName: serviceName(i) } }],
    });
  }
  return {
    meshName: MESH,
    revision: 0,
    spec: {},
    virtualNodes,
    virtualRouters: new Map(),
    routes: new Map(),
    virtualServices,
    virtualGateways: new Map(),
    gatewayRoutes: new Map(),
  };
}

const provider = (i: number) => `svc-${i}`;
const serviceName = (i: number) => `svc-${i}.${NAMESPACE}`;

/** What each client group subscribes to, from the translator (any instance makes the names). */
function subscriptions(mesh: MeshSnapshot, services: number): GroupSubscriptions[] {
  const registry: EndpointRegistry = {
    instances: (): CloudMapInstance[] => [{ address: INSTANCE_ADDRESS, port: PORT_BASE }],
  };
  return Array.from({ length: services }, (_, group) => {
    const { resources, errors } = translate(
      mesh,
      {
        kind: 'sidecar',
        virtualNode: groupNode(group),
        // The control plane's default: X-Ray on, the daemon on the proxy's host.
        tracing: { enabled: true, daemonAddress: '127.0.0.1', daemonPort: 2000 },
      },
      registry,
    );
    if (errors.length > 0) throw new Error(`the registry mesh: ${JSON.stringify(errors)}`);
    return groupSubscriptions(resources);
  });
}

/** The Cloud Map namespace, one service per provider, and their first instances; service ids. */
async function createRegistry(http: AppMeshHttp, services: number): Promise<string[]> {
  const ok = async (operation: string, body: unknown): Promise<Record<string, unknown>> => {
    const response = await http.cloudMap(operation, body);
    if (response.status !== 200) {
      throw new Error(`${operation}: ${response.status} ${JSON.stringify(response.body)}`);
    }
    return response.body;
  };
  const { OperationId } = await ok('CreateHttpNamespace', { Name: NAMESPACE });
  const { Operation } = (await ok('GetOperation', { OperationId })) as {
    Operation: { Targets: { NAMESPACE: string } };
  };
  const namespaceId = Operation.Targets.NAMESPACE;
  return Promise.all(
    Array.from({ length: services }, async (_, i) => {
      const { Service } = (await ok('CreateService', {
        Name: provider(i),
        NamespaceId: namespaceId,
      })) as { Service: { Id: string } };
      for (let id = 0; id < INITIAL_INSTANCES; id++) {
        await ok('RegisterInstance', {
          ServiceId: Service.Id,
          InstanceId: `i-${id}`,
          Attributes: {
            AWS_INSTANCE_IPV4: INSTANCE_ADDRESS,
            AWS_INSTANCE_PORT: String(PORT_BASE + id),
          },
        });
      }
      return Service.Id;
    }),
  );
}

/** Runs the change client in a process of its own. */
function runChanges(load: ChangeLoad): Promise<Extract<ChangeEvent, { kind: 'done' }>> {
  const child = fork(path.join(__dirname, 'change-client.js'), [], { stdio: 'inherit' });
  return new Promise((resolve, reject) => {
    child.on('message', (event: ChangeEvent) => {
      child.disconnect();
      if (event.kind === 'done') resolve(event);
      else reject(new Error(`change client: ${event.message}`));
    });
    child.on('exit', (code) => reject(new Error(`change client exited (${code})`)));
    child.send(load);
  });
}

export async function runRegistryBench(
  options: SystemBenchOptions,
  size: RegistryBenchSize,
): Promise<RegistryBenchResult> {
  const { log } = options;
  const label = `registry ${size.protocol} ${size.proxies}`;
  log(`${label}: starting the control plane`);
  const controlPlane = await startControlPlane(options);
  const appMesh = controlPlane.appMesh();
  const http = new AppMeshHttp(controlPlane.httpUrl, 16);
  const { generator, failed } = loadGenerator();
  try {
    const mesh = registryMesh(size.services);
    const serviceIds = await createRegistry(http, size.services);
    await createMesh(appMesh, mesh);
    log(`${label}: connecting`);
    await connect(
      generator,
      failed,
      {
        port: controlPlane.options.xdsPort,
        protocol: size.protocol,
        streams: size.proxies,
        groups: subscriptions(mesh, size.services),
        mesh: MESH,
      },
      options.timeoutMs,
    );
    await sleep(2000); // let status publishing settle
    const changesPerService = Math.ceil((size.perSecond * size.seconds) / size.services) + 1;
    const tracking = generator.next('counts');
    generator.send({
      kind: 'track',
      clusters: Array.from({ length: size.services }, (_, i) =>
        egressClusterName(MESH, provider(i), 'http', PORT),
      ),
      changesPerCluster: changesPerService,
    });
    await Promise.race([tracking, failed]);

    log(`${label}: ${size.perSecond} changes/s for ${size.seconds} s`);
    const cpu = controlPlane.cpuSeconds();
    const postgresCpu = controlPlane.postgresCpuSeconds();
    const changes = await Promise.race([
      runChanges({
        kind: 'run',
        baseUrl: controlPlane.httpUrl,
        serviceIds,
        perSecond: size.perSecond,
        durationMs: size.seconds * 1000,
      }),
      failed,
    ]);
    // The last changes' ACKs: a proxy later than this counts as missing.
    await sleep(5000);
    const cpuSeconds = controlPlane.cpuSeconds() - cpu;
    const postgresCpuSeconds = controlPlane.postgresCpuSeconds() - postgresCpu;
    const responses = await responseCounts(generator);
    const latencies = generator.next('latencies');
    generator.send({ kind: 'latencies', answeredAt: changes.answeredAt });
    const ack = await within(
      options.timeoutMs,
      () => 'latencies',
      Promise.race([latencies, failed]),
    );
    return {
      ...size,
      changes: changes.changes,
      windowMs: changes.windowMs,
      api: percentiles(changes.latenciesMs),
      late: changes.late,
      apiErrors: changes.errors,
      apiErrorSamples: changes.errorSamples,
      ack,
      responses,
      cpuSeconds,
      postgresCpuSeconds,
      peakRssBytes: controlPlane.peakRss(),
    };
  } finally {
    generator.stop();
    http.close();
    appMesh.destroy();
    await controlPlane.stop();
  }
}

/** What the figures need to mean anything, and the targets. */
export function registryFailures(result: RegistryBenchResult): string[] {
  const failures: string[] = [];
  const pushed = Object.entries(result.responses).filter(([type, n]) => type !== 'EDS' && n > 0);
  if (pushed.length > 0)
    failures.push(`registry changes caused ${JSON.stringify(Object.fromEntries(pushed))}`);
  if (result.apiErrors > 0) {
    failures.push(
      `${result.apiErrors} Cloud Map calls failed, e.g. ${result.apiErrorSamples.join('; ')}`,
    );
  }
  if (result.ack.inconsistent > 0 || result.ack.regressions > 0) {
    failures.push(
      `endpoint sets out of order: ${result.ack.inconsistent} inconsistent, ${result.ack.regressions} regressions`,
    );
  }
  if (result.ack.missing > 0)
    failures.push(`${result.ack.missing} (proxy, change) pairs never ACKed`);
  return failures;
}

const ms = (value: number): string => `${Math.round(value).toLocaleString('en-US')} ms`;

export function registryTable(results: RegistryBenchResult[]): string {
  const rows: Array<[string, (r: RegistryBenchResult) => string]> = [
    [
      'watching proxies / Cloud Map services',
      (r) => `${r.proxies.toLocaleString('en-US')} / ${r.services}`,
    ],
    [
      'changes answered (rate achieved)',
      (r) =>
        `${r.changes.toLocaleString('en-US')} in ${(r.windowMs / 1000).toFixed(1)} s (${Math.round(r.changes / (r.windowMs / 1000))}/s)`,
    ],
    [
      'API latency p50 / p99 / max',
      (r) => `${ms(r.api.p50)} / ${ms(r.api.p99)} / ${ms(r.api.max)}`,
    ],
    ['changes sent late (a service’s previous change was slow)', (r) => String(r.late)],
    ['(proxy, change) pairs measured', (r) => r.ack.count.toLocaleString('en-US')],
    ['200 → ACK p50 / p99 / max', (r) => `${ms(r.ack.p50)} / ${ms(r.ack.p99)} / ${ms(r.ack.max)}`],
    ['pairs never ACKed / ACKed before the 200', (r) => `${r.ack.missing} / ${r.ack.early}`],
    [
      'responses during the run',
      (r) =>
        Object.entries(r.responses)
          .map(([type, n]) => `${type} ${n.toLocaleString('en-US')}`)
          .join(', ') || 'none',
    ],
    [
      'CPU: control plane + Postgres',
      (r) => `${r.cpuSeconds.toFixed(1)} s + ${r.postgresCpuSeconds.toFixed(1)} s`,
    ],
    ['peak RSS', (r) => `${(r.peakRssBytes / 1024 / 1024).toFixed(0)} MiB`],
  ];
  return [
    '### Registry: Cloud Map changes to watching sidecars',
    '',
    markdownTable(
      ['', ...results.map((r) => (r.protocol === 'sotw' ? 'SotW' : 'delta'))],
      rows.map(([label, value]) => [label, ...results.map(value)]),
    ),
  ].join('\n');
}
