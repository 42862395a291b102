import { randomUUID } from 'node:crypto';
import {
  CreateServiceCommand,
  RegisterInstanceCommand,
  type ServiceDiscoveryClient,
} from '@aws-sdk/client-servicediscovery';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane';
import {
  createHttpNamespace,
  createService,
  namespaceContents,
  serviceDiscoveryClient,
} from './support/registry';

/**
 * Every registry request here is wrong in one way. Each must get Cloud Map's error format —
 * status, `x-amzn-ErrorType` and `__type` with the exception name, a message naming the field
 * or resource — and change nothing.
 */
const run = randomUUID().slice(0, 8);
const prefix = `invalid-${run}`;
const namespaceName = `${prefix}.local`;

interface Case {
  name: string;
  /** A Cloud Map operation (POST / with X-Amz-Target), or a /v1 request. */
  operation?: string;
  http?: { method: 'PUT' | 'POST'; path: (ids: Ids) => string };
  /** JSON-encoded unless it is a string, which is sent as is. */
  body?: (ids: Ids) => unknown;
  /** Sent as is instead of JSON-encoding `body`. */
  rawBody?: string;
  status: number;
  errorType: string;
  message: string | RegExp;
}

interface Ids {
  namespaceId: string;
  serviceId: string;
  plainServiceId: string;
}

const register = (ids: Ids, attributes: Record<string, unknown>, instanceId = 'i-new') => ({
  ServiceId: ids.serviceId,
  InstanceId: instanceId,
  Attributes: { AWS_INSTANCE_IPV4: '10.0.0.9', ...attributes },
});

