import {
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  Param,
  Post,
  Put,
  UseFilters,
} from '@nestjs/common';
import {
  InvalidInput,
  ResourceNotFoundException,
} from '../../../../libs/mesh-model/src/cloud-map/errors';
import {
  validateCloudMapInput,
  type RegisterInstanceRequest,
} from '../../../../libs/mesh-model/src/cloud-map/validation';
import { isObject } from '../../../../libs/mesh-model/src/model-validation';
import { actorFrom } from '../app-mesh/app-mesh-request';
import { CloudMapExceptionFilter } from './cloud-map-exception.filter';
import { CloudMapService } from './cloud-map.service';
import { RegistryEndpointsViewService } from './registry-endpoints-view.service';

/** The longest lease Trellis accepts: a day. */
const MAX_LEASE_TTL_SECONDS = 86_400;

/**
 * Trellis' own registry API (/v1/registry): instance leases and heartbeats, instances with
 * their health, and what each Cloud Map–discovered virtual node's callers receive. Errors use
 * Cloud Map's names (with `x-amzn-ErrorType` and `{"message"}`, as every Trellis error).
 */
@Controller('v1/registry')
@UseFilters(CloudMapExceptionFilter)
export class RegistryController {
  constructor(
    private readonly cloudMap: CloudMapService,
    private readonly view: RegistryEndpointsViewService,
  ) {}

  @Get('services/:serviceId/instances')
  instances(@Param('serviceId') serviceId: string): Promise<Record<string, unknown>> {
    return this.cloudMap.instancesWithHealth(serviceId);
  }

  /** `{"ttlSeconds": n}` gives the service's instances leases of n seconds; `null` removes them. */
  @Put('services/:serviceId/lease')
  async lease(
    @Param('serviceId') serviceId: string,
    @Body() body: unknown,
    @Headers('authorization') authorization: string | undefined,
  ): Promise<Record<string, unknown>> {
    if (!isObject(body) || !('ttlSeconds' in body)) {
      throw new InvalidInput('ttlSeconds: is required (a number of seconds, or null)');
    }
    const ttl = body.ttlSeconds;
    if (
      ttl !== null &&
      !(
        typeof ttl === 'number' &&
        Number.isInteger(ttl) &&
        ttl >= 1 &&
        ttl <= MAX_LEASE_TTL_SECONDS
      )
    ) {
      throw new InvalidInput(
        `ttlSeconds: must be an integer from 1 to ${MAX_LEASE_TTL_SECONDS}, or null, got ${JSON.stringify(ttl)}`,
      );
    }
    const unknown = Object.keys(body).filter((key) => key !== 'ttlSeconds');
    if (unknown.length > 0) throw new InvalidInput(`${unknown[0]}: unknown field`);
    const service = await this.cloudMap.setLeaseTtl(serviceId, ttl, actorFrom(authorization));
    return { serviceId: service.id, ttlSeconds: service.leaseTtlSeconds ?? null };
  }

  @Post('services/:serviceId/instances/:instanceId/heartbeat')
  @HttpCode(200)
  async heartbeat(
    @Param('serviceId') serviceId: string,
    @Param('instanceId') instanceId: string,
    @Headers('authorization') authorization: string | undefined,
  ): Promise<Record<string, unknown>> {
    const { leaseExpiresAt } = await this.cloudMap.heartbeat(
      serviceId,
      instanceId,
      actorFrom(authorization),
    );
    return { serviceId, instanceId, leaseExpiresAt: leaseExpiresAt.toISOString() };
  }

  /** Registers (or re-registers) an instance: `{"attributes": {...}}`, as RegisterInstance takes them. */
  @Put('services/:serviceId/instances/:instanceId')
  register(
    @Param('serviceId') serviceId: string,
    @Param('instanceId') instanceId: string,
    @Body() body: unknown,
    @Headers('authorization') authorization: string | undefined,
  ): Promise<Record<string, unknown>> {
    const attributes = isObject(body) ? body.attributes : undefined;
    const input = { ServiceId: serviceId, InstanceId: instanceId, Attributes: attributes };
    validateCloudMapInput('RegisterInstance', input);
    return this.cloudMap.RegisterInstance(
      input as RegisterInstanceRequest,
      actorFrom(authorization),
    );
  }

  @Post('services/:serviceId/instances/:instanceId/deregister')
  @HttpCode(200)
  deregister(
    @Param('serviceId') serviceId: string,
    @Param('instanceId') instanceId: string,
    @Headers('authorization') authorization: string | undefined,
  ): Promise<Record<string, unknown>> {
    const input = { ServiceId: serviceId, InstanceId: instanceId };
    validateCloudMapInput('DeregisterInstance', input);
    return this.cloudMap.DeregisterInstance(input, actorFrom(authorization));
  }

  @Get('meshes/:mesh/virtual-nodes')
  async virtualNodes(@Param('mesh') mesh: string): Promise<Record<string, unknown>> {
    const virtualNodes = await this.view.virtualNodes(mesh);
    if (!virtualNodes) throw new ResourceNotFoundException(`Mesh ${mesh} not found`);
    return { virtualNodes };
  }
}
