import * as grpc from '@grpc/grpc-js';
import {
  CreateMeshCommand,
  CreateRouteCommand,
  CreateVirtualNodeCommand,
  CreateVirtualRouterCommand,
  CreateVirtualServiceCommand,
  DeleteVirtualNodeCommand,
  TagResourceCommand,
  type AppMeshClient,
} from '@aws-sdk/client-app-mesh';
import { AggregatedDiscoveryServiceClient } from '../../libs/envoy-api/generated/envoy/service/discovery/v3/ads';
import type {
  DiscoveryRequest,
  DiscoveryResponse,
} from '../../libs/envoy-api/generated/envoy/service/discovery/v3/discovery';
import { CLUSTER, LISTENER } from '../../libs/xds-types/src/resource-types';
import { markdownTable } from '../report';
import { AppMeshHttp } from '../rest/app-mesh-http';
import type { ControlPlaneProcess } from '../system/control-plane-process';

// The soak: one control plane process under a steady mix of REST writes, proxies that connect
// and leave with new node ids, registry churn (instances of new ids registered and
// deregistered through the Cloud Map API) and rollouts, for a long time. Every minute it samples the
// process' RSS (from /proc) and its event-loop delay and open handles (from /metrics); the run
// fails if RSS grows by more than 10 % after the warm-up.

const MESH = 'soak';
const MiB = 1024 * 1024;

export interface SoakOptions {
  minutes: number;
  log: (line: string) => void;
}

export interface SoakSample {
  minute: number;
  rssBytes: number;
  eventLoopDelayP99Ms: number;
  openHandles: number;
  connectedProxies: number;
}

export interface SoakResult {
  minutes: number;
  samples: SoakSample[];
  /** The sample the growth is measured from (the end of the warm-up). */
  baseline: SoakSample;
  growth: number;
  writes: number;
  writeErrors: number;
  /** Cloud Map RegisterInstance / DeregisterInstance calls answered, and failed. */
  registryChanges: number;
  registryErrors: number;
  proxies: number;
  proxyErrors: number;
  rollouts: number;
}

/** What the run may grow by after the warm-up. */
export const MAX_GROWTH = 0.1;

export async function runSoak(
  controlPlane: ControlPlaneProcess,
  options: SoakOptions,
): Promise<SoakResult> {
  const appMesh = controlPlane.appMesh();
  const cloudMap = new AppMeshHttp(controlPlane.httpUrl, 1);
  const serviceId = await createSoakMesh(appMesh, cloudMap);
  const xdsPort = controlPlane.options.xdsPort;
  const end = Date.now() + options.minutes * 60_000;
  const running = () => Date.now() < end;
  const counts = {
    writes: 0,
    writeErrors: 0,
    registryChanges: 0,
    registryErrors: 0,
    proxies: 0,
    proxyErrors: 0,
    rollouts: 0,
  };

  const sampleEveryMs = Math.min(60_000, (options.minutes * 60_000) / 10);
  const warmUpSamples = Math.max(
    1,
    Math.round(Math.min(5 * 60_000, (end - Date.now()) / 6) / sampleEveryMs),
  );
  const samples: SoakSample[] = [];
  const started = Date.now();
  const sampler = (async () => {
    while (running()) {
      await delay(Math.min(sampleEveryMs, end - Date.now()));
      const sample = await sampleProcess(controlPlane, (Date.now() - started) / 60_000);
      samples.push(sample);
      options.log(
        `soak: minute ${sample.minute.toFixed(1)}: RSS ${(sample.rssBytes / MiB).toFixed(0)} MiB, ` +
          `event-loop p99 ${sample.eventLoopDelayP99Ms.toFixed(1)} ms, ${sample.openHandles} handles, ` +
          `${sample.connectedProxies} proxies; ${counts.writes} writes, ${counts.registryChanges} registry changes, ` +
          `${counts.proxies} proxies, ${counts.rollouts} rollouts`,
      );
    }
  })();

  await Promise.all([
    sampler,
    writeLoop(appMesh, running, counts),
    registryLoop(cloudMap, serviceId, running, counts),
    ...Array.from({ length: 8 }, (_, lane) => proxyLoop(xdsPort, lane, running, counts)),
    rolloutLoop(controlPlane.httpUrl, running, counts, options.log),
  ]);
  appMesh.destroy();
  cloudMap.close();

  const baseline = samples[Math.min(warmUpSamples, samples.length) - 1]!;
  const last = samples[samples.length - 1]!;
  return {
    minutes: options.minutes,
    samples,
    baseline,
    growth: (last.rssBytes - baseline.rssBytes) / baseline.rssBytes,
    ...counts,
  };
}