const cases: Case[] = [
  // Namespaces
  {
    name: 'namespace without a name',
    operation: 'CreateHttpNamespace',
    body: () => ({ Description: 'x' }),
    status: 400,
    errorType: 'InvalidInput',
    message: 'Name: is required',
  },
  {
    name: 'HTTP namespace name with a space',
    operation: 'CreateHttpNamespace',
    body: () => ({ Name: `${prefix} space` }),
    status: 400,
    errorType: 'InvalidInput',
    message: 'Name: must match the pattern',
  },
  {
    name: 'HTTP namespace name longer than 1024',
    operation: 'CreateHttpNamespace',
    body: () => ({ Name: `${prefix}${'n'.repeat(1025)}` }),
    status: 400,
    errorType: 'InvalidInput',
    message: 'Name: must be at most 1024 character(s) long',
  },
  {
    name: 'unknown member',
    operation: 'CreateHttpNamespace',
    body: () => ({ Name: `${prefix}-unknown`, Bogus: 1 }),
    status: 400,
    errorType: 'InvalidInput',
    message: 'Bogus: unknown field',
  },
  {
    name: 'more than 200 tags',
    operation: 'CreateHttpNamespace',
    body: () => ({
      Name: `${prefix}-tags`,
      Tags: Array.from({ length: 201 }, (_, i) => ({ Key: `k${i}`, Value: 'v' })),
    }),
    status: 400,
    errorType: 'InvalidInput',
    message: 'Tags: must have at most 200 item(s)',
  },
  {
    name: 'private DNS namespace without a VPC',
    operation: 'CreatePrivateDnsNamespace',
    body: () => ({ Name: `${prefix}-private` }),
    status: 400,
    errorType: 'InvalidInput',
    message: 'Vpc: is required',
  },
  {
    name: 'public DNS namespace name that is not a domain',
    operation: 'CreatePublicDnsNamespace',
    body: () => ({ Name: `-${prefix}-.com` }),
    status: 400,
    errorType: 'InvalidInput',
    message: 'Name: must match the pattern',
  },
  {
    name: 'namespace name taken',
    operation: 'CreateHttpNamespace',
    body: () => ({ Name: namespaceName }),
    status: 400,
    errorType: 'NamespaceAlreadyExists',
    message: `Namespace ${namespaceName} already exists`,
  },
  {
    name: 'deleting a namespace that has services',
    operation: 'DeleteNamespace',
    body: (ids) => ({ Id: ids.namespaceId }),
    status: 400,
    errorType: 'ResourceInUse',
    message: /Namespace ns-\w+ has 2 service\(s\)/,
  },
  {
    name: 'list filter TYPE with BETWEEN',
    operation: 'ListNamespaces',
    body: () => ({
      Filters: [{ Name: 'TYPE', Values: ['HTTP', 'DNS_PUBLIC'], Condition: 'BETWEEN' }],
    }),
    status: 400,
    errorType: 'InvalidInput',
    message: 'Filters[0].Condition: must be one of EQ, IN for TYPE',
  },
  {
    name: 'list filter EQ with two values',
    operation: 'ListNamespaces',
    body: () => ({ Filters: [{ Name: 'NAME', Values: ['a', 'b'], Condition: 'EQ' }] }),
    status: 400,
    errorType: 'InvalidInput',
    message: 'Filters[0].Values: must have one value for condition EQ, got 2',
  },
  // Services
  {
    name: 'service in a namespace that does not exist',
    operation: 'CreateService',
    body: () => ({ Name: 'svc2', NamespaceId: 'ns-doesnotexist0000' }),
    status: 400,
    errorType: 'NamespaceNotFound',
    message: 'Namespace ns-doesnotexist0000 not found',
  },
  {
    name: 'service without a namespace',
    operation: 'CreateService',
    body: () => ({ Name: 'svc2' }),
    status: 400,
    errorType: 'InvalidInput',
    message: 'NamespaceId: is required',
  },
  {
    name: 'service name with a space',
    operation: 'CreateService',
    body: (ids) => ({ Name: 'bad name', NamespaceId: ids.namespaceId }),
    status: 400,
    errorType: 'InvalidInput',
    message: 'Name: must match the pattern',
  },
  {
    name: 'both health check kinds',
    operation: 'CreateService',
    body: (ids) => ({
      Name: 'svc2',
      NamespaceId: ids.namespaceId,
      HealthCheckCustomConfig: {},
      HealthCheckConfig: { Type: 'HTTP', ResourcePath: '/' },
    }),
    status: 400,
    errorType: 'InvalidInput',
    message: 'HealthCheckConfig and HealthCheckCustomConfig cannot both be set',
  },
  {
    name: 'Route 53 health check in an HTTP namespace',
    operation: 'CreateService',
    body: (ids) => ({
      Name: 'svc2',
      NamespaceId: ids.namespaceId,
      HealthCheckConfig: { Type: 'TCP' },
    }),
    status: 400,
    errorType: 'InvalidInput',
    message:
      'HealthCheckConfig: Route 53 health checks are only for services in public DNS namespaces',
  },
  {
    name: 'DNS records in an HTTP namespace',
    operation: 'CreateService',
    body: (ids) => ({
      Name: 'svc2',
      NamespaceId: ids.namespaceId,
      DnsConfig: { DnsRecords: [{ Type: 'A', TTL: 60 }] },
    }),
    status: 400,
    errorType: 'InvalidInput',
    message: 'DnsConfig: namespace',
  },
  {
    name: 'deleting a service that has instances',
    operation: 'DeleteService',
    body: (ids) => ({ Id: ids.serviceId }),
    status: 400,
    errorType: 'ResourceInUse',
    message: 'has 1 registered instance(s)',
  },
  {
    name: 'DNS change on an HTTP service',
    operation: 'UpdateService',
    body: (ids) => ({
      Id: ids.serviceId,
      Service: { DnsConfig: { DnsRecords: [{ Type: 'A', TTL: 1 }] } },
    }),
    status: 400,
    errorType: 'InvalidInput',
    message: 'Service.DnsConfig: service',
  },
  // Instances
  {
    name: 'instance of a service that does not exist',
    operation: 'RegisterInstance',
    body: (ids) => ({ ...register(ids, {}), ServiceId: 'srv-doesnotexist000' }),
    status: 400,
    errorType: 'ServiceNotFound',
    message: 'Service srv-doesnotexist000 not found',
  },
  {
    name: 'AWS_INSTANCE_IPV4 that is not an IPv4 address',
    operation: 'RegisterInstance',
    body: (ids) => register(ids, { AWS_INSTANCE_IPV4: '10.0.0.300' }),
    status: 400,
    errorType: 'InvalidInput',
    message: 'Attributes["AWS_INSTANCE_IPV4"]: must be an IPv4 address',
  },
  {
    name: 'AWS_INSTANCE_IPV6 that is not an IPv6 address',
    operation: 'RegisterInstance',
    body: (ids) => register(ids, { AWS_INSTANCE_IPV6: '10.0.0.1' }),
    status: 400,
    errorType: 'InvalidInput',
    message: 'Attributes["AWS_INSTANCE_IPV6"]: must be an IPv6 address',
  },
  {
    name: 'AWS_INSTANCE_PORT above 65535',
    operation: 'RegisterInstance',
    body: (ids) => register(ids, { AWS_INSTANCE_PORT: '70000' }),
    status: 400,
    errorType: 'InvalidInput',
    message: 'Attributes["AWS_INSTANCE_PORT"]: must be a port from 0 to 65535',
  },
  {
    name: 'instance id with a space',
    operation: 'RegisterInstance',
    body: (ids) => register(ids, {}, 'i 1'),
    status: 400,
    errorType: 'InvalidInput',
    message: 'InstanceId: must match the pattern',
  },
  {
    name: 'attribute key with a space',
    operation: 'RegisterInstance',
    body: (ids) => register(ids, { 'bad key': 'v' }),
    status: 400,
    errorType: 'InvalidInput',
    message: 'Attributes["bad key"] (key): must match the pattern',
  },
  {
    name: 'attribute value that is a number',
    operation: 'RegisterInstance',
    body: (ids) => register(ids, { version: 3 }),
    status: 400,
    errorType: 'InvalidInput',
    message: 'Attributes["version"]: must be a string, got number',
  },
  {
    name: '__proto__ attribute with a NUL in its value',
    operation: 'RegisterInstance',
    body: (ids) =>
      `{"ServiceId":"${ids.serviceId}","InstanceId":"i-proto","Attributes":{"__proto__":"a\\u0000b"}}`,
    status: 400,
    errorType: 'InvalidInput',
    message: 'Attributes.__proto__: must not contain the NUL character',
  },
  {
    name: 'more than 30 custom attributes',
    operation: 'RegisterInstance',
    body: (ids) =>
      register(ids, Object.fromEntries(Array.from({ length: 31 }, (_, i) => [`a${i}`, 'v']))),
    status: 400,
    errorType: 'InvalidInput',
    message: 'Attributes: may have at most 30 custom attributes, got 31',
  },
  {
    name: 'instance without attributes',
    operation: 'RegisterInstance',
    body: (ids) => ({ ServiceId: ids.serviceId, InstanceId: 'i-2' }),
    status: 400,
    errorType: 'InvalidInput',
    message: 'Attributes: is required',
  },
  {
    name: 'deregistering an instance that is not registered',
    operation: 'DeregisterInstance',
    body: (ids) => ({ ServiceId: ids.serviceId, InstanceId: 'i-missing' }),
    status: 400,
    errorType: 'InstanceNotFound',
    message: 'Instance i-missing not found',
  },
  {
    name: 'custom health status that is not one',
    operation: 'UpdateInstanceCustomHealthStatus',
    body: (ids) => ({ ServiceId: ids.serviceId, InstanceId: 'i-1', Status: 'SICK' }),
    status: 400,
    errorType: 'InvalidInput',
    message: 'Status: must be one of HEALTHY, UNHEALTHY, got "SICK"',
  },
  {
    name: 'custom health of a service without HealthCheckCustomConfig',
    operation: 'UpdateInstanceCustomHealthStatus',
    body: (ids) => ({ ServiceId: ids.plainServiceId, InstanceId: 'i-1', Status: 'UNHEALTHY' }),
    status: 400,
    errorType: 'CustomHealthNotFound',
    message: 'has no HealthCheckCustomConfig',
  },
  {
    name: 'DiscoverInstances MaxResults above 1000',
    operation: 'DiscoverInstances',
    body: () => ({ NamespaceName: namespaceName, ServiceName: 'svc', MaxResults: 1001 }),
    status: 400,
    errorType: 'InvalidInput',
    message: 'MaxResults: must be at most 1000, got 1001',
  },
  {
    name: 'DiscoverInstances health filter that is not one',
    operation: 'DiscoverInstances',
    body: () => ({ NamespaceName: namespaceName, ServiceName: 'svc', HealthStatus: 'SOME' }),
    status: 400,
    errorType: 'InvalidInput',
    message: 'HealthStatus: must be one of HEALTHY, UNHEALTHY, ALL, HEALTHY_OR_ELSE_ALL',
  },
  {
    name: 'ListInstances page of 0',
    operation: 'ListInstances',
    body: (ids) => ({ ServiceId: ids.serviceId, MaxResults: 0 }),
    status: 400,
    errorType: 'InvalidInput',
    message: 'MaxResults: must be at least 1, got 0',
  },
  {
    name: 'a NextToken this API did not issue',
    operation: 'ListOperations',
    body: () => ({ NextToken: 'not-a-token' }),
    status: 400,
    errorType: 'InvalidInput',
    message: 'NextToken: is not a token returned by this API',
  },
  // The wire
  {
    name: 'a body that is a JSON list',
    operation: 'GetNamespace',
    rawBody: '[]',
    status: 400,
    errorType: 'InvalidInput',
    message: 'The request body must be a JSON object',
  },
  {
    name: 'a body that is not JSON',
    operation: 'GetNamespace',
    rawBody: '{"Id": ',
    status: 400,
    errorType: 'InvalidInput',
    message: 'The request body is not valid JSON',
  },
  {
    name: 'an operation Cloud Map does not have',
    operation: 'LaunchRocket',
    body: () => ({}),
    status: 400,
    errorType: 'UnknownOperationException',
    message: 'names no Cloud Map operation',
  },
  // Trellis' /v1/registry
  {
    name: 'a lease of 0 seconds',
    http: { method: 'PUT', path: (ids) => `/v1/registry/services/${ids.serviceId}/lease` },
    body: () => ({ ttlSeconds: 0 }),
    status: 400,
    errorType: 'InvalidInput',
    message: 'ttlSeconds: must be an integer from 1 to 86400, or null, got 0',
  },
  {
    name: 'a heartbeat for a service without leases',
    http: {
      method: 'POST',
      path: (ids) => `/v1/registry/services/${ids.serviceId}/instances/i-1/heartbeat`,
    },
    status: 400,
    errorType: 'InvalidInput',
    message: 'has no lease TTL',
  },
];

