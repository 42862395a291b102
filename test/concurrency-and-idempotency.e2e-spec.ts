import {
  ConflictException,
  CreateMeshCommand,
  CreateRouteCommand,
  CreateVirtualNodeCommand,
  CreateVirtualRouterCommand,
  DescribeRouteCommand,
  LimitExceededException,
  UpdateMeshCommand,
  UpdateRouteCommand,
  type RouteSpec,
} from '@aws-sdk/client-app-mesh';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  CreateServiceCommand,
  ListInstancesCommand,
  RegisterInstanceCommand,
  type ServiceDiscoveryClient,
} from '@aws-sdk/client-servicediscovery';
import { RetentionJanitor } from '../apps/admin-api/src/retention-janitor';
import {
  meshContents,
  meshRevision,
  startTestControlPlane,
  TEST_ACCOUNT_ID,
  TEST_REGION,
  uniqueMeshName,
  type TestControlPlane,
} from './support/control-plane';
import {
  createHttpNamespace,
  createService,
  serviceDiscoveryClient,
  uniqueNamespaceName,
} from './support/registry';

const weights = (blue: number): RouteSpec => ({
  httpRoute: {
    match: { prefix: '/' },
    action: {
      weightedTargets: [
        { virtualNode: 'blue', weight: blue },
        { virtualNode: 'green', weight: 100 - blue },
      ],
    },
  },
});

