import { createHash, randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import {
  CustomHealthNotFound,
  DuplicateRequest,
  InstanceNotFound,
  InvalidInput,
  NamespaceAlreadyExists,
  NamespaceNotFound,
  OperationNotFound,
  ResourceInUse,
  ResourceLimitExceeded,
  ResourceNotFoundException,
  ServiceAlreadyExists,
  ServiceNotFound,
  TooManyTagsException,
} from '../../../../libs/mesh-model/src/cloud-map/errors';
import {
  instanceHealth,
  receivesTraffic,
  type InstanceHealth,
} from '../../../../libs/mesh-model/src/cloud-map/instance-health';
import {
  RESERVED_ATTRIBUTES,
  type CreateHttpNamespaceRequest,
  type CreatePrivateDnsNamespaceRequest,
  type CreatePublicDnsNamespaceRequest,
  type CreateServiceRequest,
  type DeleteNamespaceRequest,
  type DeleteServiceRequest,
  type DeregisterInstanceRequest,
  type DiscoverInstancesRequest,
  type DiscoverInstancesRevisionRequest,
  type DnsConfig,
  type GetInstanceRequest,
  type GetInstancesHealthStatusRequest,
  type GetNamespaceRequest,
  type GetOperationRequest,
  type GetServiceRequest,
  type ListInstancesRequest,
  type ListNamespacesRequest,
  type ListOperationsRequest,
  type ListServicesRequest,
  type ListTagsForResourceRequest,
  type RegisterInstanceRequest,
  type TagResourceRequest,
  type UntagResourceRequest,
  type UpdateHttpNamespaceRequest,
  type UpdateInstanceCustomHealthStatusRequest,
  type UpdatePrivateDnsNamespaceRequest,
  type UpdatePublicDnsNamespaceRequest,
  type UpdateServiceRequest,
} from '../../../../libs/mesh-model/src/cloud-map/validation';
import {
  RegistryStore,
  type OperationFilter,
  type RegistryInstance,
  type RegistryNamespace,
  type RegistryOperation,
  type RegistryService,
  type RegistryTag,
  type RegistryWriteTransaction,
} from '../../../../libs/persistence/src/registry-store';
import { ADMIN_API_OPTIONS, type AdminApiOptions } from '../admin-api.options';
import { decodePageToken, encodePageToken, isName } from '../app-mesh/page-token';

/**
 * Trellis' registry limits (docs/registry.md). Cloud Map's defaults are 50 namespaces per
 * region and 1,000 instances per service; self-hosted meshes go well beyond that.
 */
export const REGISTRY_LIMITS = { namespaces: 1_000, instancesPerService: 10_000, tags: 200 };

/** Cloud Map's default page size when MaxResults is not given. */
const DEFAULT_PAGE_SIZE = 100;

type Output = Record<string, unknown>;

/**
 * Cloud Map's rules over the registry store: every operation of the servicediscovery API on
 * input the model has already validated. Asynchronous operations complete before they answer
 * and record an operation that reports SUCCESS.
 */
@Injectable()
export class CloudMapService {
  constructor(
    private readonly store: RegistryStore,
    @Inject(ADMIN_API_OPTIONS) private readonly options: AdminApiOptions,
  ) {}

  // Namespaces

  CreateHttpNamespace(input: CreateHttpNamespaceRequest, actor: string): Promise<Output> {
    return this.createNamespace('CreateHttpNamespace', input, 'HTTP', {}, actor);
  }

  CreatePrivateDnsNamespace(
    input: CreatePrivateDnsNamespaceRequest,
    actor: string,
  ): Promise<Output> {
    const soa = input.Properties?.DnsProperties.SOA;
    return this.createNamespace(
      'CreatePrivateDnsNamespace',
      input,
      'DNS_PRIVATE',
      { DnsProperties: soa ? { SOA: soa } : {} },
      actor,
    );
  }

  CreatePublicDnsNamespace(input: CreatePublicDnsNamespaceRequest, actor: string): Promise<Output> {
    const soa = input.Properties?.DnsProperties.SOA;
    return this.createNamespace(
      'CreatePublicDnsNamespace',
      input,
      'DNS_PUBLIC',
      { DnsProperties: soa ? { SOA: soa } : {} },
      actor,
    );
  }

  async GetNamespace(input: GetNamespaceRequest): Promise<Output> {
    const namespace = await this.store.namespace(input.Id);
    if (!namespace) throw namespaceNotFound(input.Id);
    return { Namespace: namespaceData(namespace, true) };
  }

  async ListNamespaces(input: ListNamespacesRequest): Promise<Output> {
    const filter: { types?: string[]; name?: { value: string; prefix: boolean } } = {};
    for (const condition of input.Filters ?? []) {
      if (condition.Name === 'TYPE') filter.types = condition.Values;
      else
        filter.name = {
          value: condition.Values[0]!,
          prefix: condition.Condition === 'BEGINS_WITH',
        };
    }
    const size = input.MaxResults ?? DEFAULT_PAGE_SIZE;
    const rows = await this.store.namespaces(filter, size + 1, pagePosition(input.NextToken));
    return page(
      'Namespaces',
      rows,
      size,
      (row) => row.id,
      (row) => namespaceData(row, false),
    );
  }

  UpdateHttpNamespace(input: UpdateHttpNamespaceRequest, actor: string): Promise<Output> {
    return this.updateNamespace('UpdateHttpNamespace', input, 'HTTP', actor, (namespace) => ({
      ...namespace,
      description: input.Namespace.Description,
    }));
  }

  UpdatePrivateDnsNamespace(
    input: UpdatePrivateDnsNamespaceRequest,
    actor: string,
  ): Promise<Output> {
    return this.updateNamespace(
      'UpdatePrivateDnsNamespace',
      input,
      'DNS_PRIVATE',
      actor,
      (namespace) => changedDnsNamespace(namespace, input.Namespace),
    );
  }

  UpdatePublicDnsNamespace(input: UpdatePublicDnsNamespaceRequest, actor: string): Promise<Output> {
    return this.updateNamespace(
      'UpdatePublicDnsNamespace',
      input,
      'DNS_PUBLIC',
      actor,
      (namespace) => changedDnsNamespace(namespace, input.Namespace),
    );
  }

  DeleteNamespace(input: DeleteNamespaceRequest): Promise<Output> {
    return this.store.write(async (tx) => {
      const namespace = await tx.lockNamespace(input.Id);
      if (!namespace) throw namespaceNotFound(input.Id);
      if (namespace.serviceCount > 0) {
        throw new ResourceInUse(
          `Namespace ${input.Id} has ${namespace.serviceCount} service(s); delete them first`,
        );
      }
      await tx.deleteNamespace(namespace.id);
      return {
        OperationId: await this.operation(tx, 'DELETE_NAMESPACE', { NAMESPACE: namespace.id }),
      };
    });
  }

  // Services

  async CreateService(input: CreateServiceRequest, actor: string): Promise<Output> {
    const namespaceId = input.NamespaceId ?? input.DnsConfig?.NamespaceId;
    if (namespaceId === undefined) {
      throw new InvalidInput('NamespaceId: is required (or the deprecated DnsConfig.NamespaceId)');
    }
    return this.store.write(async (tx) => {
      const replay = await this.claim(tx, 'CreateService', input.CreatorRequestId, input);
      if (replay) return replay;
      const namespace = await tx.lockNamespace(namespaceId);
      if (!namespace) throw namespaceNotFound(namespaceId);
      const type = serviceType(namespace, input);
      if (input.HealthCheckConfig !== undefined && namespace.type !== 'DNS_PUBLIC') {
        throw new InvalidInput(
          'HealthCheckConfig: Route 53 health checks are only for services in public DNS namespaces; use HealthCheckCustomConfig',
        );
      }
      const existing = await tx.serviceIdByName(namespace.id, input.Name);
      if (existing !== undefined) {
        throw new ServiceAlreadyExists(
          `Service ${input.Name} already exists in namespace ${namespace.id}`,
          existing,
        );
      }
      const id = resourceId('srv');
      const now = new Date();
      const dnsConfig = input.DnsConfig && withoutNamespaceId(input.DnsConfig);
      const service: RegistryService = {
        id,
        namespaceId: namespace.id,
        namespaceName: namespace.name,
        name: input.Name,
        arn: this.arn('service', id),
        type,
        description: input.Description,
        dnsConfig,
        healthCheckConfig: input.HealthCheckConfig,
        healthCheckCustomConfig: input.HealthCheckCustomConfig && { FailureThreshold: 1 },
        creatorRequestId: input.CreatorRequestId,
        tags: input.Tags ?? [],
        revision: 0,
        createdAt: now,
        updatedAt: now,
        instanceCount: 0,
      };
      await tx.insertService(service);
      // Virtual nodes may name the service before it exists: replicas learn it does now.
      service.revision = await tx.recordChange({
        service,
        operation: 'CREATE_SERVICE',
        actor,
        before: null,
        after: { name: service.name },
      });
      const output = { Service: serviceData(service, true) };
      await this.complete(tx, 'CreateService', input.CreatorRequestId, output);
      return output;
    });
  }

  async GetService(input: GetServiceRequest): Promise<Output> {
    const service = await this.store.service(input.Id);
    if (!service) throw serviceNotFound(input.Id);
    return { Service: serviceData(service, true) };
  }

  async ListServices(input: ListServicesRequest): Promise<Output> {
    const namespaceId = input.Filters?.find((filter) => filter.Name === 'NAMESPACE_ID')?.Values[0];
    const size = input.MaxResults ?? DEFAULT_PAGE_SIZE;
    const rows = await this.store.services(namespaceId, size + 1, pagePosition(input.NextToken));
    return page(
      'Services',
      rows,
      size,
      (row) => row.id,
      (row) => serviceData(row, false),
    );
  }

  UpdateService(input: UpdateServiceRequest, actor: string): Promise<Output> {
    return this.store.write(async (tx) => {
      const service = await tx.lockService(input.Id);
      if (!service) throw serviceNotFound(input.Id);
      const change = input.Service;
      if (change.DnsConfig !== undefined && service.dnsConfig === undefined) {
        throw new InvalidInput(
          `Service.DnsConfig: service ${service.id} has no DNS configuration to change`,
        );
      }
      if (change.HealthCheckConfig !== undefined && service.healthCheckCustomConfig !== undefined) {
        throw new InvalidInput(
          `Service.HealthCheckConfig: service ${service.id} uses HealthCheckCustomConfig`,
        );
      }
      const updated: RegistryService = {
        ...service,
        description: change.Description ?? service.description,
        dnsConfig: change.DnsConfig
          ? { ...service.dnsConfig, DnsRecords: change.DnsConfig.DnsRecords }
          : service.dnsConfig,
        // "If you omit ... HealthCheckConfig ... from an UpdateService request, the configuration is deleted."
        healthCheckConfig: change.HealthCheckConfig,
        updatedAt: new Date(),
      };
      await tx.updateService(updated);
      await tx.recordChange({
        service,
        operation: 'UPDATE_SERVICE',
        actor,
        before: serviceData(service, true),
        after: serviceData(updated, true),
      });
      return {
        OperationId: await this.operation(tx, 'UPDATE_SERVICE', { SERVICE: service.id }, service),
      };
    });
  }

  DeleteService(input: DeleteServiceRequest, actor: string): Promise<Output> {
    return this.store.write(async (tx) => {
      const service = await tx.lockService(input.Id);
      if (!service) throw serviceNotFound(input.Id);
      if (service.instanceCount > 0) {
        throw new ResourceInUse(
          `Service ${input.Id} has ${service.instanceCount} registered instance(s); deregister them first`,
        );
      }
      await tx.recordChange({
        service,
        operation: 'DELETE_SERVICE',
        actor,
        before: { name: service.name },
        after: null,
      });
      await tx.deleteService(service.id);
      return {};
    });
  }

  // Instances

  RegisterInstance(input: RegisterInstanceRequest, actor: string): Promise<Output> {
    return this.store.write(async (tx) => {
      const replay = await this.claim(tx, 'RegisterInstance', input.CreatorRequestId, input);
      if (replay) return replay;
      const locked = await tx.lockServiceInstance(input.ServiceId, input.InstanceId);
      if (!locked) throw serviceNotFound(input.ServiceId);
      const { service, instance: before, now } = locked;
      checkAttributesForDns(service, input.Attributes);
      if (!before && service.instanceCount >= REGISTRY_LIMITS.instancesPerService) {
        throw new ResourceLimitExceeded(
          `Service ${service.id} has ${service.instanceCount} instances, the most Trellis allows (${REGISTRY_LIMITS.instancesPerService})`,
        );
      }
      const initialHealth =
        input.Attributes.AWS_INIT_HEALTH_STATUS === 'UNHEALTHY' ? 'UNHEALTHY' : 'HEALTHY';
      const instance: RegistryInstance = {
        serviceId: service.id,
        id: input.InstanceId,
        attributes: input.Attributes,
        creatorRequestId: input.CreatorRequestId,
        customHealth: service.healthCheckCustomConfig ? initialHealth : undefined,
        leaseExpiresAt:
          service.leaseTtlSeconds === undefined
            ? undefined
            : new Date(now.getTime() + service.leaseTtlSeconds * 1000),
        createdAt: before?.createdAt ?? now,
        updatedAt: now,
      };
      const operation = newOperation(
        'REGISTER_INSTANCE',
        { INSTANCE: instance.id, SERVICE: service.id },
        service,
      );
      await tx.recordChange(
        {
          service,
          instanceId: instance.id,
          operation: 'REGISTER_INSTANCE',
          actor,
          before: before && instanceSnapshot(before),
          after: instanceSnapshot(instance),
        },
        { instance: { put: instance }, operation },
      );
      const output = { OperationId: operation.id };
      await this.complete(tx, 'RegisterInstance', input.CreatorRequestId, output);
      return output;
    });
  }

  DeregisterInstance(input: DeregisterInstanceRequest, actor: string): Promise<Output> {
    return this.store.write(async (tx) => {
      const locked = await tx.lockServiceInstance(input.ServiceId, input.InstanceId);
      if (!locked) throw serviceNotFound(input.ServiceId);
      const { service, instance } = locked;
      if (!instance) throw instanceNotFound(service.id, input.InstanceId);
      const operation = newOperation(
        'DEREGISTER_INSTANCE',
        { INSTANCE: instance.id, SERVICE: service.id },
        service,
      );
      await tx.recordChange(
        {
          service,
          instanceId: instance.id,
          operation: 'DEREGISTER_INSTANCE',
          actor,
          before: instanceSnapshot(instance),
          after: null,
        },
        { instance: { remove: instance.id }, operation },
      );
      return { OperationId: operation.id };
    });
  }

  async GetInstance(input: GetInstanceRequest): Promise<Output> {
    await this.existingService(input.ServiceId);
    const instance = await this.store.instance(input.ServiceId, input.InstanceId);
    if (!instance) throw instanceNotFound(input.ServiceId, input.InstanceId);
    return {
      Instance: {
        Id: instance.id,
        CreatorRequestId: instance.creatorRequestId,
        Attributes: instance.attributes,
      },
    };
  }

  async ListInstances(input: ListInstancesRequest): Promise<Output> {
    await this.existingService(input.ServiceId);
    const size = input.MaxResults ?? DEFAULT_PAGE_SIZE;
    const rows = await this.store.instances(
      input.ServiceId,
      size + 1,
      pagePosition(input.NextToken),
    );
    return page(
      'Instances',
      rows,
      size,
      (row) => row.id,
      (row) => ({ Id: row.id, Attributes: row.attributes }),
    );
  }

  async GetInstancesHealthStatus(input: GetInstancesHealthStatusRequest): Promise<Output> {
    const service = await this.existingService(input.ServiceId);
    const size = input.MaxResults ?? DEFAULT_PAGE_SIZE;
    const now = Date.now();
    let rows: RegistryInstance[];
    if (input.Instances !== undefined) {
      const wanted = [...new Set(input.Instances)].sort();
      const all = await this.store.instances(service.id, REGISTRY_LIMITS.instancesPerService);
      const byId = new Map(all.map((row) => [row.id, row]));
      const missing = wanted.find((id) => !byId.has(id));
      if (missing !== undefined) throw instanceNotFound(service.id, missing);
      const after = pagePosition(input.NextToken);
      rows = wanted
        .filter((id) => after === undefined || id > after)
        .slice(0, size + 1)
        .map((id) => byId.get(id)!);
    } else {
      rows = await this.store.instances(service.id, size + 1, pagePosition(input.NextToken));
    }
    const shown = rows.slice(0, size);
    return {
      Status: Object.fromEntries(shown.map((row) => [row.id, healthOf(row, now)])),
      NextToken: rows.length > size ? encodePageToken(shown[shown.length - 1]!.id) : undefined,
    };
  }

  UpdateInstanceCustomHealthStatus(
    input: UpdateInstanceCustomHealthStatusRequest,
    actor: string,
  ): Promise<Output> {
    return this.store.write(async (tx) => {
      const locked = await tx.lockServiceInstance(input.ServiceId, input.InstanceId);
      if (!locked) throw serviceNotFound(input.ServiceId);
      const { service, instance } = locked;
      if (!instance) throw instanceNotFound(service.id, input.InstanceId);
      if (!service.healthCheckCustomConfig) {
        throw new CustomHealthNotFound(
          `Service ${service.id} has no HealthCheckCustomConfig; its instances' health cannot be set`,
        );
      }
      // Health reports repeat the same status most of the time: only a change moves endpoints.
      if (instance.customHealth === input.Status) return {};
      await tx.setCustomHealth(service.id, instance.id, input.Status);
      await tx.recordChange({
        service,
        instanceId: instance.id,
        operation: 'UPDATE_HEALTH',
        actor,
        before: { customHealth: instance.customHealth },
        after: { customHealth: input.Status },
      });
      return {};
    });
  }

  async DiscoverInstances(input: DiscoverInstancesRequest): Promise<Output> {
    const { service, instances } = await this.discoverable(input.NamespaceName, input.ServiceName);
    const now = Date.now();
    const matching =
      (parameters: Record<string, string> | undefined) => (candidates: RegistryInstance[]) =>
        candidates.filter((instance) =>
          Object.entries(parameters ?? {}).every(
            ([key, value]) =>
              Object.hasOwn(instance.attributes, key) && instance.attributes[key] === value,
          ),
        );
    let found = matching(input.QueryParameters)(instances);
    const optional = matching(input.OptionalParameters)(found);
    if (optional.length > 0) found = optional;
    found = byHealth(found, service, input.HealthStatus ?? 'HEALTHY', now);
    return {
      Instances: found.slice(0, input.MaxResults ?? DEFAULT_PAGE_SIZE).map((instance) => ({
        InstanceId: instance.id,
        NamespaceName: input.NamespaceName,
        ServiceName: input.ServiceName,
        HealthStatus: healthOf(instance, now, service),
        Attributes: instance.attributes,
      })),
      InstancesRevision: service.revision,
    };
  }

  async DiscoverInstancesRevision(input: DiscoverInstancesRevisionRequest): Promise<Output> {
    const { service } = await this.discoverable(input.NamespaceName, input.ServiceName);
    return { InstancesRevision: service.revision };
  }

  // Operations

  async GetOperation(input: GetOperationRequest): Promise<Output> {
    const operation = await this.store.operation(input.OperationId);
    if (!operation) throw new OperationNotFound(`Operation ${input.OperationId} not found`);
    return { Operation: operationData(operation) };
  }

  async ListOperations(input: ListOperationsRequest): Promise<Output> {
    const filter: OperationFilter = {};
    for (const condition of input.Filters ?? []) {
      switch (condition.Name) {
        case 'NAMESPACE_ID':
          filter.namespaceId = condition.Values[0];
          break;
        case 'SERVICE_ID':
          filter.serviceId = condition.Values[0];
          break;
        case 'STATUS':
          filter.statuses = condition.Values;
          break;
        case 'TYPE':
          filter.types = condition.Values;
          break;
        case 'UPDATE_DATE':
          filter.updatedBetween = [
            dateValue(condition.Values[0]!),
            dateValue(condition.Values[1]!),
          ];
          break;
      }
    }
    const size = input.MaxResults ?? DEFAULT_PAGE_SIZE;
    const rows = await this.store.operations(filter, size + 1, pagePosition(input.NextToken));
    return page(
      'Operations',
      rows,
      size,
      (row) => row.id,
      (row) => ({ Id: row.id, Status: row.status }),
    );
  }

  // Tags

  async ListTagsForResource(input: ListTagsForResourceRequest): Promise<Output> {
    const tags = await this.store.tags(input.ResourceARN);
    if (!tags) throw resourceNotFound(input.ResourceARN);
    return { Tags: tags };
  }

  TagResource(input: TagResourceRequest): Promise<Output> {
    return this.retag(input.ResourceARN, (tags) => {
      const byKey = new Map(tags.map((tag) => [tag.Key, tag]));
      for (const tag of input.Tags) byKey.set(tag.Key, tag);
      return [...byKey.values()];
    });
  }

  UntagResource(input: UntagResourceRequest): Promise<Output> {
    return this.retag(input.ResourceARN, (tags) =>
      tags.filter((tag) => !input.TagKeys.includes(tag.Key)),
    );
  }

  // Trellis' own registry features (/v1)

  /** Sets (or with null removes) a service's instance lease TTL; existing instances' leases start now. */
  setLeaseTtl(
    serviceId: string,
    ttlSeconds: number | null,
    actor: string,
  ): Promise<RegistryService> {
    return this.store.write(async (tx) => {
      const service = await tx.lockService(serviceId);
      if (!service) throw serviceNotFound(serviceId);
      const updated = {
        ...service,
        leaseTtlSeconds: ttlSeconds ?? undefined,
        updatedAt: new Date(),
      };
      await tx.updateService(updated);
      await tx.renewLeases(service.id, ttlSeconds);
      updated.revision = await tx.recordChange({
        service,
        operation: 'SET_LEASE',
        actor,
        before: { leaseTtlSeconds: service.leaseTtlSeconds ?? null },
        after: { leaseTtlSeconds: ttlSeconds },
      });
      return updated;
    });
  }

  /**
   * Renews an instance's lease. A renewal of a live lease changes no endpoint and is not
   * announced; one that revives an expired lease is, so the instance gets traffic again.
   */
  heartbeat(
    serviceId: string,
    instanceId: string,
    actor: string,
  ): Promise<{ leaseExpiresAt: Date }> {
    return this.store.write(async (tx) => {
      const locked = await tx.lockServiceInstance(serviceId, instanceId);
      if (!locked) throw serviceNotFound(serviceId);
      const { service, instance, now } = locked;
      if (service.leaseTtlSeconds === undefined) {
        throw new InvalidInput(
          `Service ${serviceId} has no lease TTL; set one with PUT /v1/registry/services/${serviceId}/lease`,
        );
      }
      if (!instance) throw instanceNotFound(service.id, instanceId);
      const leaseExpiresAt = (await tx.renewLeases(
        service.id,
        service.leaseTtlSeconds,
        instanceId,
      ))!;
      if (instance.leaseExpiresAt !== undefined && instance.leaseExpiresAt <= now) {
        await tx.recordChange({
          service,
          instanceId,
          operation: 'RENEW_EXPIRED_LEASE',
          actor,
          before: { leaseExpiresAt: instance.leaseExpiresAt },
          after: { leaseExpiresAt },
        });
      }
      return { leaseExpiresAt };
    });
  }

  /** A service's instances with their health, for `trellis registry instances`. */
  async instancesWithHealth(serviceId: string): Promise<Output> {
    const service = await this.existingService(serviceId);
    const now = Date.now();
    const instances = await this.store.instances(service.id, REGISTRY_LIMITS.instancesPerService);
    return {
      service: serviceData(service, true),
      leaseTtlSeconds: service.leaseTtlSeconds ?? null,
      instances: instances.map((instance) => ({
        id: instance.id,
        attributes: instance.attributes,
        health: healthOf(instance, now, service),
        leaseExpiresAt: instance.leaseExpiresAt?.toISOString() ?? null,
      })),
    };
  }

  // Shared steps

  private createNamespace(
    operation: string,
    input: { Name: string; Description?: string; CreatorRequestId?: string; Tags?: RegistryTag[] },
    type: string,
    properties: Record<string, unknown>,
    _actor: string,
  ): Promise<Output> {
    return this.store.write(async (tx) => {
      const replay = await this.claim(tx, operation, input.CreatorRequestId, input);
      if (replay) return replay;
      const existing = await tx.namespaceIdByName(input.Name);
      if (existing !== undefined) {
        const namespace = await tx.lockNamespace(existing);
        throw new NamespaceAlreadyExists(
          `Namespace ${input.Name} already exists`,
          existing,
          namespace?.creatorRequestId,
        );
      }
      if ((await tx.countNamespaces()) >= REGISTRY_LIMITS.namespaces) {
        throw new ResourceLimitExceeded(
          `Trellis allows at most ${REGISTRY_LIMITS.namespaces} namespaces`,
        );
      }
      const id = resourceId('ns');
      const now = new Date();
      await tx.insertNamespace({
        id,
        name: input.Name,
        type,
        arn: this.arn('namespace', id),
        description: input.Description,
        properties: { ...properties, HttpProperties: { HttpName: input.Name } },
        creatorRequestId: input.CreatorRequestId,
        tags: input.Tags ?? [],
        createdAt: now,
        updatedAt: now,
      });
      const output = {
        OperationId: await this.operation(tx, 'CREATE_NAMESPACE', { NAMESPACE: id }),
      };
      await this.complete(tx, operation, input.CreatorRequestId, output);
      return output;
    });
  }

  private updateNamespace(
    operation: string,
    input: { Id: string; UpdaterRequestId?: string },
    type: string,
    _actor: string,
    change: (namespace: RegistryNamespace) => RegistryNamespace,
  ): Promise<Output> {
    return this.store.write(async (tx) => {
      const replay = await this.claim(tx, operation, input.UpdaterRequestId, input);
      if (replay) return replay;
      const namespace = await tx.lockNamespace(input.Id);
      if (!namespace) throw namespaceNotFound(input.Id);
      if (namespace.type !== type) {
        throw new InvalidInput(
          `Id: namespace ${input.Id} is of type ${namespace.type}, not ${type}`,
        );
      }
      await tx.updateNamespace({ ...change(namespace), updatedAt: new Date() });
      const output = {
        OperationId: await this.operation(tx, 'UPDATE_NAMESPACE', { NAMESPACE: namespace.id }),
      };
      await this.complete(tx, operation, input.UpdaterRequestId, output);
      return output;
    });
  }

  private retag(arn: string, change: (tags: RegistryTag[]) => RegistryTag[]): Promise<Output> {
    return this.store.write(async (tx) => {
      const tags = await tx.lockTags(arn);
      if (!tags) throw resourceNotFound(arn);
      const next = change(tags);
      if (next.length > REGISTRY_LIMITS.tags) {
        throw new TooManyTagsException(
          `A resource can have at most ${REGISTRY_LIMITS.tags} tags; this would leave ${next.length}`,
          arn,
        );
      }
      await tx.replaceTags(arn, next);
      return {};
    });
  }

  /** A request id's earlier answer, or undefined after claiming it for this request. */
  private async claim(
    tx: RegistryWriteTransaction,
    operation: string,
    requestId: string | undefined,
    input: object,
  ): Promise<Output | undefined> {
    if (requestId === undefined) return undefined;
    const replay = await tx.claimRequest(
      requestToken(operation, requestId),
      requestHash(operation, input),
      (previous) =>
        new DuplicateRequest(
          `The request id ${requestId} was already used for a different ${operation} request`,
          (previous.response as { OperationId?: string } | null)?.OperationId,
        ),
    );
    return replay?.response as Output | undefined;
  }

  private async complete(
    tx: RegistryWriteTransaction,
    operation: string,
    requestId: string | undefined,
    output: Output,
  ): Promise<void> {
    if (requestId !== undefined)
      await tx.completeRequest(requestToken(operation, requestId), output);
  }

  /** Records an operation that has already succeeded; returns its id. */
  private async operation(
    tx: RegistryWriteTransaction,
    type: string,
    targets: Record<string, string>,
    service?: RegistryService,
  ): Promise<string> {
    const operation = newOperation(type, targets, service);
    await tx.insertOperation(operation);
    return operation.id;
  }

  private async existingService(id: string): Promise<RegistryService> {
    const service = await this.store.service(id);
    if (!service) throw serviceNotFound(id);
    return service;
  }

  private async discoverable(
    namespaceName: string,
    serviceName: string,
  ): Promise<{ service: RegistryService; instances: RegistryInstance[] }> {
    const found = await this.store.serviceInstances(namespaceName, serviceName);
    if (found) return found;
    if (!(await this.store.namespaceByName(namespaceName))) {
      throw new NamespaceNotFound(`Namespace ${namespaceName} not found`);
    }
    throw new ServiceNotFound(`Service ${serviceName} not found in namespace ${namespaceName}`);
  }

  private arn(kind: 'namespace' | 'service', id: string): string {
    return `arn:aws:servicediscovery:${this.options.region}:${this.options.accountId}:${kind}/${id}`;
  }
}

/** Cloud Map's ids: a prefix and 16 lower-case letters and digits. */
function resourceId(prefix: 'ns' | 'srv'): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  const bytes = randomBytes(16);
  return `${prefix}-${[...bytes].map((byte) => alphabet[byte % 32]).join('')}`;
}

