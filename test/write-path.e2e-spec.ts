import { UpdateRouteCommand } from '@aws-sdk/client-app-mesh';
import { Client } from 'pg';
import {
  DeregisterInstanceCommand,
  RegisterInstanceCommand,
} from '@aws-sdk/client-servicediscovery';
import { createCanaryMesh, putWeights } from './support/canary-mesh';
import {
  startTestControlPlane,
  uniqueMeshName,
  type TestControlPlane,
} from './support/control-plane';
import {
  createHttpNamespace,
  createService,
  serviceDiscoveryClient,
  uniqueNamespaceName,
} from './support/registry';

/**
 * Every writer takes the one write path, so the weights API costs no more Postgres round trips
 * than UpdateRoute (each round trip holds the mesh lock). Counted on the pg client the control
 * plane runs in this process; the least of a few calls, so that background work (proxy status,
 * the rollout scheduler) landing in a call's window does not count.
 */
describe('one write path', () => {
  let trellis: TestControlPlane;
  let statements = 0;
  const query = Client.prototype.query;

  beforeAll(async () => {
    // Before the control plane opens its pool: its clients bind `query` when they are made.
    Client.prototype.query = function (this: Client, ...args: unknown[]) {
      statements++;
      return (query as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof query;
    // Only the admin role, and its background work (the rollout scheduler's tick) kept rare: the
    // xDS role's reads after every change would land in the counted windows.
    trellis = await startTestControlPlane({
      TRELLIS_ROLES: 'admin',
      TRELLIS_PROXY_STATUS_INTERVAL_MS: '60000',
      TRELLIS_ROLLOUT_TICK_MS: '60000',
    });
  });

  afterAll(async () => {
    Client.prototype.query = query;
    await trellis.close();
  });

  async function fewestStatements(write: (i: number) => Promise<void>): Promise<number> {
    let fewest = Infinity;
    for (let i = 1; i <= 5; i++) {
      const before = statements;
      await write(i);
      fewest = Math.min(fewest, statements - before);
    }
    return fewest;
  }

  it('sets weights in no more round trips than UpdateRoute', async () => {
    const meshName = uniqueMeshName('write-path');
    await createCanaryMesh(trellis.appMesh, meshName);
    const updateRoute = await fewestStatements(async (i) => {
      await trellis.appMesh.send(
        new UpdateRouteCommand({
          meshName,
          virtualRouterName: 'api',
          routeName: 'canary',
          spec: {
            httpRoute: {
              match: { prefix: '/' },
              action: {
                weightedTargets: [
                  { virtualNode: 'blue', weight: 100 - i },
                  { virtualNode: 'green', weight: i },
                ],
              },
            },
          },
        }),
      );
    });
    const setWeights = await fewestStatements(async (i) => {
      const response = await putWeights(trellis.httpUrl, meshName, {
        targets: { blue: 50 - i, green: 50 + i },
      });
      expect(response.status).toBe(200);
    });
    // BEGIN, lock + reads, update + revision + change log + NOTIFY, COMMIT; UpdateRoute adds
    // its client token's claim and completion.
    expect({ updateRoute, setWeights }).toEqual({ updateRoute: 6, setWeights: 4 });
  });

  it('registers and deregisters a Cloud Map instance in as few round trips as UpdateRoute', async () => {
    const cloudMap = serviceDiscoveryClient(trellis.httpUrl);
    try {
      const namespaceId = await createHttpNamespace(cloudMap, uniqueNamespaceName('write-path'));
      const serviceId = await createService(cloudMap, namespaceId, 'tasks');
      const register = await fewestStatements(async (i) => {
        await cloudMap.send(
          new RegisterInstanceCommand({
            ServiceId: serviceId,
            InstanceId: `task-${i}`,
            Attributes: { AWS_INSTANCE_IPV4: '10.0.0.1', AWS_INSTANCE_PORT: '8080' },
          }),
        );
      });
      const deregister = await fewestStatements(async (i) => {
        await cloudMap.send(
          new DeregisterInstanceCommand({ ServiceId: serviceId, InstanceId: `task-${i}` }),
        );
      });
      // BEGIN; the service locked with the instance and the clock; the instance, revision,
      // change log, operation and NOTIFY; COMMIT. RegisterInstance adds its CreatorRequestId's
      // claim and completion (the SDK always sends one), as UpdateRoute does its client token.
      expect({ register, deregister }).toEqual({ register: 6, deregister: 4 });
    } finally {
      cloudMap.destroy();
    }
  });
});
