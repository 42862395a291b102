import { performance } from 'node:perf_hooks';
import {
  CreateMeshCommand,
  CreateVirtualNodeCommand,
  CreateVirtualServiceCommand,
  UpdateVirtualNodeCommand,
} from '@aws-sdk/client-app-mesh';
import {
  DeregisterInstanceCommand,
  GetNamespaceCommand,
  RegisterInstanceCommand,
  UpdateInstanceCustomHealthStatusCommand,
  type ServiceDiscoveryClient,
} from '@aws-sdk/client-servicediscovery';
import type * as grpc from '@grpc/grpc-js';
import * as grpcXds from '@grpc/grpc-js-xds';
import { egressClusterName } from '../libs/translator/src/names';
import {
  startTestControlPlane,
  uniqueMeshName,
  type TestControlPlane,
} from './support/control-plane';
import {
  hello,
  helloMany,
  helloUntil,
  startGreeter,
  xdsClient,
  type Greeter,
} from './support/greeter';
import { envoyNode, SidecarProxy, type AdsProtocol } from './support/mesh';
import {
  createHttpNamespace,
  createService,
  serviceDiscoveryClient,
  uniqueNamespaceName,
} from './support/registry';
import { eventually } from './support/xds';

/**
 * Virtual nodes discovered through Cloud Map, as on ECS: tasks register in Trellis' registry,
 * and the callers of the virtual node — proxyless gRPC clients and Envoy sidecars — receive the
 * registered, healthy instances that match the node's attributes, and nothing else changes.
 */
const PORT = 50051;