function requestToken(operation: string, requestId: string): string {
  return `servicediscovery/${operation}/${requestId}`;
}

/** The request without its request id: a retry with the same id must be the same request. */
function requestHash(operation: string, input: object): string {
  const members = Object.entries(input)
    .filter(([key]) => key !== 'CreatorRequestId' && key !== 'UpdaterRequestId')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256')
    .update(JSON.stringify([operation, members]))
    .digest('hex');
}

function pagePosition(token: string | undefined): string | undefined {
  return decodePageToken(
    token,
    isName,
    () => new InvalidInput('NextToken: is not a token returned by this API'),
  );
}

function page<T>(
  key: string,
  rows: T[],
  size: number,
  position: (row: T) => string,
  data: (row: T) => Output,
): Output {
  const shown = rows.slice(0, size);
  const last = shown[shown.length - 1];
  return {
    [key]: shown.map(data),
    NextToken:
      rows.length > size && last !== undefined ? encodePageToken(position(last)) : undefined,
  };
}

/** awsJson timestamps are epoch seconds. */
function epochSeconds(date: Date): number {
  return date.getTime() / 1000;
}

function dateValue(value: string): Date {
  const seconds = Number(value);
  const date =
    Number.isFinite(seconds) && /^\d/.test(value) ? new Date(seconds * 1000) : new Date(value);
  if (Number.isNaN(date.getTime())) {
    throw new InvalidInput(`Filters.UPDATE_DATE: ${JSON.stringify(value)} is not a date`);
  }
  return date;
}

