import {
  CreateHttpNamespaceCommand,
  CreatePrivateDnsNamespaceCommand,
  CreatePublicDnsNamespaceCommand,
  CreateServiceCommand,
  DeleteNamespaceCommand,
  DeleteServiceCommand,
  DeregisterInstanceCommand,
  DiscoverInstancesCommand,
  DiscoverInstancesRevisionCommand,
  GetInstanceCommand,
  GetInstancesHealthStatusCommand,
  GetNamespaceCommand,
  GetOperationCommand,
  GetServiceCommand,
  ListNamespacesCommand,
  ListOperationsCommand,
  ListServicesCommand,
  ListTagsForResourceCommand,
  paginateListInstances,
  paginateListNamespaces,
  ListInstancesCommand,
  RegisterInstanceCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateHttpNamespaceCommand,
  UpdateInstanceCustomHealthStatusCommand,
  UpdatePrivateDnsNamespaceCommand,
  UpdatePublicDnsNamespaceCommand,
  UpdateServiceCommand,
  type ServiceDiscoveryClient,
} from '@aws-sdk/client-servicediscovery';
import { RetentionJanitor } from '../apps/admin-api/src/retention-janitor';
import {
  startTestControlPlane,
  TEST_ACCOUNT_ID,
  TEST_REGION,
  type TestControlPlane,
} from './support/control-plane';
import {
  createHttpNamespace,
  createService,
  serviceDiscoveryClient,
  uniqueNamespaceName,
} from './support/registry';

/** The error a call fails with: its name (from `__type`) and HTTP status. */
async function failure(
  call: Promise<unknown>,
): Promise<{ name: string; status?: number; message: string; error: Record<string, unknown> }> {
  try {
    await call;
  } catch (error) {
    const e = error as Error & { $metadata?: { httpStatusCode?: number } };
    return {
      name: e.name,
      status: e.$metadata?.httpStatusCode,
      message: e.message,
      error: e as never,
    };
  }
  throw new Error('expected the call to fail');
}