export function soakTable(result: SoakResult): string {
  const mib = (bytes: number) => (bytes / MiB).toFixed(0);
  return [
    `### Soak: ${result.minutes} minutes of REST writes, proxy churn, registry churn and rollouts on one process`,
    '',
    `${result.writes} REST writes (${result.writeErrors} failed), ${result.registryChanges} Cloud Map ` +
      `instance registrations and deregistrations (${result.registryErrors} failed), ${result.proxies} proxies ` +
      `connected and left with new node ids (${result.proxyErrors} failed), ${result.rollouts} rollouts ` +
      `completed. RSS at the end of the warm-up (minute ${result.baseline.minute.toFixed(1)}): ` +
      `${mib(result.baseline.rssBytes)} MiB; at the end: ${(result.growth * 100).toFixed(1)} % from there ` +
      `(the run fails above ${MAX_GROWTH * 100} %).`,
    '',
    markdownTable(
      ['minute', 'RSS MiB', 'event-loop delay p99 ms', 'open handles', 'proxies connected'],
      result.samples.map((s) => [
        s.minute.toFixed(1),
        mib(s.rssBytes),
        s.eventLoopDelayP99Ms.toFixed(1),
        String(s.openHandles),
        String(s.connectedProxies),
      ]),
    ),
  ].join('\n');
}

/**
 * web-v1 (DNS) and web-v2 (Cloud Map service web-v2 in soak.registry) behind router web (route
 * canary), service web.local, and front calling it. Returns the Cloud Map service's id.
 */
async function createSoakMesh(appMesh: AppMeshClient, cloudMap: AppMeshHttp): Promise<string> {
  const listeners = [{ portMapping: { port: 8080, protocol: 'http' as const } }];
  const registered = async (operation: string, body: unknown) => {
    const response = await cloudMap.cloudMap(operation, body);
    if (response.status !== 200) {
      throw new Error(`${operation}: ${response.status} ${JSON.stringify(response.body)}`);
    }
    return response.body;
  };
  const { OperationId } = await registered('CreateHttpNamespace', { Name: REGISTRY_NAMESPACE });
  const { Operation } = (await registered('GetOperation', { OperationId })) as {
    Operation: { Targets: { NAMESPACE: string } };
  };
  const { Service } = (await registered('CreateService', {
    Name: 'web-v2',
    NamespaceId: Operation.Targets.NAMESPACE,
  })) as { Service: { Id: string } };
  await appMesh.send(new CreateMeshCommand({ meshName: MESH }));
  await appMesh.send(
    new CreateVirtualNodeCommand({
      meshName: MESH,
      virtualNodeName: 'web-v1',
      spec: { listeners, serviceDiscovery: { dns: { hostname: 'web-v1.soak.local' } } },
    }),
  );
  await appMesh.send(
    new CreateVirtualNodeCommand({
      meshName: MESH,
      virtualNodeName: 'web-v2',
      spec: {
        listeners,
        serviceDiscovery: {
          awsCloudMap: { namespaceName: REGISTRY_NAMESPACE, serviceName: 'web-v2' },
        },
      },
    }),
  );
  await appMesh.send(
    new CreateVirtualRouterCommand({
      meshName: MESH,
      virtualRouterName: 'web',
      spec: { listeners },
    }),
  );
  await appMesh.send(
    new CreateRouteCommand({
      meshName: MESH,
      virtualRouterName: 'web',
      routeName: 'canary',
      spec: {
        httpRoute: {
          match: { prefix: '/' },
          action: { weightedTargets: [{ virtualNode: 'web-v1', weight: 100 }] },
        },
      },
    }),
  );
  await appMesh.send(
    new CreateVirtualServiceCommand({
      meshName: MESH,
      virtualServiceName: 'web.local',
      spec: { provider: { virtualRouter: { virtualRouterName: 'web' } } },
    }),
  );
  await appMesh.send(
    new CreateVirtualNodeCommand({
      meshName: MESH,
      virtualNodeName: 'front',
      spec: {
        listeners,
        serviceDiscovery: { dns: { hostname: 'front.soak.local' } },
        backends: [{ virtualService: { virtualServiceName: 'web.local' } }],
      },
    }),
  );
  return Service.Id;
}