function namespaceData(namespace: RegistryNamespace, full: boolean): Output {
  return {
    Id: namespace.id,
    Arn: namespace.arn,
    Name: namespace.name,
    Type: namespace.type,
    Description: namespace.description,
    ServiceCount: namespace.serviceCount,
    Properties: namespace.properties,
    CreateDate: epochSeconds(namespace.createdAt),
    ...(full ? { CreatorRequestId: namespace.creatorRequestId } : {}),
  };
}

function serviceData(service: RegistryService, full: boolean): Output {
  return {
    Id: service.id,
    Arn: service.arn,
    Name: service.name,
    Type: service.type,
    Description: service.description,
    InstanceCount: service.instanceCount,
    DnsConfig: service.dnsConfig,
    HealthCheckConfig: service.healthCheckConfig,
    HealthCheckCustomConfig: service.healthCheckCustomConfig,
    CreateDate: epochSeconds(service.createdAt),
    ...(full
      ? { NamespaceId: service.namespaceId, CreatorRequestId: service.creatorRequestId }
      : {}),
  };
}

function operationData(operation: RegistryOperation): Output {
  return {
    Id: operation.id,
    Type: operation.type,
    Status: operation.status,
    Targets: operation.targets,
    CreateDate: epochSeconds(operation.createdAt),
    UpdateDate: epochSeconds(operation.updatedAt),
  };
}