describe('concurrent writers and retried requests', () => {
  let trellis: TestControlPlane;
  beforeAll(async () => {
    trellis = await startTestControlPlane({ TRELLIS_LIMIT_VIRTUAL_NODES_PER_MESH: '3' });
  });
  afterAll(() => trellis.close());

  async function meshWithRoute(): Promise<string> {
    const { appMesh } = trellis;
    const meshName = uniqueMeshName('race');
    await appMesh.send(new CreateMeshCommand({ meshName }));
    for (const virtualNodeName of ['blue', 'green']) {
      await appMesh.send(new CreateVirtualNodeCommand({ meshName, virtualNodeName, spec: {} }));
    }
    await appMesh.send(
      new CreateVirtualRouterCommand({
        meshName,
        virtualRouterName: 'web',
        spec: { listeners: [{ portMapping: { port: 80, protocol: 'http' } }] },
      }),
    );
    await appMesh.send(
      new CreateRouteCommand({
        meshName,
        virtualRouterName: 'web',
        routeName: 'canary',
        spec: weights(100),
      }),
    );
    return meshName;
  }

  it('50 parallel UpdateRoute calls lose no update: version 51 and 50 change rows', async () => {
    const meshName = await meshWithRoute();
    const revisionBefore = await meshRevision(trellis.db, meshName);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        trellis.appMesh.send(
          new UpdateRouteCommand({
            meshName,
            virtualRouterName: 'web',
            routeName: 'canary',
            spec: weights(i),
          }),
        ),
      ),
    );
    const versions = results
      .map((result) => result.route!.metadata!.version)
      .sort((a, b) => a! - b!);
    expect(versions).toEqual(Array.from({ length: 50 }, (_, i) => i + 2));

    const { route } = await trellis.appMesh.send(
      new DescribeRouteCommand({ meshName, virtualRouterName: 'web', routeName: 'canary' }),
    );
    expect(route!.metadata!.version).toBe(51);
    const changes = await trellis.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM change_log WHERE mesh_name = $1 AND kind = 'route' AND operation = 'UPDATE'`,
      [meshName],
    );
    expect(changes.rows[0]!.n).toBe(50);
    expect(await meshRevision(trellis.db, meshName)).toBe(revisionBefore + 50);
    // The stored spec is the one of the update that committed last.
    const last = await trellis.db.query<{ after: string }>(
      `SELECT after::text FROM change_log WHERE mesh_name = $1 ORDER BY revision DESC LIMIT 1`,
      [meshName],
    );
    expect((JSON.parse(last.rows[0]!.after) as { spec: unknown }).spec).toEqual(route!.spec);
  });

  it('20 parallel CreateVirtualNode calls with one name: 1 succeeds, 19 get ConflictException', async () => {
    const meshName = uniqueMeshName('race');
    await trellis.appMesh.send(new CreateMeshCommand({ meshName }));
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, () =>
        trellis.appMesh.send(
          new CreateVirtualNodeCommand({ meshName, virtualNodeName: 'only', spec: {} }),
        ),
      ),
    );
    const fulfilled = outcomes.filter((outcome) => outcome.status === 'fulfilled');
    const conflicts = outcomes.filter(
      (outcome) => outcome.status === 'rejected' && outcome.reason instanceof ConflictException,
    );
    expect(fulfilled).toHaveLength(1);
    expect(conflicts).toHaveLength(19);
    expect(await meshRevision(trellis.db, meshName)).toBe(2);
  });

  it('a retried UpdateRoute with the same client token returns the first answer and writes nothing', async () => {
    const meshName = await meshWithRoute();
    const request = {
      meshName,
      virtualRouterName: 'web',
      routeName: 'canary',
      spec: weights(70),
      clientToken: 'ci-run-42',
    };
    const first = await trellis.appMesh.send(new UpdateRouteCommand(request));
    const stored = await meshContents(trellis.db, meshName);

    const retried = await trellis.appMesh.send(new UpdateRouteCommand(request));
    expect(retried.route).toEqual(first.route);
    expect(await meshContents(trellis.db, meshName)).toEqual(stored);

    // The same token with another body is a different request.
    await expect(
      trellis.appMesh.send(new UpdateRouteCommand({ ...request, spec: weights(60) })),
    ).rejects.toBeInstanceOf(ConflictException);
    expect(await meshContents(trellis.db, meshName)).toEqual(stored);
  });

  it('parallel retries of one create with one client token: one write, the same answer for all', async () => {
    const meshName = uniqueMeshName('retry');
    const outcomes = await Promise.all(
      Array.from({ length: 5 }, () =>
        trellis.appMesh.send(
          new CreateMeshCommand({ meshName, clientToken: `create-${meshName}` }),
        ),
      ),
    );
    for (const outcome of outcomes) expect(outcome.mesh).toEqual(outcomes[0]!.mesh);
    expect(await meshRevision(trellis.db, meshName)).toBe(1);
  });

  it('answers the revision of the first write to a retried request', async () => {
    const meshName = uniqueMeshName('retry');
    const put = () =>
      fetch(`${trellis.httpUrl}/v20190125/meshes`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ meshName, clientToken: `token-${meshName}` }),
      });
    const first = await put();
    const second = await put();
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(second.headers.get('x-trellis-mesh-revision')).toBe(
      first.headers.get('x-trellis-mesh-revision'),
    );
    expect(await second.json()).toEqual(await first.json());
  });

  it('refuses the resource past a configured limit with LimitExceededException', async () => {
    const meshName = uniqueMeshName('limit');
    await trellis.appMesh.send(new CreateMeshCommand({ meshName }));
    for (const virtualNodeName of ['a', 'b', 'c']) {
      await trellis.appMesh.send(
        new CreateVirtualNodeCommand({ meshName, virtualNodeName, spec: {} }),
      );
    }
    const before = await meshContents(trellis.db, meshName);
    const error = await trellis.appMesh
      .send(new CreateVirtualNodeCommand({ meshName, virtualNodeName: 'd', spec: {} }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LimitExceededException);
    expect((error as Error).message).toBe(
      `The limit of 3 virtualNodes in mesh ${meshName} is reached`,
    );
    expect(await meshContents(trellis.db, meshName)).toEqual(before);
  });
});

describe('client token retention', () => {
  it('forgets tokens after 24 hours, so the same token then starts a new request', async () => {
    const trellis = await startTestControlPlane();
    try {
      const meshName = uniqueMeshName('janitor');
      const clientToken = `old-${meshName}`;
      await trellis.appMesh.send(new CreateMeshCommand({ meshName, clientToken }));
      await trellis.db.query(
        `UPDATE client_token SET created_at = now() - interval '25 hours' WHERE token = $1`,
        [clientToken],
      );
      await trellis.app.get(RetentionJanitor).purge();

      // The token is free again: reusing it for another request is no longer a conflict.
      const { mesh } = await trellis.appMesh.send(
        new UpdateMeshCommand({ meshName, spec: {}, clientToken }),
      );
      expect(mesh!.metadata!.version).toBe(2);
    } finally {
      await trellis.close();
    }
  });
});

describe('concurrent writers on the registry and the certificate store', () => {
  let trellis: TestControlPlane;
  let cloudMap: ServiceDiscoveryClient;
  const masterKey = Buffer.alloc(32, 5).toString('base64');

  beforeAll(async () => {
    trellis = await startTestControlPlane({ TRELLIS_MASTER_KEY: masterKey });
    cloudMap = serviceDiscoveryClient(trellis.httpUrl);
  });
  afterAll(async () => {
    cloudMap.destroy();
    await trellis.close();
  });

  async function serviceRevision(serviceId: string): Promise<number> {
    const { rows } = await trellis.db.query<{ revision: string }>(
      'SELECT revision FROM registry_service WHERE id = $1',
      [serviceId],
    );
    return Number(rows[0]!.revision);
  }

  const registration = (ServiceId: string, InstanceId: string, CreatorRequestId?: string) =>
    new RegisterInstanceCommand({
      ServiceId,
      InstanceId,
      CreatorRequestId,
      Attributes: { AWS_INSTANCE_IPV4: '10.1.2.3', AWS_INSTANCE_PORT: '8080' },
    });

  it('50 parallel RegisterInstance calls on one service lose none: 50 instances, 50 revisions', async () => {
    const namespaceId = await createHttpNamespace(cloudMap, uniqueNamespaceName('race'));
    const serviceId = await createService(cloudMap, namespaceId, 'tasks');
    const before = await serviceRevision(serviceId);
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => cloudMap.send(registration(serviceId, `task-${i}`))),
    );
    expect(new Set(answers.map((answer) => answer.OperationId)).size).toBe(50);
    const { Instances } = await cloudMap.send(
      new ListInstancesCommand({ ServiceId: serviceId, MaxResults: 100 }),
    );
    expect(Instances).toHaveLength(50);
    expect(await serviceRevision(serviceId)).toBe(before + 50);
    const { rows } = await trellis.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM registry_change WHERE service_id = $1 AND instance_id IS NOT NULL',
      [serviceId],
    );
    expect(rows[0]!.n).toBe(50);
  });

  it('50 parallel retries of one RegisterInstance (one CreatorRequestId): one write, one answer', async () => {
    const namespaceId = await createHttpNamespace(cloudMap, uniqueNamespaceName('retry'));
    const serviceId = await createService(cloudMap, namespaceId, 'tasks');
    const before = await serviceRevision(serviceId);
    const answers = await Promise.all(
      Array.from({ length: 50 }, () =>
        cloudMap.send(registration(serviceId, 'task-0', 'ecs-task-start-1')),
      ),
    );
    expect(new Set(answers.map((answer) => answer.OperationId)).size).toBe(1);
    expect(await serviceRevision(serviceId)).toBe(before + 1);
  });

  it('20 parallel CreateService calls with one name: 1 succeeds, 19 get ServiceAlreadyExists', async () => {
    const namespaceId = await createHttpNamespace(cloudMap, uniqueNamespaceName('dup'));
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, () =>
        cloudMap.send(new CreateServiceCommand({ NamespaceId: namespaceId, Name: 'orders' })),
      ),
    );
    const failures = outcomes.flatMap((outcome) =>
      outcome.status === 'rejected' ? [(outcome.reason as Error).name] : [],
    );
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
    expect(failures).toEqual(Array.from({ length: 19 }, () => 'ServiceAlreadyExists'));
  });

  it('50 parallel imports under one certificate ARN: one creates it, the rest replace it, one row stays', async () => {
    const arn = `arn:aws:acm:${TEST_REGION}:${TEST_ACCOUNT_ID}:certificate/race-${Date.now()}`;
    const certificates = path.join(__dirname, 'fixtures', 'certificates');
    const body = JSON.stringify({
      certificateArn: arn,
      certificate: readFileSync(path.join(certificates, 'colorteller.pem'), 'utf8'),
      privateKey: readFileSync(path.join(certificates, 'colorteller.key'), 'utf8'),
    });
    const statuses = await Promise.all(
      Array.from({ length: 50 }, async () => {
        const response = await fetch(`${trellis.httpUrl}/v1/certificates`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        await response.arrayBuffer();
        return response.status;
      }),
    );
    expect(statuses.filter((status) => status === 201)).toHaveLength(1);
    expect(statuses.filter((status) => status === 200)).toHaveLength(49);
    const { rows } = await trellis.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM certificate WHERE arn = $1',
      [arn],
    );
    expect(rows[0]!.n).toBe(1);
    const stored = await fetch(`${trellis.httpUrl}/v1/certificates/${encodeURIComponent(arn)}`);
    expect(stored.status).toBe(200);
  });
});