const REGISTRY_NAMESPACE = 'soak.registry';

/**
 * Registry churn: web-v2's instances come and go with new ids, about four calls a second (each
 * round registers one instance and deregisters the one registered three rounds before), as ECS
 * tasks of a service are replaced. Every change reaches the front proxies as endpoints.
 */
async function registryLoop(
  cloudMap: AppMeshHttp,
  serviceId: string,
  running: () => boolean,
  counts: { registryChanges: number; registryErrors: number },
): Promise<void> {
  const call = async (operation: string, body: unknown): Promise<void> => {
    const response = await cloudMap.cloudMap(operation, body).catch(() => undefined);
    if (response?.status === 200) counts.registryChanges++;
    else counts.registryErrors++;
  };
  for (let n = 0; running(); n++) {
    await call('RegisterInstance', {
      ServiceId: serviceId,
      InstanceId: `task-${n}`,
      Attributes: {
        AWS_INSTANCE_IPV4: `10.9.${(n >> 8) & 255}.${n & 255}`,
        AWS_INSTANCE_PORT: '8080',
      },
    });
    if (n >= 3)
      await call('DeregisterInstance', { ServiceId: serviceId, InstanceId: `task-${n - 3}` });
    await delay(500);
  }
}

/** Creates, tags and deletes virtual nodes of new names, about five writes a second. */
async function writeLoop(
  appMesh: AppMeshClient,
  running: () => boolean,
  counts: { writes: number; writeErrors: number },
): Promise<void> {
  for (let n = 0; running(); n++) {
    const virtualNodeName = `churn-${n}`;
    const writes = [
      () =>
        appMesh.send(
          new CreateVirtualNodeCommand({
            meshName: MESH,
            virtualNodeName,
            spec: {
              listeners: [{ portMapping: { port: 8080, protocol: 'http' } }],
              serviceDiscovery: { dns: { hostname: `${virtualNodeName}.soak.local` } },
              backends: [{ virtualService: { virtualServiceName: 'web.local' } }],
            },
          }),
        ),
      () =>
        appMesh.send(
          new TagResourceCommand({
            resourceArn: `arn:aws:appmesh:us-east-1:000000000000:mesh/${MESH}/virtualNode/${virtualNodeName}`,
            tags: [{ key: 'round', value: String(n) }],
          }),
        ),
      () => appMesh.send(new DeleteVirtualNodeCommand({ meshName: MESH, virtualNodeName })),
    ];
    for (const write of writes) {
      try {
        await write();
        counts.writes++;
      } catch {
        counts.writeErrors++;
      }
      await delay(200);
    }
  }
}

/**
 * One lane of proxy churn: a proxy with a new node id connects (half of them as `front`, half
 * as a virtual node that may or may not exist yet), accepts what it gets, stays a few seconds
 * and leaves; then the next one.
 */