describe('Cloud Map API through @aws-sdk/client-servicediscovery', () => {
  let controlPlane: TestControlPlane;
  let client: ServiceDiscoveryClient;

  beforeAll(async () => {
    controlPlane = await startTestControlPlane();
    client = serviceDiscoveryClient(controlPlane.httpUrl);
  });

  afterAll(async () => {
    client.destroy();
    await controlPlane.close();
  });

  it('creates an HTTP namespace through an operation that reports SUCCESS, and reads it back', async () => {
    const name = uniqueNamespaceName('http');
    const { OperationId } = await client.send(
      new CreateHttpNamespaceCommand({
        Name: name,
        Description: 'shop',
        Tags: [{ Key: 'team', Value: 'a' }],
      }),
    );
    const { Operation } = await client.send(new GetOperationCommand({ OperationId }));
    expect(Operation).toMatchObject({
      Id: OperationId,
      Type: 'CREATE_NAMESPACE',
      Status: 'SUCCESS',
    });
    expect(Operation!.CreateDate).toBeInstanceOf(Date);
    const id = Operation!.Targets!.NAMESPACE!;
    expect(id).toMatch(/^ns-[a-z2-7]{16}$/);

    const { Namespace } = await client.send(new GetNamespaceCommand({ Id: id }));
    expect(Namespace).toMatchObject({
      Id: id,
      Arn: `arn:aws:servicediscovery:${TEST_REGION}:${TEST_ACCOUNT_ID}:namespace/${id}`,
      Name: name,
      Type: 'HTTP',
      Description: 'shop',
      ServiceCount: 0,
      Properties: { HttpProperties: { HttpName: name } },
    });
    expect(Namespace!.CreateDate).toBeInstanceOf(Date);
    const { Tags } = await client.send(
      new ListTagsForResourceCommand({ ResourceARN: Namespace!.Arn }),
    );
    expect(Tags).toEqual([{ Key: 'team', Value: 'a' }]);

    await client.send(
      new UpdateHttpNamespaceCommand({ Id: id, Namespace: { Description: 'shop v2' } }),
    );
    expect((await client.send(new GetNamespaceCommand({ Id: id }))).Namespace!.Description).toBe(
      'shop v2',
    );

    const again = await failure(client.send(new CreateHttpNamespaceCommand({ Name: name })));
    expect(again).toMatchObject({ name: 'NamespaceAlreadyExists', status: 400 });
    expect(again.error.NamespaceId).toBe(id);
  });

  it('stores private and public DNS namespaces with their SOA and updates them', async () => {
    const privateName = uniqueNamespaceName('private');
    const created = await client.send(
      new CreatePrivateDnsNamespaceCommand({
        Name: privateName,
        Vpc: 'vpc-0123',
        Properties: { DnsProperties: { SOA: { TTL: 60 } } },
      }),
    );
    const privateId = (
      await client.send(new GetOperationCommand({ OperationId: created.OperationId }))
    ).Operation!.Targets!.NAMESPACE!;
    await client.send(
      new UpdatePrivateDnsNamespaceCommand({
        Id: privateId,
        Namespace: { Properties: { DnsProperties: { SOA: { TTL: 120 } } } },
      }),
    );
    expect((await client.send(new GetNamespaceCommand({ Id: privateId }))).Namespace).toMatchObject(
      {
        Type: 'DNS_PRIVATE',
        Properties: { DnsProperties: { SOA: { TTL: 120 } } },
      },
    );

    const publicName = `public-${privateName.slice(8, 16)}.example.com`;
    const publicOp = await client.send(new CreatePublicDnsNamespaceCommand({ Name: publicName }));
    const publicId = (
      await client.send(new GetOperationCommand({ OperationId: publicOp.OperationId }))
    ).Operation!.Targets!.NAMESPACE!;
    await client.send(
      new UpdatePublicDnsNamespaceCommand({ Id: publicId, Namespace: { Description: 'edge' } }),
    );
    expect((await client.send(new GetNamespaceCommand({ Id: publicId }))).Namespace).toMatchObject({
      Type: 'DNS_PUBLIC',
      Description: 'edge',
    });

    const listed = await client.send(
      new ListNamespacesCommand({
        Filters: [{ Name: 'NAME', Values: [publicName], Condition: 'EQ' }],
      }),
    );
    expect(listed.Namespaces!.map((n) => n.Id)).toEqual([publicId]);
    const byType = await client.send(
      new ListNamespacesCommand({
        Filters: [{ Name: 'TYPE', Values: ['DNS_PRIVATE'], Condition: 'IN' }],
        MaxResults: 100,
      }),
    );
    expect(byType.Namespaces!.every((n) => n.Type === 'DNS_PRIVATE')).toBe(true);
    expect(byType.Namespaces!.map((n) => n.Id)).toContain(privateId);

    // A DNS namespace's services need DNS records unless they are HTTP-only.
    const noRecords = await failure(
      client.send(new CreateServiceCommand({ NamespaceId: privateId, Name: 'api' })),
    );
    expect(noRecords).toMatchObject({ name: 'InvalidInput', status: 400 });
    expect(noRecords.message).toContain('DnsConfig');
    const { Service } = await client.send(
      new CreateServiceCommand({
        NamespaceId: privateId,
        Name: 'api',
        DnsConfig: { DnsRecords: [{ Type: 'A', TTL: 30 }] },
      }),
    );
    expect(Service).toMatchObject({
      Type: 'DNS_HTTP',
      DnsConfig: { DnsRecords: [{ Type: 'A', TTL: 30 }] },
    });
    const noAddress = await failure(
      client.send(
        new RegisterInstanceCommand({
          ServiceId: Service!.Id,
          InstanceId: 'i-1',
          Attributes: { AWS_INSTANCE_PORT: '80' },
        }),
      ),
    );
    expect(noAddress).toMatchObject({ name: 'InvalidInput', status: 400 });
    expect(noAddress.message).toContain('AWS_INSTANCE_IPV4');
  });

  it('pages through namespaces with the SDK paginator', async () => {
    const prefix = uniqueNamespaceName('page').slice(0, 13);
    const ids = new Set<string>();
    for (let i = 0; i < 3; i++) ids.add(await createHttpNamespace(client, `${prefix}-${i}`));
    const seen: string[] = [];
    let pages = 0;
    for await (const page of paginateListNamespaces(
      { client, pageSize: 2 },
      { Filters: [{ Name: 'NAME', Values: [prefix], Condition: 'BEGINS_WITH' }] },
    )) {
      pages++;
      seen.push(...page.Namespaces!.map((n) => n.Id!));
    }
    expect(pages).toBe(2);
    expect(new Set(seen)).toEqual(ids);
    expect(seen).toHaveLength(3);
  });

  it('makes a create with the same CreatorRequestId answer the same, and refuses it for another request', async () => {
    const name = uniqueNamespaceName('idem');
    const first = await client.send(
      new CreateHttpNamespaceCommand({ Name: name, CreatorRequestId: `req-${name}` }),
    );
    const retry = await client.send(
      new CreateHttpNamespaceCommand({ Name: name, CreatorRequestId: `req-${name}` }),
    );
    expect(retry.OperationId).toBe(first.OperationId);
    const other = await failure(
      client.send(
        new CreateHttpNamespaceCommand({ Name: `other-${name}`, CreatorRequestId: `req-${name}` }),
      ),
    );
    expect(other).toMatchObject({ name: 'DuplicateRequest', status: 400 });
    expect(other.error.DuplicateOperationId).toBe(first.OperationId);

    const namespaceId = (
      await client.send(new GetOperationCommand({ OperationId: first.OperationId }))
    ).Operation!.Targets!.NAMESPACE!;
    const service = await client.send(
      new CreateServiceCommand({
        NamespaceId: namespaceId,
        Name: 'web',
        CreatorRequestId: `svc-${name}`,
      }),
    );
    const serviceRetry = await client.send(
      new CreateServiceCommand({
        NamespaceId: namespaceId,
        Name: 'web',
        CreatorRequestId: `svc-${name}`,
      }),
    );
    expect(serviceRetry.Service!.Id).toBe(service.Service!.Id);
    const duplicate = await failure(
      client.send(new CreateServiceCommand({ NamespaceId: namespaceId, Name: 'web' })),
    );
    expect(duplicate).toMatchObject({ name: 'ServiceAlreadyExists', status: 400 });
    expect(duplicate.error.ServiceId).toBe(service.Service!.Id);

    const register = {
      ServiceId: service.Service!.Id,
      InstanceId: 'i-1',
      Attributes: { AWS_INSTANCE_IPV4: '10.0.0.1' },
      CreatorRequestId: `reg-${name}`,
    };
    const registered = await client.send(new RegisterInstanceCommand(register));
    expect((await client.send(new RegisterInstanceCommand(register))).OperationId).toBe(
      registered.OperationId,
    );
    const changed = await failure(
      client.send(
        new RegisterInstanceCommand({ ...register, Attributes: { AWS_INSTANCE_IPV4: '10.0.0.2' } }),
      ),
    );
    expect(changed).toMatchObject({ name: 'DuplicateRequest', status: 400 });
    expect(changed.error.DuplicateOperationId).toBe(registered.OperationId);
  });

  it('registers, discovers, health-checks and deregisters instances', async () => {
    const namespaceName = uniqueNamespaceName('shop');
    const namespaceId = await createHttpNamespace(client, namespaceName);
    const serviceId = await createService(client, namespaceId, 'cart');
    const { Service } = await client.send(new GetServiceCommand({ Id: serviceId }));
    expect(Service).toMatchObject({
      Id: serviceId,
      Name: 'cart',
      NamespaceId: namespaceId,
      Type: 'HTTP',
      InstanceCount: 0,
      HealthCheckCustomConfig: { FailureThreshold: 1 },
      Arn: `arn:aws:servicediscovery:${TEST_REGION}:${TEST_ACCOUNT_ID}:service/${serviceId}`,
    });
    const listed = await client.send(
      new ListServicesCommand({
        Filters: [{ Name: 'NAMESPACE_ID', Values: [namespaceId], Condition: 'EQ' }],
      }),
    );
    expect(listed.Services!.map((s) => s.Name)).toEqual(['cart']);

    const register = (id: string, ip: string, version: string) =>
      client.send(
        new RegisterInstanceCommand({
          ServiceId: serviceId,
          InstanceId: id,
          Attributes: { AWS_INSTANCE_IPV4: ip, AWS_INSTANCE_PORT: '8080', version },
        }),
      );
    const revision0 = (
      await client.send(
        new DiscoverInstancesRevisionCommand({ NamespaceName: namespaceName, ServiceName: 'cart' }),
      )
    ).InstancesRevision!;
    const { OperationId } = await register('blue-1', '10.0.0.1', 'blue');
    expect((await client.send(new GetOperationCommand({ OperationId }))).Operation).toMatchObject({
      Type: 'REGISTER_INSTANCE',
      Status: 'SUCCESS',
      Targets: { INSTANCE: 'blue-1', SERVICE: serviceId },
    });
    await register('green-1', '10.0.0.2', 'green');
    await register('green-2', '10.0.0.3', 'green');
    // Re-registering replaces the attributes.
    await register('green-2', '10.0.0.4', 'green');
    expect(
      (await client.send(new GetInstanceCommand({ ServiceId: serviceId, InstanceId: 'green-2' })))
        .Instance,
    ).toEqual({
      Id: 'green-2',
      CreatorRequestId: expect.any(String),
      Attributes: { AWS_INSTANCE_IPV4: '10.0.0.4', AWS_INSTANCE_PORT: '8080', version: 'green' },
    });
    const revision1 = (
      await client.send(
        new DiscoverInstancesRevisionCommand({ NamespaceName: namespaceName, ServiceName: 'cart' }),
      )
    ).InstancesRevision!;
    expect(revision1).toBeGreaterThan(revision0);

    const ids: string[] = [];
    for await (const page of paginateListInstances(
      { client, pageSize: 2 },
      { ServiceId: serviceId },
    )) {
      ids.push(...page.Instances!.map((i) => i.Id!));
    }
    expect(ids).toEqual(['blue-1', 'green-1', 'green-2']);

    const discover = async (
      input: Partial<ConstructorParameters<typeof DiscoverInstancesCommand>[0]>,
    ) =>
      (
        await client.send(
          new DiscoverInstancesCommand({
            NamespaceName: namespaceName,
            ServiceName: 'cart',
            ...input,
          }),
        )
      ).Instances!.map((i) => `${i.InstanceId}:${i.HealthStatus}`);
    expect(await discover({ QueryParameters: { version: 'green' } })).toEqual([
      'green-1:HEALTHY',
      'green-2:HEALTHY',
    ]);
    expect(await discover({ OptionalParameters: { version: 'blue' } })).toEqual(['blue-1:HEALTHY']);
    expect(await discover({ OptionalParameters: { version: 'red' } })).toHaveLength(3);
    expect(await discover({ MaxResults: 1 })).toHaveLength(1);

    await client.send(
      new UpdateInstanceCustomHealthStatusCommand({
        ServiceId: serviceId,
        InstanceId: 'green-1',
        Status: 'UNHEALTHY',
      }),
    );
    expect(await discover({ QueryParameters: { version: 'green' } })).toEqual(['green-2:HEALTHY']);
    expect(await discover({ HealthStatus: 'UNHEALTHY' })).toEqual(['green-1:UNHEALTHY']);
    expect(await discover({ HealthStatus: 'ALL' })).toHaveLength(3);
    const health = await client.send(new GetInstancesHealthStatusCommand({ ServiceId: serviceId }));
    expect(health.Status).toEqual({
      'blue-1': 'HEALTHY',
      'green-1': 'UNHEALTHY',
      'green-2': 'HEALTHY',
    });
    const some = await client.send(
      new GetInstancesHealthStatusCommand({ ServiceId: serviceId, Instances: ['green-1'] }),
    );
    expect(some.Status).toEqual({ 'green-1': 'UNHEALTHY' });
    await client.send(
      new UpdateInstanceCustomHealthStatusCommand({
        ServiceId: serviceId,
        InstanceId: 'blue-1',
        Status: 'UNHEALTHY',
      }),
    );
    await client.send(
      new UpdateInstanceCustomHealthStatusCommand({
        ServiceId: serviceId,
        InstanceId: 'green-2',
        Status: 'UNHEALTHY',
      }),
    );
    expect(await discover({ HealthStatus: 'HEALTHY_OR_ELSE_ALL' })).toHaveLength(3);
    expect(await discover({ HealthStatus: 'HEALTHY' })).toEqual([]);

    const inUse = await failure(client.send(new DeleteServiceCommand({ Id: serviceId })));
    expect(inUse).toMatchObject({ name: 'ResourceInUse', status: 400 });
    const namespaceInUse = await failure(
      client.send(new DeleteNamespaceCommand({ Id: namespaceId })),
    );
    expect(namespaceInUse).toMatchObject({ name: 'ResourceInUse', status: 400 });

    for (const id of ['blue-1', 'green-1', 'green-2']) {
      const { OperationId: deregistered } = await client.send(
        new DeregisterInstanceCommand({ ServiceId: serviceId, InstanceId: id }),
      );
      expect(
        (await client.send(new GetOperationCommand({ OperationId: deregistered }))).Operation!.Type,
      ).toBe('DEREGISTER_INSTANCE');
    }
    expect(
      await failure(
        client.send(new GetInstanceCommand({ ServiceId: serviceId, InstanceId: 'blue-1' })),
      ),
    ).toMatchObject({
      name: 'InstanceNotFound',
      status: 400,
    });
    const operations = await client.send(
      new ListOperationsCommand({
        Filters: [
          { Name: 'SERVICE_ID', Values: [serviceId], Condition: 'EQ' },
          { Name: 'TYPE', Values: ['DEREGISTER_INSTANCE'], Condition: 'IN' },
          { Name: 'STATUS', Values: ['SUCCESS'], Condition: 'EQ' },
        ],
      }),
    );
    expect(operations.Operations).toHaveLength(3);
    expect(operations.Operations!.every((o) => o.Status === 'SUCCESS')).toBe(true);

    await client.send(
      new UpdateServiceCommand({ Id: serviceId, Service: { Description: 'carts' } }),
    );
    expect((await client.send(new GetServiceCommand({ Id: serviceId }))).Service!.Description).toBe(
      'carts',
    );
    await client.send(new DeleteServiceCommand({ Id: serviceId }));
    expect(await failure(client.send(new GetServiceCommand({ Id: serviceId })))).toMatchObject({
      name: 'ServiceNotFound',
      status: 400,
    });
    const { OperationId: deleted } = await client.send(
      new DeleteNamespaceCommand({ Id: namespaceId }),
    );
    expect(
      (await client.send(new GetOperationCommand({ OperationId: deleted }))).Operation!.Type,
    ).toBe('DELETE_NAMESPACE');
    expect(await failure(client.send(new GetNamespaceCommand({ Id: namespaceId })))).toMatchObject({
      name: 'NamespaceNotFound',
      status: 400,
    });
  });

  it('reports a service without custom health checks as UNKNOWN and refuses to set its health', async () => {
    const namespaceName = uniqueNamespaceName('plain');
    const namespaceId = await createHttpNamespace(client, namespaceName);
    const { Service } = await client.send(
      new CreateServiceCommand({ NamespaceId: namespaceId, Name: 'plain' }),
    );
    await client.send(
      new RegisterInstanceCommand({
        ServiceId: Service!.Id,
        InstanceId: 'a',
        Attributes: { AWS_INSTANCE_IPV4: '10.1.0.1' },
      }),
    );
    const { Instances } = await client.send(
      new DiscoverInstancesCommand({
        NamespaceName: namespaceName,
        ServiceName: 'plain',
        HealthStatus: 'UNHEALTHY',
      }),
    );
    expect(Instances!.map((i) => i.HealthStatus)).toEqual(['UNKNOWN']);
    const refused = await failure(
      client.send(
        new UpdateInstanceCustomHealthStatusCommand({
          ServiceId: Service!.Id,
          InstanceId: 'a',
          Status: 'UNHEALTHY',
        }),
      ),
    );
    expect(refused).toMatchObject({ name: 'CustomHealthNotFound', status: 400 });
    expect(
      await failure(
        client.send(
          new DiscoverInstancesCommand({ NamespaceName: namespaceName, ServiceName: 'nope' }),
        ),
      ),
    ).toMatchObject({
      name: 'ServiceNotFound',
    });
    expect(
      await failure(
        client.send(
          new DiscoverInstancesCommand({
            NamespaceName: `x${namespaceName}`,
            ServiceName: 'plain',
          }),
        ),
      ),
    ).toMatchObject({
      name: 'NamespaceNotFound',
    });
  });

  it('tags and untags namespaces and services by ARN', async () => {
    const namespaceId = await createHttpNamespace(client, uniqueNamespaceName('tags'));
    const serviceId = await createService(client, namespaceId, 'svc');
    const arn = (await client.send(new GetServiceCommand({ Id: serviceId }))).Service!.Arn!;
    await client.send(
      new TagResourceCommand({
        ResourceARN: arn,
        Tags: [
          { Key: 'a', Value: '1' },
          { Key: 'b', Value: '2' },
        ],
      }),
    );
    await client.send(
      new TagResourceCommand({ ResourceARN: arn, Tags: [{ Key: 'a', Value: '3' }] }),
    );
    await client.send(new UntagResourceCommand({ ResourceARN: arn, TagKeys: ['b'] }));
    expect((await client.send(new ListTagsForResourceCommand({ ResourceARN: arn }))).Tags).toEqual([
      { Key: 'a', Value: '3' },
    ]);
    const missing = await failure(
      client.send(new ListTagsForResourceCommand({ ResourceARN: `${arn}x` })),
    );
    expect(missing).toMatchObject({ name: 'ResourceNotFoundException', status: 400 });
    const tooMany = await failure(
      client.send(
        new TagResourceCommand({
          ResourceARN: arn,
          Tags: Array.from({ length: 200 }, (_, i) => ({ Key: `k${i}`, Value: 'v' })),
        }),
      ),
    );
    expect(tooMany).toMatchObject({ name: 'TooManyTagsException', status: 400 });
    expect(tooMany.error.ResourceName).toBe(arn);
  });

  it('answers a missing operation with OperationNotFound and an unknown target with UnknownOperationException', async () => {
    expect(
      await failure(client.send(new GetOperationCommand({ OperationId: 'nope' }))),
    ).toMatchObject({
      name: 'OperationNotFound',
      status: 400,
    });
    const response = await fetch(controlPlane.httpUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'Route53AutoNaming_v20170314.Explode',
      },
      body: '{}',
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('x-amzn-errortype')).toBe('UnknownOperationException');
    expect(await response.json()).toMatchObject({ __type: 'UnknownOperationException' });
  });

  it('forgets operations and change-log rows past TRELLIS_REGISTRY_HISTORY_DAYS, and only those', async () => {
    const namespaceId = await createHttpNamespace(client, uniqueNamespaceName('retention'));
    const serviceId = await createService(client, namespaceId, 'kept');
    const register = (InstanceId: string) =>
      client.send(
        new RegisterInstanceCommand({
          ServiceId: serviceId,
          InstanceId,
          Attributes: { AWS_INSTANCE_IPV4: '10.0.0.7' },
        }),
      );
    const old = await register('old');
    const recent = await register('recent');
    // Eight days ago, past the default seven.
    await controlPlane.db.query(
      `UPDATE registry_operation SET updated_at = now() - interval '8 days' WHERE id = $1`,
      [old.OperationId],
    );
    await controlPlane.db.query(
      `UPDATE registry_change SET created_at = now() - interval '8 days'
       WHERE service_id = $1 AND instance_id = 'old'`,
      [serviceId],
    );

    await controlPlane.app.get(RetentionJanitor).purge();

    expect(
      await failure(client.send(new GetOperationCommand({ OperationId: old.OperationId }))),
    ).toMatchObject({ name: 'OperationNotFound' });
    const { Operation } = await client.send(
      new GetOperationCommand({ OperationId: recent.OperationId }),
    );
    expect(Operation?.Status).toBe('SUCCESS');
    const { rows } = await controlPlane.db.query<{ instance_id: string }>(
      'SELECT instance_id FROM registry_change WHERE service_id = $1 ORDER BY revision',
      [serviceId],
    );
    // The service's creation (no instance) and the recent registration stay.
    expect(rows.map((row) => row.instance_id)).toEqual([null, 'recent']);
    // The instances themselves are registry state, not history: both stay.
    const { Instances } = await client.send(new ListInstancesCommand({ ServiceId: serviceId }));
    expect(Instances?.map((instance) => instance.Id).sort()).toEqual(['old', 'recent']);
  });
});