describe('invalid registry requests', () => {
  let controlPlane: TestControlPlane;
  let client: ServiceDiscoveryClient;
  let ids: Ids;

  beforeAll(async () => {
    controlPlane = await startTestControlPlane();
    client = serviceDiscoveryClient(controlPlane.httpUrl);
    const namespaceId = await createHttpNamespace(client, namespaceName);
    const serviceId = await createService(client, namespaceId, 'svc');
    const plain = await client.send(
      new CreateServiceCommand({ NamespaceId: namespaceId, Name: 'plain' }),
    );
    ids = { namespaceId, serviceId, plainServiceId: plain.Service!.Id! };
    for (const id of [serviceId, ids.plainServiceId]) {
      await client.send(
        new RegisterInstanceCommand({
          ServiceId: id,
          InstanceId: 'i-1',
          Attributes: { AWS_INSTANCE_IPV4: '10.0.0.1' },
        }),
      );
    }
  });

  afterAll(async () => {
    client.destroy();
    await controlPlane.close();
  });

  it('has at least 20 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(20);
  });

  it.each(cases)('$name → $status $errorType', async (testCase) => {
    const before = await namespaceContents(controlPlane.db, ids.namespaceId, prefix);
    const body = testCase.body?.(ids);
    const text = typeof body === 'string' ? body : (testCase.rawBody ?? JSON.stringify(body ?? {}));
    const response = testCase.http
      ? await fetch(`${controlPlane.httpUrl}${testCase.http.path(ids)}`, {
          method: testCase.http.method,
          headers: { 'content-type': 'application/json' },
          body: text,
        })
      : await fetch(controlPlane.httpUrl, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-amz-json-1.1',
            'x-amz-target': `Route53AutoNaming_v20170314.${testCase.operation}`,
          },
          body: text,
        });
    const answer = (await response.json()) as { __type?: string; message?: string };
    expect({
      status: response.status,
      errorType: response.headers.get('x-amzn-errortype'),
    }).toEqual({
      status: testCase.status,
      errorType: testCase.errorType,
    });
    expect(answer.__type).toBe(testCase.errorType);
    if (typeof testCase.message === 'string') expect(answer.message).toContain(testCase.message);
    else expect(answer.message).toMatch(testCase.message);
    expect(await namespaceContents(controlPlane.db, ids.namespaceId, prefix)).toEqual(before);
  });
});
