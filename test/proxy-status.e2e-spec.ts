import { CreateMeshCommand, CreateVirtualNodeCommand } from '@aws-sdk/client-app-mesh';
import { LISTENER, CLUSTER } from '../libs/xds-types/src/resource-types';
import { appMeshClient, uniqueMeshName } from './support/control-plane';
import { startServerProcess, type ServerProcess } from './support/process';
import { eventually, SotwAdsClient } from './support/xds';

interface ListedProxy {
  nodeId: string;
  userAgent: string;
  userAgentVersion: string;
  connected: boolean;
  state: string;
  types: Array<{
    type: string;
    state: string;
    ackedVersion?: string;
    lastNack?: { message: string };
  }>;
}

/**
 * The admin API and the xDS server as separate processes on one Postgres: the proxy
 * status the xDS process sees is what the admin API answers.
 */
describe('proxy status across processes', () => {
  const env = {
    DATABASE_URL: process.env.DATABASE_URL!,
    TRELLIS_PROXY_STATUS_INTERVAL_MS: '50',
    TRELLIS_PROXY_STATUS_GRACE_SECONDS: '2',
  };
  let admin: ServerProcess;
  let xds: ServerProcess;

  beforeAll(async () => {
    [admin, xds] = await Promise.all([
      startServerProcess({ ...env, TRELLIS_ROLES: 'admin' }),
      startServerProcess({ ...env, TRELLIS_ROLES: 'xds' }),
    ]);
  });
  afterAll(async () => {
    for (const server of [admin, xds]) {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });

  async function proxies(query: string): Promise<ListedProxy[]> {
    const response = await fetch(`${admin.httpUrl}/v1/proxies${query}`);
    return ((await response.json()) as { proxies: ListedProxy[] }).proxies;
  }

  it('shows a proxy of the xDS process through the admin API: synced, rejected, disconnected, gone', async () => {
    const meshName = uniqueMeshName('status');
    const nodeId = `mesh/${meshName}/virtualNode/web`;
    const appMesh = appMeshClient(admin.httpUrl);
    await appMesh.send(new CreateMeshCommand({ meshName }));
    await appMesh.send(
      new CreateVirtualNodeCommand({
        meshName,
        virtualNodeName: 'web',
        spec: {
          listeners: [{ portMapping: { port: 8080, protocol: 'http' } }],
          serviceDiscovery: { dns: { hostname: 'web.internal' } },
        },
      }),
    );
    appMesh.destroy();
    expect(await proxies(`?mesh=${meshName}`)).toEqual([]);

    const xdsPort = Number(String(xds.logs.find((entry) => entry.xds)!.xds).split(':')[1]);
    const envoy = new SotwAdsClient(xdsPort, {
      id: nodeId,
      cluster: nodeId,
      userAgentName: 'envoy',
      userAgentVersionType: { $case: 'userAgentVersion', value: '1.30.1' },
    });
    try {
      envoy.subscribe(LISTENER, []);
      const listeners = await envoy.next();
      envoy.ack(listeners);
      envoy.subscribe(CLUSTER, []);
      const clusters = await envoy.next();
      envoy.nack(clusters, 'cluster rejected by test');

      await eventually(async () => {
        const [proxy] = await proxies(`?mesh=${meshName}`);
        expect(proxy).toMatchObject({
          nodeId,
          userAgent: 'envoy',
          userAgentVersion: '1.30.1',
          connected: true,
          state: 'NACKED',
        });
        expect(proxy!.types.find((t) => t.type === 'LDS')).toMatchObject({
          state: 'SYNCED',
          ackedVersion: listeners.versionInfo,
        });
        expect(proxy!.types.find((t) => t.type === 'CDS')).toMatchObject({
          state: 'NACKED',
          lastNack: { message: 'cluster rejected by test' },
        });
      }, 5000);
      const byNode = await fetch(`${admin.httpUrl}/v1/proxies/${encodeURIComponent(nodeId)}`);
      expect(((await byNode.json()) as { proxies: ListedProxy[] }).proxies).toHaveLength(1);
    } finally {
      envoy.close();
    }

    await eventually(async () => {
      expect(await proxies(`?mesh=${meshName}`)).toMatchObject([{ nodeId, connected: false }]);
    }, 5000);
    await eventually(async () => {
      expect(await proxies(`?mesh=${meshName}`)).toEqual([]);
    }, 6000);
    const gone = await fetch(`${admin.httpUrl}/v1/proxies/${encodeURIComponent(nodeId)}`);
    expect(gone.status).toBe(404);
    expect(gone.headers.get('x-amzn-errortype')).toBe('NotFoundException');
  });
});