async function proxyLoop(
  port: number,
  lane: number,
  running: () => boolean,
  counts: { proxies: number; proxyErrors: number },
): Promise<void> {
  for (let n = 0; running(); n++) {
    const id = `soak-${lane}-${n}-${Date.now()}`;
    const cluster =
      n % 2 === 0 ? `mesh/${MESH}/virtualNode/front` : `mesh/${MESH}/virtualNode/churn-${n}`;
    try {
      await oneProxy(port, { id, cluster }, 1000 + ((lane * 997 + n * 131) % 4000));
      counts.proxies++;
    } catch {
      counts.proxyErrors++;
    }
  }
}

/** Connects, asks for listeners and clusters, ACKs every response for `stayMs`, then leaves. */
function oneProxy(port: number, node: { id: string; cluster: string }, stayMs: number) {
  // A channel of its own, as each Envoy has its own connection.
  const client = new AggregatedDiscoveryServiceClient(
    `127.0.0.1:${port}`,
    grpc.credentials.createInsecure(),
    { 'grpc.use_local_subchannel_pool': 1 },
  );
  const call = client.streamAggregatedResources();
  return new Promise<void>((resolve, reject) => {
    let responses = 0;
    const done = (error?: Error) => {
      clearTimeout(timer);
      call.removeAllListeners();
      call.on('error', () => undefined);
      call.cancel();
      client.close();
      if (error) reject(error);
      else if (responses === 0) reject(new Error('no response'));
      else resolve();
    };
    const timer = setTimeout(() => done(), stayMs);
    call.on('data', (response: DiscoveryResponse) => {
      responses++;
      call.write({
        typeUrl: response.typeUrl,
        versionInfo: response.versionInfo,
        responseNonce: response.nonce,
        resourceNames: [],
      } satisfies DiscoveryRequest);
    });
    call.on('error', (error: Error) => done(error));
    call.write({
      node: { ...node, userAgentName: 'envoy' },
      typeUrl: CLUSTER,
      resourceNames: [],
    } satisfies DiscoveryRequest);
    call.write({ typeUrl: LISTENER, resourceNames: [] } satisfies DiscoveryRequest);
  });
}

/** Rolls the canary route from web-v1 to web-v2 and back, one rollout after the other. */
async function rolloutLoop(
  httpUrl: string,
  running: () => boolean,
  counts: { rollouts: number },
  log: (line: string) => void,
): Promise<void> {
  let [from, to] = ['web-v1', 'web-v2'];
  while (running()) {
    const started = await fetch(`${httpUrl}/v1/meshes/${MESH}/rollouts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        route: { virtualRouter: 'web', route: 'canary' },
        from,
        to,
        steps: [25, 50, 100],
        interval: '5s',
        propagationTimeout: '60s',
      }),
    });
    if (started.status !== 201) {
      log(`soak: rollout not started: ${started.status} ${await started.text()}`);
      await delay(5000);
      continue;
    }
    const { id } = (await started.json()) as { id: string };
    for (;;) {
      await delay(1000);
      const response = await fetch(`${httpUrl}/v1/meshes/${MESH}/rollouts/${id}`);
      const { state } = (await response.json()) as { state: string };
      if (state === 'Succeeded') {
        counts.rollouts++;
        [from, to] = [to, from];
        break;
      }
      if (!['Pending', 'Progressing', 'WaitingPromotion', 'Paused'].includes(state)) {
        log(`soak: rollout ${id} ended ${state}`);
        break;
      }
      if (!running()) return;
    }
  }
}

async function sampleProcess(
  controlPlane: ControlPlaneProcess,
  minute: number,
): Promise<SoakSample> {
  const metrics = await (await fetch(`${controlPlane.httpUrl}/metrics`)).text();
  const value = (name: string) => {
    let sum = 0;
    for (const match of metrics.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))) {
      sum += Number(match[1]);
    }
    return sum;
  };
  return {
    minute,
    rssBytes: controlPlane.rss(),
    eventLoopDelayP99Ms: value('trellis_nodejs_eventloop_lag_p99_seconds') * 1000,
    openHandles: value('trellis_nodejs_active_handles_total'),
    connectedProxies: value('trellis_xds_connected_proxies'),
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
