import { Body, Controller, Delete, Get, Param, Put, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import {
  RESOURCE_KINDS,
  type ResourceId,
  type ResourceKind,
} from '../../../../libs/mesh-model/src/resource-kinds';
import type { Tag } from '../../../../libs/persistence/src/mesh-store';
import { checkMeshOwner, operationInput, writeResponse } from './app-mesh-request';
import { MeshResourceService } from './mesh-resource.service';
import { Inject } from '@nestjs/common';
import { ADMIN_API_OPTIONS, type AdminApiOptions } from '../admin-api.options';
import { Actor } from '../access/actor.decorator';

type Query = Record<string, unknown>;

/**
 * The five operations of a resource that lives in a mesh. Subclasses only bind a URL
 * (`:meshName`, `:parentName` for a route's virtual router, `:name`) and a kind.
 */
abstract class MeshChildController {
  constructor(
    private readonly resources: MeshResourceService,
    private readonly options: AdminApiOptions,
    private readonly kind: ResourceKind,
  ) {}

  @Put()
  async create(
    @Param() params: Record<string, string>,
    @Query() query: Query,
    @Body() body: unknown,
    @Actor() actor: string,
    @Res({ passthrough: true }) response: Response,
  ): Promise<Record<string, unknown>> {
    const info = RESOURCE_KINDS[this.kind];
    const input = this.input(`Create${info.typeName}`, params, query, body);
    const result = await this.resources.create({
      operation: `Create${info.typeName}`,
      id: this.id(params, input[info.nameMember] as string),
      spec: input.spec as Record<string, unknown>,
      tags: input.tags as Tag[] | undefined,
      clientToken: input.clientToken as string | undefined,
      actor,
    });
    return writeResponse(response, result);
  }

  @Get()
  async list(
    @Param() params: Record<string, string>,
    @Query() query: Query,
  ): Promise<Record<string, unknown>> {
    const info = RESOURCE_KINDS[this.kind];
    const input = this.input(
      `List${info.listMember[0]!.toUpperCase()}${info.listMember.slice(1)}`,
      params,
      query,
      undefined,
    );
    const page = await this.resources.list(
      this.kind,
      params.meshName,
      params.parentName ?? '',
      input.limit as number | undefined,
      input.nextToken as string | undefined,
    );
    return {
      [info.listMember]: page.items,
      ...(page.nextToken ? { nextToken: page.nextToken } : {}),
    };
  }

  @Get(':name')
  describe(
    @Param() params: Record<string, string>,
    @Query() query: Query,
  ): Promise<Record<string, unknown>> {
    this.input(`Describe${RESOURCE_KINDS[this.kind].typeName}`, params, query, undefined);
    return this.resources.describe(this.id(params, params.name!));
  }

  @Put(':name')
  async update(
    @Param() params: Record<string, string>,
    @Query() query: Query,
    @Body() body: unknown,
    @Actor() actor: string,
    @Res({ passthrough: true }) response: Response,
  ): Promise<Record<string, unknown>> {
    const operation = `Update${RESOURCE_KINDS[this.kind].typeName}`;
    const input = this.input(operation, params, query, body);
    const result = await this.resources.update({
      operation,
      id: this.id(params, params.name!),
      spec: input.spec as Record<string, unknown>,
      clientToken: input.clientToken as string | undefined,
      actor,
    });
    return writeResponse(response, result);
  }

  @Delete(':name')
  async delete(
    @Param() params: Record<string, string>,
    @Query() query: Query,
    @Actor() actor: string,
    @Res({ passthrough: true }) response: Response,
  ): Promise<Record<string, unknown>> {
    this.input(`Delete${RESOURCE_KINDS[this.kind].typeName}`, params, query, undefined);
    const result = await this.resources.delete(this.id(params, params.name!), actor);
    return writeResponse(response, result);
  }

  /** Validates the operation's input, with URL labels under the model's member names. */
  private input(
    operation: string,
    params: Record<string, string>,
    query: Query,
    body: unknown,
  ): Record<string, unknown> {
    const info = RESOURCE_KINDS[this.kind];
    const labels: Record<string, string | undefined> = { meshName: params.meshName };
    if (info.parentKind) labels[RESOURCE_KINDS[info.parentKind].nameMember] = params.parentName;
    if (params.name !== undefined) labels[info.nameMember] = params.name;
    const input = operationInput(operation, labels, query, body);
    checkMeshOwner(input, params.meshName!, this.options.accountId);
    return input;
  }

  private id(params: Record<string, string>, name: string): ResourceId {
    return {
      meshName: params.meshName!,
      kind: this.kind,
      parentName: params.parentName ?? '',
      name,
    };
  }
}

@Controller('v20190125/meshes/:meshName/virtualNodes')
export class VirtualNodesController extends MeshChildController {
  constructor(resources: MeshResourceService, @Inject(ADMIN_API_OPTIONS) options: AdminApiOptions) {
    super(resources, options, 'virtualNode');
  }
}

@Controller('v20190125/meshes/:meshName/virtualRouters')
export class VirtualRoutersController extends MeshChildController {
  constructor(resources: MeshResourceService, @Inject(ADMIN_API_OPTIONS) options: AdminApiOptions) {
    super(resources, options, 'virtualRouter');
  }
}

/** Routes sit under the singular `virtualRouter` path segment, as in App Mesh. */
@Controller('v20190125/meshes/:meshName/virtualRouter/:parentName/routes')
export class RoutesController extends MeshChildController {
  constructor(resources: MeshResourceService, @Inject(ADMIN_API_OPTIONS) options: AdminApiOptions) {
    super(resources, options, 'route');
  }
}

@Controller('v20190125/meshes/:meshName/virtualServices')
export class VirtualServicesController extends MeshChildController {
  constructor(resources: MeshResourceService, @Inject(ADMIN_API_OPTIONS) options: AdminApiOptions) {
    super(resources, options, 'virtualService');
  }
}

@Controller('v20190125/meshes/:meshName/virtualGateways')
export class VirtualGatewaysController extends MeshChildController {
  constructor(resources: MeshResourceService, @Inject(ADMIN_API_OPTIONS) options: AdminApiOptions) {
    super(resources, options, 'virtualGateway');
  }
}

/** Gateway routes sit under the singular `virtualGateway` path segment, as in App Mesh. */
@Controller('v20190125/meshes/:meshName/virtualGateway/:parentName/gatewayRoutes')
export class GatewayRoutesController extends MeshChildController {
  constructor(resources: MeshResourceService, @Inject(ADMIN_API_OPTIONS) options: AdminApiOptions) {
    super(resources, options, 'gatewayRoute');
  }
}
