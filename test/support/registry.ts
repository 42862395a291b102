import { randomUUID } from 'node:crypto';
import {
  CreateHttpNamespaceCommand,
  CreateServiceCommand,
  GetOperationCommand,
  ServiceDiscoveryClient,
} from '@aws-sdk/client-servicediscovery';
import type { Client } from 'pg';
import { TEST_REGION } from './control-plane';

/**
 * A Cloud Map client against Trellis. The SDKs send DiscoverInstances to `data-<host>` (the
 * operation's host prefix); `disableHostPrefix` keeps every call on the endpoint given.
 */
export function serviceDiscoveryClient(
  endpoint: string,
  accessKeyId = 'AKIDREGISTRYTEST',
): ServiceDiscoveryClient {
  return new ServiceDiscoveryClient({
    region: TEST_REGION,
    endpoint,
    disableHostPrefix: true,
    credentials: { accessKeyId, secretAccessKey: 'not-checked' },
    maxAttempts: 1,
  });
}

/** A namespace name no other test uses. */
export function uniqueNamespaceName(prefix = 'ns'): string {
  return `${prefix}-${randomUUID().slice(0, 8)}.local`;
}

/** Creates an HTTP namespace and returns its id (from the operation's targets). */
export async function createHttpNamespace(
  client: ServiceDiscoveryClient,
  name: string,
): Promise<string> {
  const { OperationId } = await client.send(new CreateHttpNamespaceCommand({ Name: name }));
  const { Operation } = await client.send(new GetOperationCommand({ OperationId }));
  return Operation!.Targets!.NAMESPACE!;
}

/** Creates a service with custom health checks in a namespace; returns its id. */
export async function createService(
  client: ServiceDiscoveryClient,
  namespaceId: string,
  name: string,
): Promise<string> {
  const { Service } = await client.send(
    new CreateServiceCommand({ NamespaceId: namespaceId, Name: name, HealthCheckCustomConfig: {} }),
  );
  return Service!.Id!;
}

/**
 * Everything stored for a namespace, and every namespace whose name starts with `namePrefix`,
 * to assert that a rejected request changed nothing.
 */
export async function namespaceContents(
  db: Client,
  namespaceId: string,
  namePrefix: string,
): Promise<unknown> {
  const namespace = await db.query(
    'SELECT name, description, properties::text, tags::text, updated_at FROM registry_namespace WHERE id = $1',
    [namespaceId],
  );
  const services = await db.query(
    `SELECT id, name, description, dns_config::text, health_check_config::text, tags::text,
       lease_ttl_seconds, revision, updated_at
     FROM registry_service WHERE namespace_id = $1 ORDER BY id`,
    [namespaceId],
  );
  const instances = await db.query(
    `SELECT i.service_id, i.id, i.attributes::text, i.custom_health, i.lease_expires_at, i.updated_at
     FROM registry_instance i JOIN registry_service s ON s.id = i.service_id
     WHERE s.namespace_id = $1 ORDER BY i.service_id, i.id`,
    [namespaceId],
  );
  const operations = await db.query(
    `SELECT count(*)::int AS n FROM registry_operation
     WHERE namespace_id = $1 OR service_id IN (SELECT id FROM registry_service WHERE namespace_id = $1)`,
    [namespaceId],
  );
  const namespaces = await db.query(
    'SELECT id, name FROM registry_namespace WHERE starts_with(name, $1) ORDER BY id',
    [namePrefix],
  );
  return {
    namespace: namespace.rows,
    services: services.rows,
    instances: instances.rows,
    operations: operations.rows[0],
    namespaces: namespaces.rows,
  };
}