function instanceSnapshot(instance: RegistryInstance): Output {
  return {
    attributes: instance.attributes,
    customHealth: instance.customHealth ?? null,
    leaseExpiresAt: instance.leaseExpiresAt?.toISOString() ?? null,
  };
}

function healthOf(
  instance: RegistryInstance,
  now: number,
  _service?: RegistryService,
): InstanceHealth {
  return instanceHealth(
    { customHealth: instance.customHealth, leaseExpiresAt: instance.leaseExpiresAt?.getTime() },
    now,
  );
}

/**
 * DiscoverInstances' HealthStatus: "ignored for services that don't have a health check
 * configured" — unless the service has a lease, whose expiry is Trellis' health check.
 */
function byHealth(
  instances: RegistryInstance[],
  service: RegistryService,
  filter: 'HEALTHY' | 'UNHEALTHY' | 'ALL' | 'HEALTHY_OR_ELSE_ALL',
  now: number,
): RegistryInstance[] {
  const checked =
    service.healthCheckConfig !== undefined ||
    service.healthCheckCustomConfig !== undefined ||
    service.leaseTtlSeconds !== undefined;
  if (!checked || filter === 'ALL') return instances;
  const healthy = instances.filter((instance) => receivesTraffic(healthOf(instance, now)));
  switch (filter) {
    case 'HEALTHY':
      return healthy;
    case 'UNHEALTHY':
      return instances.filter((instance) => !receivesTraffic(healthOf(instance, now)));
    case 'HEALTHY_OR_ELSE_ALL':
      return healthy.length > 0 ? healthy : instances;
  }
}

