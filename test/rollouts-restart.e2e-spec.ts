import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  CreateMeshCommand,
  CreateRouteCommand,
  CreateVirtualNodeCommand,
  CreateVirtualRouterCommand,
  DescribeRouteCommand,
} from '@aws-sdk/client-app-mesh';
import { Client } from 'pg';
import { appMeshClient } from './support/control-plane';
import {
  startPostgresProcess,
  startServerProcess,
  type PostgresProcess,
  type ServerProcess,
} from './support/process';
import { eventually } from './support/xds';

interface Rollout {
  id: string;
  state: string;
  step: number;
  phase: string | null;
  events: Array<{ type: string; step?: number; revision?: number; time: string }>;
}

/**
 * The rollout scheduler keeps all of its state in Postgres and runs in one process at a time.
 * `npm start`'s entry point runs as child processes on a Postgres of their own, so no other
 * test's scheduler takes part.
 */
describe('rollouts across restarts and replicas', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'trellis-rollout-restart-'));
  let postgres: PostgresProcess;
  let env: Record<string, string>;
  const servers: ServerProcess[] = [];

  beforeAll(async () => {
    postgres = await startPostgresProcess(dataDir);
    env = { DATABASE_URL: postgres.url, TRELLIS_ROLLOUT_TICK_MS: '50' };
  });

  afterAll(async () => {
    for (const server of servers) await stop(server);
    await postgres.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function start(): Promise<ServerProcess> {
    const server = await startServerProcess(env);
    servers.push(server);
    return server;
  }

  async function stop(server: ServerProcess): Promise<void> {
    if (server.child.exitCode !== null) return;
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  }

  function isScheduler(server: ServerProcess): boolean {
    return server.logs.some((entry) => entry.msg === 'this process now runs the rollout scheduler');
  }

  async function rollout(httpUrl: string, meshName: string, id: string): Promise<Rollout> {
    const response = await fetch(`${httpUrl}/v1/meshes/${meshName}/rollouts/${id}`);
    expect(response.status).toBe(200);
    return (await response.json()) as Rollout;
  }

  async function until(
    httpUrl: string,
    meshName: string,
    id: string,
    reached: (rollout: Rollout) => boolean,
  ): Promise<Rollout> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const current = await rollout(httpUrl, meshName, id);
      if (reached(current)) return current;
      if (Date.now() > deadline) throw new Error(`rollout stuck: ${JSON.stringify(current)}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** blue and green behind the route api/canary, all traffic on blue; returns the rollout's id. */
  async function startRollout(httpUrl: string, meshName: string): Promise<string> {
    const appMesh = appMeshClient(httpUrl);
    await appMesh.send(new CreateMeshCommand({ meshName }));
    for (const name of ['blue', 'green']) {
      await appMesh.send(
        new CreateVirtualNodeCommand({
          meshName,
          virtualNodeName: name,
          spec: { serviceDiscovery: { dns: { hostname: `${name}.local` } } },
        }),
      );
    }
    await appMesh.send(
      new CreateVirtualRouterCommand({
        meshName,
        virtualRouterName: 'api',
        spec: { listeners: [{ portMapping: { port: 8080, protocol: 'http' } }] },
      }),
    );
    await appMesh.send(
      new CreateRouteCommand({
        meshName,
        virtualRouterName: 'api',
        routeName: 'canary',
        spec: {
          httpRoute: {
            match: { prefix: '/' },
            action: { weightedTargets: [{ virtualNode: 'blue', weight: 100 }] },
          },
        },
      }),
    );
    appMesh.destroy();
    const created = await fetch(`${httpUrl}/v1/meshes/${meshName}/rollouts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        route: { virtualRouter: 'api', route: 'canary' },
        from: 'blue',
        to: 'green',
        steps: [10, 50, 100],
        interval: '2s',
      }),
    });
    expect(created.status).toBe(201);
    return ((await created.json()) as Rollout).id;
  }

  /** The second step holds for its interval: a moment in the middle of the rollout. */
  const inSecondStep = (current: Rollout) => current.step === 2 && current.phase === 'Waiting';

  /** The rollout succeeded having written each step once, and the route has all traffic on green. */
  async function expectFinishedOnce(
    httpUrl: string,
    meshName: string,
    id: string,
    before: Rollout,
  ) {
    const after = await until(httpUrl, meshName, id, (current) => current.state === 'Succeeded');
    const written = after.events.filter((event) => event.type === 'WeightsSet');
    expect(written.map((event) => event.step)).toEqual([1, 2, 3]);
    // Steps 1 and 2 are the writes from before the stop, not repeated after it.
    expect(written.slice(0, 2)).toEqual(
      before.events.filter((event) => event.type === 'WeightsSet'),
    );
    const appMesh = appMeshClient(httpUrl);
    const { route } = await appMesh.send(
      new DescribeRouteCommand({ meshName, virtualRouterName: 'api', routeName: 'canary' }),
    );
    appMesh.destroy();
    expect(route!.metadata!.version).toBe(4); // created, then one update per step
    expect(route!.spec!.httpRoute!.action!.weightedTargets).toEqual([
      { virtualNode: 'blue', weight: 0 },
      { virtualNode: 'green', weight: 100 },
    ]);
  }

  it('resumes a rollout from its persisted step after the control plane restarts', async () => {
    const first = await start();
    const id = await startRollout(first.httpUrl, 'restarted');
    const before = await until(first.httpUrl, 'restarted', id, inSecondStep);
    await stop(first);

    const second = await start();
    await expectFinishedOnce(second.httpUrl, 'restarted', id, before);
    await stop(second);
  });

  it('runs one scheduler across replicas; when its process stops, another replica continues', async () => {
    const replicas = [await start(), await start()];
    await eventually(() => expect(replicas.filter(isScheduler)).toHaveLength(1), 5000);
    const [owner] = replicas.filter(isScheduler);
    const [other] = replicas.filter((replica) => !isScheduler(replica));
    const db = new Client({ connectionString: postgres.url });
    await db.connect();
    const locks = await db.query<{ holders: number }>(
      `SELECT count(*)::int AS holders FROM pg_locks
       WHERE locktype = 'advisory' AND granted AND ((classid::bigint << 32) | objid::bigint) = 7152024003`,
    );
    await db.end();
    expect(locks.rows[0]!.holders).toBe(1);

    const id = await startRollout(other!.httpUrl, 'replicated');
    const before = await until(other!.httpUrl, 'replicated', id, inSecondStep);
    await stop(owner!);
    await expectFinishedOnce(other!.httpUrl, 'replicated', id, before);
    expect(isScheduler(other!)).toBe(true);
  });
});
