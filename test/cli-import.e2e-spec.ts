import { randomUUID } from 'node:crypto';
import {
  CreateMeshCommand,
  CreateRouteCommand,
  CreateVirtualNodeCommand,
  CreateVirtualRouterCommand,
  CreateVirtualServiceCommand,
  DescribeMeshCommand,
  DescribeRouteCommand,
  DescribeVirtualNodeCommand,
  DescribeVirtualServiceCommand,
  ListTagsForResourceCommand,
  UpdateRouteCommand,
} from '@aws-sdk/client-app-mesh';
import { Client } from 'pg';
import {
  meshRevision,
  startTestControlPlane,
  uniqueMeshName,
  type TestControlPlane,
} from './support/control-plane';
import { trellis, type CliRun } from './support/cli';
import { weightedHttpRoute } from './support/mesh';

/**
 * `trellis import` copies a mesh between two Trellis installations — two control planes on two
 * databases — through the App Mesh API, as it would copy one from AWS App Mesh.
 */

/** More virtual nodes than one page of ListVirtualNodes (100) holds. */
const VIRTUAL_NODES = 105;

function trellisImport(args: string[]): Promise<CliRun> {
  return trellis(['import', ...args], {
    AWS_ACCESS_KEY_ID: 'AKIDMIGRATION',
    AWS_SECRET_ACCESS_KEY: 'not-checked',
    AWS_REGION: 'eu-west-1',
    // The AWS SDK warns on Node 20 that its 2027 releases need Node 22; not the CLI's message.
    NODE_NO_WARNINGS: '1',
  });
}

describe('trellis import', () => {
  let source: TestControlPlane;
  let destination: TestControlPlane;
  let databaseName: string;

  beforeAll(async () => {
    // A second database in the test run's Postgres, for the second installation.
    databaseName = `trellis_import_${randomUUID().slice(0, 8)}`;
    const admin = new Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${databaseName}`);
    await admin.end();
    const url = new URL(process.env.DATABASE_URL!);
    url.pathname = `/${databaseName}`;
    [source, destination] = await Promise.all([
      startTestControlPlane({ TRELLIS_ROLES: 'admin' }),
      startTestControlPlane({ TRELLIS_ROLES: 'admin', DATABASE_URL: url.toString() }),
    ]);
  }, 120_000);
  afterAll(async () => {
    await Promise.all([source?.close(), destination?.close()]);
    const admin = new Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${databaseName}`);
    await admin.end();
  });

  it('copies every resource over several pages, then finds nothing to change, then copies an update', async () => {
    const meshName = uniqueMeshName('import');
    const appMesh = source.appMesh;
    await appMesh.send(
      new CreateMeshCommand({
        meshName,
        spec: { egressFilter: { type: 'ALLOW_ALL' } },
        tags: [{ key: 'team', value: 'payments' }],
      }),
    );
    for (let i = 0; i < VIRTUAL_NODES; i++) {
      await appMesh.send(
        new CreateVirtualNodeCommand({
          meshName,
          virtualNodeName: `node-${String(i).padStart(3, '0')}`,
          spec: {
            listeners: [{ portMapping: { port: 8080, protocol: 'http' } }],
            serviceDiscovery: { dns: { hostname: `node-${i}.${meshName}.local` } },
            backends: [{ virtualService: { virtualServiceName: 'api.local' } }],
          },
          tags: i === 0 ? [{ key: 'tier', value: 'front' }] : undefined,
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
    for (const [routeName, weights] of [
      ['canary', { 'node-001': 90, 'node-002': 10 }],
      ['stable', { 'node-003': 100 }],
    ] as const) {
      await appMesh.send(
        new CreateRouteCommand({
          meshName,
          virtualRouterName: 'api',
          routeName,
          spec: { ...weightedHttpRoute(weights), priority: routeName === 'canary' ? 1 : 2 },
        }),
      );
    }
    await appMesh.send(
      new CreateVirtualServiceCommand({
        meshName,
        virtualServiceName: 'api.local',
        spec: { provider: { virtualRouter: { virtualRouterName: 'api' } } },
      }),
    );
    await appMesh.send(
      new CreateVirtualServiceCommand({
        meshName,
        virtualServiceName: 'front.local',
        spec: { provider: { virtualNode: { virtualNodeName: 'node-000' } } },
      }),
    );
    const total = 1 + VIRTUAL_NODES + 1 + 2 + 2;
    const args = ['--mesh', meshName, '--from', source.httpUrl, '--to', destination.httpUrl];

    const first = await trellisImport(args);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(
      `Mesh ${meshName}: ${total} resources read, ${total} created, 0 updated, 0 unchanged.`,
    );
    expect(first.stdout).toContain('created   route api/canary');

    // What the destination serves is what the source has, tags included.
    const copy = destination.appMesh;
    for (const read of [
      (c: typeof copy) => c.send(new DescribeMeshCommand({ meshName })).then((o) => o.mesh?.spec),
      (c: typeof copy) =>
        c
          .send(new DescribeVirtualNodeCommand({ meshName, virtualNodeName: 'node-104' }))
          .then((o) => o.virtualNode?.spec),
      (c: typeof copy) =>
        c
          .send(
            new DescribeRouteCommand({ meshName, virtualRouterName: 'api', routeName: 'canary' }),
          )
          .then((o) => o.route?.spec),
      (c: typeof copy) =>
        c
          .send(new DescribeVirtualServiceCommand({ meshName, virtualServiceName: 'front.local' }))
          .then((o) => o.virtualService?.spec),
    ]) {
      expect(await read(copy)).toEqual(await read(appMesh));
    }
    const node = await copy.send(
      new DescribeVirtualNodeCommand({ meshName, virtualNodeName: 'node-000' }),
    );
    const tags = await copy.send(
      new ListTagsForResourceCommand({ resourceArn: node.virtualNode!.metadata!.arn }),
    );
    expect(tags.tags).toEqual([{ key: 'tier', value: 'front' }]);

    // Run again: nothing changes, not even the destination's mesh revision.
    const revision = await meshRevision(destination.db, meshName);
    const second = await trellisImport(args);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(
      `Mesh ${meshName}: ${total} resources read, 0 created, 0 updated, ${total} unchanged.`,
    );
    expect(await meshRevision(destination.db, meshName)).toBe(revision);

    // A weight shifted at the source is copied as one update.
    await appMesh.send(
      new UpdateRouteCommand({
        meshName,
        virtualRouterName: 'api',
        routeName: 'canary',
        spec: { ...weightedHttpRoute({ 'node-001': 50, 'node-002': 50 }), priority: 1 },
      }),
    );
    const third = await trellisImport([...args, '--output', 'json']);
    expect(third.code).toBe(0);
    const report = JSON.parse(third.stdout) as {
      resources: Array<{ kind: string; name: string; outcome: string }>;
    };
    expect(report.resources.filter((r) => r.outcome !== 'unchanged')).toEqual([
      { kind: 'route', name: 'api/canary', outcome: 'updated' },
    ]);
  }, 180_000);

  it('fails with the App Mesh error when the mesh does not exist at the source', async () => {
    const result = await trellisImport([
      '--mesh',
      'no-such-mesh',
      '--from',
      source.httpUrl,
      '--to',
      destination.httpUrl,
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^NotFoundException: Mesh with name no-such-mesh/m);
  });
});