/** A service's type from its namespace and request (Cloud Map's ServiceType). */
function serviceType(namespace: RegistryNamespace, input: CreateServiceRequest): string {
  if (namespace.type === 'HTTP') {
    if (input.DnsConfig !== undefined) {
      throw new InvalidInput(
        `DnsConfig: namespace ${namespace.id} is an HTTP namespace; its services have no DNS records`,
      );
    }
    return 'HTTP';
  }
  if (input.Type === 'HTTP') {
    if (input.DnsConfig !== undefined) {
      throw new InvalidInput('DnsConfig: must not be set when Type is HTTP');
    }
    return 'HTTP';
  }
  if (input.DnsConfig === undefined) {
    throw new InvalidInput(
      `DnsConfig: is required for a service in DNS namespace ${namespace.id} unless Type is HTTP`,
    );
  }
  return 'DNS_HTTP';
}

function withoutNamespaceId(config: DnsConfig): Record<string, unknown> {
  return {
    DnsRecords: config.DnsRecords,
    ...(config.RoutingPolicy !== undefined ? { RoutingPolicy: config.RoutingPolicy } : {}),
  };
}

/** RegisterInstance, Attributes: the records of a DNS service need the addresses they publish. */
function checkAttributesForDns(service: RegistryService, attributes: Record<string, string>): void {
  const records = (service.dnsConfig?.DnsRecords ?? []) as Array<{ Type: string }>;
  const has = (key: string) => Object.hasOwn(attributes, key);
  for (const { Type } of records) {
    if (Type === 'A' && !has(RESERVED_ATTRIBUTES.ipv4)) {
      throw new InvalidInput(
        `Attributes: ${RESERVED_ATTRIBUTES.ipv4} is required: service ${service.id} has an A record`,
      );
    }
    if (Type === 'AAAA' && !has(RESERVED_ATTRIBUTES.ipv6)) {
      throw new InvalidInput(
        `Attributes: ${RESERVED_ATTRIBUTES.ipv6} is required: service ${service.id} has an AAAA record`,
      );
    }
    if (Type === 'SRV' && !has(RESERVED_ATTRIBUTES.port)) {
      throw new InvalidInput(
        `Attributes: ${RESERVED_ATTRIBUTES.port} is required: service ${service.id} has an SRV record`,
      );
    }
  }
}