describe('endpoints from the service registry', () => {
  let trellis: TestControlPlane;
  let cloudMap: ServiceDiscoveryClient;
  let backends: Record<string, Greeter>;
  let serviceId: string;
  const clients: grpc.Client[] = [];
  const meshName = uniqueMeshName('registry');
  const namespaceName = uniqueNamespaceName('ecs');

  const register = (name: string, version: string) =>
    cloudMap.send(
      new RegisterInstanceCommand({
        ServiceId: serviceId,
        InstanceId: name,
        Attributes: {
          AWS_INSTANCE_IPV4: '127.0.0.1',
          AWS_INSTANCE_PORT: String(backends[name]?.port ?? 1),
          version,
        },
      }),
    );

  /** Calls in batches until one has no answer from `gone`; returns the milliseconds that took. */
  async function untilNoneFrom(client: grpc.Client, gone: string, since: number): Promise<number> {
    let batch: string[];
    do batch = await helloMany(client, 20, 20);
    while (batch.includes(gone) && performance.now() - since < 5000);
    return performance.now() - since;
  }

  beforeAll(async () => {
    grpcXds.register();
    trellis = await startTestControlPlane();
    cloudMap = serviceDiscoveryClient(trellis.httpUrl);
    const started = await Promise.all(['blue-1', 'green-1', 'green-2'].map((n) => startGreeter(n)));
    backends = Object.fromEntries(started.map((backend) => [backend.name, backend]));
    const namespaceId = await createHttpNamespace(cloudMap, namespaceName);
    serviceId = await createService(cloudMap, namespaceId, 'greeter');
    await register('blue-1', 'blue');
    await register('green-1', 'green');
    await register('green-2', 'green');

    const { appMesh } = trellis;
    await appMesh.send(new CreateMeshCommand({ meshName }));
    const cloudMapNode = (name: string, attributes?: Array<{ key: string; value: string }>) =>
      appMesh.send(
        new CreateVirtualNodeCommand({
          meshName,
          virtualNodeName: name,
          spec: {
            listeners: [{ portMapping: { port: PORT, protocol: 'grpc' } }],
            serviceDiscovery: {
              awsCloudMap: { namespaceName, serviceName: 'greeter', attributes },
            },
          },
        }),
      );
    await cloudMapNode('greeter');
    await cloudMapNode('greeter-green', [{ key: 'version', value: 'green' }]);
    for (const [service, node] of [
      ['greeter.local', 'greeter'],
      ['green.greeter.local', 'greeter-green'],
    ] as const) {
      await appMesh.send(
        new CreateVirtualServiceCommand({
          meshName,
          virtualServiceName: service,
          spec: { provider: { virtualNode: { virtualNodeName: node } } },
        }),
      );
    }
    await appMesh.send(
      new CreateVirtualNodeCommand({
        meshName,
        virtualNodeName: 'client',
        spec: {
          backends: [
            { virtualService: { virtualServiceName: 'greeter.local' } },
            { virtualService: { virtualServiceName: 'green.greeter.local' } },
          ],
        },
      }),
    );
  });

  afterAll(async () => {
    for (const client of clients) client.close();
    await eventually(
      () =>
        expect(trellis.xds!.engine.proxyStatuses().filter((p) => p.mesh === meshName)).toEqual([]),
      5000,
    );
    cloudMap.destroy();
    await trellis.close();
    for (const backend of Object.values(backends ?? {})) backend.server.forceShutdown();
  });

  function proxylessClient(service: string): grpc.Client {
    const client = xdsClient(`xds:///${service}:${PORT}`, {
      xds_servers: [
        { server_uri: `127.0.0.1:${trellis.xds!.port}`, channel_creds: [{ type: 'insecure' }] },
      ],
      node: { id: `mesh/${meshName}/virtualNode/client`, locality: { region: 'eu-west-1' } },
    });
    clients.push(client);
    return client;
  }

  it('sends a proxyless client to the registered instances, and away from one deregistered or unhealthy within 2 s', async () => {
    const all = proxylessClient('greeter.local');
    expect(new Set(await helloMany(all, 300))).toEqual(new Set(['blue-1', 'green-1', 'green-2']));

    // The attribute filter: version=green reaches only the green tasks.
    const green = proxylessClient('green.greeter.local');
    expect(new Set(await helloMany(green, 200))).toEqual(new Set(['green-1', 'green-2']));

    // A task stops: ECS deregisters it.
    await cloudMap.send(
      new DeregisterInstanceCommand({ ServiceId: serviceId, InstanceId: 'blue-1' }),
    );
    expect(await untilNoneFrom(all, 'blue-1', performance.now())).toBeLessThan(2000);
    expect(await helloMany(all, 200)).not.toContain('blue-1');

    // A task fails its health check.
    await cloudMap.send(
      new UpdateInstanceCustomHealthStatusCommand({
        ServiceId: serviceId,
        InstanceId: 'green-2',
        Status: 'UNHEALTHY',
      }),
    );
    const unhealthyAt = performance.now();
    expect(await untilNoneFrom(green, 'green-2', unhealthyAt)).toBeLessThan(2000);
    expect(await untilNoneFrom(all, 'green-2', unhealthyAt)).toBeLessThan(2000);
    expect(new Set(await helloMany(green, 100))).toEqual(new Set(['green-1']));
    expect(new Set(await helloMany(all, 100))).toEqual(new Set(['green-1']));

    // Back: healthy again and re-registered.
    await cloudMap.send(
      new UpdateInstanceCustomHealthStatusCommand({
        ServiceId: serviceId,
        InstanceId: 'green-2',
        Status: 'HEALTHY',
      }),
    );
    await register('blue-1', 'blue');
    await helloUntil(all, 'blue-1');
    await helloUntil(green, 'green-2');
    expect(await helloMany(green, 100)).not.toContain('blue-1');
  });

  it.each<AdsProtocol>(['sotw', 'delta'])(
    'moves only endpoint sets of an Envoy sidecar (%s) when the registry changes',
    async (protocol) => {
      const sidecar = new SidecarProxy(protocol, envoyNode(meshName, 'client')).connect(
        trellis.xds!.port,
      );
      try {
        await sidecar.sync();
        const all = egressClusterName(meshName, 'greeter', 'grpc', PORT);
        const green = egressClusterName(meshName, 'greeter-green', 'grpc', PORT);
        const ports = (cluster: string) =>
          (sidecar.endpoints.get(cluster)?.endpoints ?? [])
            .flatMap((locality) => locality.lbEndpoints ?? [])
            .map((lb) => {
              const address =
                lb.hostIdentifier?.$case === 'endpoint'
                  ? lb.hostIdentifier.value.address
                  : undefined;
              return address?.address?.$case === 'socketAddress'
                ? `${address.address.value.address}:${address.address.value.portSpecifier?.$case === 'portValue' ? address.address.value.portSpecifier.value : ''}`
                : '';
            })
            .sort();
        const at = (...names: string[]) =>
          names.map((name) => `127.0.0.1:${backends[name]?.port ?? 1}`).sort();
        expect(ports(all)).toEqual(at('blue-1', 'green-1', 'green-2'));
        expect(ports(green)).toEqual(at('green-1', 'green-2'));

        // A blue task starts: only the unfiltered set changes.
        await register(`extra-${protocol}`, 'blue');
        const update = await sidecar.next();
        expect(update.type).toBe('EDS');
        if (protocol === 'delta') expect(update.names).toEqual([all]);
        expect(ports(all)).toEqual([...at('blue-1', 'green-1', 'green-2'), '127.0.0.1:1'].sort());
        expect(ports(green)).toEqual(at('green-1', 'green-2'));
        // The next response answers the probe: no cluster, listener or route was sent meanwhile.
        expect((await sidecar.probe()).type).toBe('RDS');

        await cloudMap.send(
          new DeregisterInstanceCommand({ ServiceId: serviceId, InstanceId: `extra-${protocol}` }),
        );
        expect((await sidecar.next()).type).toBe('EDS');
        expect(ports(all)).toEqual(at('blue-1', 'green-1', 'green-2'));
        expect((await sidecar.probe()).type).toBe('RDS');
      } finally {
        sidecar.close();
      }
    },
  );

  it('drops an instance whose lease is not renewed, and takes it back on its next heartbeat', async () => {
    const namespaceId = await createHttpNamespace(cloudMap, uniqueNamespaceName('leases'));
    const leased = await createService(cloudMap, namespaceId, 'leased');
    const lease = await fetch(`${trellis.httpUrl}/v1/registry/services/${leased}/lease`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ttlSeconds: 3 }),
    });
    expect(await lease.json()).toEqual({ serviceId: leased, ttlSeconds: 3 });
    const heartbeat = (instance: string) =>
      fetch(`${trellis.httpUrl}/v1/registry/services/${leased}/instances/${instance}/heartbeat`, {
        method: 'POST',
      });
    const namespace = (await cloudMap.send(new GetNamespaceCommand({ Id: namespaceId })))
      .Namespace!;
    for (const name of ['green-1', 'green-2']) {
      await cloudMap.send(
        new RegisterInstanceCommand({
          ServiceId: leased,
          InstanceId: name,
          Attributes: {
            AWS_INSTANCE_IPV4: '127.0.0.1',
            AWS_INSTANCE_PORT: String(backends[name]!.port),
          },
        }),
      );
    }
    // green-1's host keeps renewing; green-2's host has crashed and renews nothing.
    const renewing = setInterval(() => void heartbeat('green-1'), 200);
    try {
      await trellis.appMesh.send(
        new CreateVirtualNodeCommand({
          meshName,
          virtualNodeName: 'leased',
          spec: {
            listeners: [{ portMapping: { port: PORT, protocol: 'grpc' } }],
            serviceDiscovery: {
              awsCloudMap: { namespaceName: namespace.Name!, serviceName: 'leased' },
            },
          },
        }),
      );
      await trellis.appMesh.send(
        new CreateVirtualServiceCommand({
          meshName,
          virtualServiceName: 'leased.local',
          spec: { provider: { virtualNode: { virtualNodeName: 'leased' } } },
        }),
      );
      await trellis.appMesh.send(
        new UpdateVirtualNodeCommand({
          meshName,
          virtualNodeName: 'client',
          spec: {
            backends: ['greeter.local', 'green.greeter.local', 'leased.local'].map((name) => ({
              virtualService: { virtualServiceName: name },
            })),
          },
        }),
      );
      const client = proxylessClient('leased.local');
      await helloUntil(client, 'green-2');
      // green-2's lease ends 3 s after its registration; within 2 s of that it gets no traffic.
      const view = await fetch(`${trellis.httpUrl}/v1/registry/services/${leased}/instances`);
      const { instances: registered } = (await view.json()) as {
        instances: Array<{ id: string; leaseExpiresAt: string }>;
      };
      const expiry = Date.parse(registered.find((i) => i.id === 'green-2')!.leaseExpiresAt);
      const expiresAt = performance.now() + (expiry - Date.now());
      const took = await untilNoneFrom(client, 'green-2', expiresAt);
      expect(took).toBeLessThan(2000);
      expect(new Set(await helloMany(client, 100))).toEqual(new Set(['green-1']));
      const status = await fetch(`${trellis.httpUrl}/v1/registry/services/${leased}/instances`);
      const { instances } = (await status.json()) as {
        instances: Array<{ id: string; health: string }>;
      };
      expect(instances.map(({ id, health }) => `${id}:${health}`)).toEqual([
        'green-1:HEALTHY',
        'green-2:UNHEALTHY',
      ]);

      // The host comes back and renews: it gets traffic again.
      expect((await heartbeat('green-2')).status).toBe(200);
      await helloUntil(client, 'green-2');
    } finally {
      clearInterval(renewing);
    }
  });

  it('sends a proxyless client to the addresses the control plane resolved for a DNS-discovered node', async () => {
    const backend = backends['blue-1']!;
    await trellis.appMesh.send(
      new CreateVirtualNodeCommand({
        meshName,
        virtualNodeName: 'dns-greeter',
        spec: {
          listeners: [{ portMapping: { port: backend.port, protocol: 'grpc' } }],
          serviceDiscovery: {
            dns: { hostname: 'localhost', responseType: 'ENDPOINTS', ipPreference: 'IPv4_ONLY' },
          },
        },
      }),
    );
    await trellis.appMesh.send(
      new CreateVirtualServiceCommand({
        meshName,
        virtualServiceName: 'dns.greeter.local',
        spec: { provider: { virtualNode: { virtualNodeName: 'dns-greeter' } } },
      }),
    );
    await trellis.appMesh.send(
      new CreateVirtualNodeCommand({
        meshName,
        virtualNodeName: 'dns-client',
        spec: { backends: [{ virtualService: { virtualServiceName: 'dns.greeter.local' } }] },
      }),
    );
    const client = xdsClient(`xds:///dns.greeter.local:${backend.port}`, {
      xds_servers: [
        { server_uri: `127.0.0.1:${trellis.xds!.port}`, channel_creds: [{ type: 'insecure' }] },
      ],
      node: { id: `mesh/${meshName}/virtualNode/dns-client`, locality: { region: 'eu-west-1' } },
    });
    clients.push(client);
    // The first translation finds the name not yet resolved; the resolution then moves the endpoints.
    await eventually(async () => expect(await hello(client)).toBe('blue-1'), 5000);
    expect(await helloMany(client, 50)).toEqual(Array(50).fill('blue-1'));
  });

  it('reports a Cloud Map node whose service does not exist or has no instances', async () => {
    await trellis.appMesh.send(
      new CreateVirtualNodeCommand({
        meshName,
        virtualNodeName: 'orphan',
        spec: {
          listeners: [{ portMapping: { port: PORT, protocol: 'grpc' } }],
          serviceDiscovery: { awsCloudMap: { namespaceName, serviceName: 'not-registered' } },
        },
      }),
    );
    const response = await fetch(`${trellis.httpUrl}/v1/registry/meshes/${meshName}/virtual-nodes`);
    expect(response.status).toBe(200);
    const { virtualNodes } = (await response.json()) as { virtualNodes: any[] };
    expect(virtualNodes.find((node) => node.virtualNode === 'orphan')).toMatchObject({
      serviceId: null,
      endpoints: [{ port: PORT, addresses: [] }],
      problems: [
        `Cloud Map service ${namespaceName}/not-registered does not exist, so it has no endpoints`,
      ],
    });
    expect(virtualNodes.find((node) => node.virtualNode === 'greeter-green')).toMatchObject({
      serviceId,
      attributes: [{ key: 'version', value: 'green' }],
      problems: [],
    });
  });
});