function changedDnsNamespace(
  namespace: RegistryNamespace,
  change: { Description?: string; Properties?: { DnsProperties: { SOA: { TTL: number } } } },
): RegistryNamespace {
  const soa = change.Properties?.DnsProperties.SOA;
  const dns = (namespace.properties.DnsProperties ?? {}) as Record<string, unknown>;
  return {
    ...namespace,
    description: change.Description ?? namespace.description,
    properties: soa
      ? { ...namespace.properties, DnsProperties: { ...dns, SOA: soa } }
      : namespace.properties,
  };
}

function namespaceNotFound(id: string): NamespaceNotFound {
  return new NamespaceNotFound(`Namespace ${id} not found`);
}

function serviceNotFound(id: string): ServiceNotFound {
  return new ServiceNotFound(`Service ${id} not found`);
}

function instanceNotFound(serviceId: string, id: string): InstanceNotFound {
  return new InstanceNotFound(`Instance ${id} not found in service ${serviceId}`);
}

function resourceNotFound(arn: string): ResourceNotFoundException {
  return new ResourceNotFoundException(`No namespace or service with ARN ${arn}`);
}

/** An operation that has already succeeded (Trellis completes every write before answering). */
function newOperation(
  type: string,
  targets: Record<string, string>,
  service?: RegistryService,
): RegistryOperation {
  const now = new Date();
  return {
    id: `${randomBytes(16).toString('hex')}-${randomBytes(4).toString('hex')}`,
    type,
    status: 'SUCCESS',
    targets,
    namespaceId: targets.NAMESPACE ?? service?.namespaceId,
    serviceId: service?.id,
    createdAt: now,
    updatedAt: now,
  };
}
