import { Body, Controller, Delete, Get, Inject, Param, Put, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { meshId } from '../../../../libs/mesh-model/src/resource-kinds';
import type { Tag } from '../../../../libs/persistence/src/mesh-store';
import { ADMIN_API_OPTIONS, type AdminApiOptions } from '../admin-api.options';
import { checkMeshOwner, operationInput, writeResponse } from './app-mesh-request';
import { MeshResourceService } from './mesh-resource.service';
import { Actor } from '../access/actor.decorator';

type Query = Record<string, unknown>;

@Controller('v20190125/meshes')
export class MeshesController {
  constructor(
    private readonly resources: MeshResourceService,
    @Inject(ADMIN_API_OPTIONS) private readonly options: AdminApiOptions,
  ) {}

  @Put()
  async create(
    @Query() query: Query,
    @Body() body: unknown,
    @Actor() actor: string,
    @Res({ passthrough: true }) response: Response,
  ): Promise<Record<string, unknown>> {
    const input = operationInput('CreateMesh', {}, query, body);
    const result = await this.resources.create({
      operation: 'CreateMesh',
      id: meshId(input.meshName as string),
      // A mesh spec is optional; App Mesh answers `"spec": {}` without filling defaults.
      spec: (input.spec as Record<string, unknown> | undefined) ?? {},
      tags: input.tags as Tag[] | undefined,
      clientToken: input.clientToken as string | undefined,
      actor,
    });
    return writeResponse(response, result);
  }

  @Get()
  async list(@Query() query: Query): Promise<Record<string, unknown>> {
    const input = operationInput('ListMeshes', {}, query, undefined);
    const page = await this.resources.list(
      'mesh',
      undefined,
      '',
      input.limit as number | undefined,
      input.nextToken as string | undefined,
    );
    return { meshes: page.items, ...(page.nextToken ? { nextToken: page.nextToken } : {}) };
  }

  @Get(':meshName')
  describe(
    @Param('meshName') meshName: string,
    @Query() query: Query,
  ): Promise<Record<string, unknown>> {
    const input = operationInput('DescribeMesh', { meshName }, query, undefined);
    checkMeshOwner(input, meshName, this.options.accountId);
    return this.resources.describe(meshId(meshName));
  }

  @Put(':meshName')
  async update(
    @Param('meshName') meshName: string,
    @Query() query: Query,
    @Body() body: unknown,
    @Actor() actor: string,
    @Res({ passthrough: true }) response: Response,
  ): Promise<Record<string, unknown>> {
    const input = operationInput('UpdateMesh', { meshName }, query, body);
    const result = await this.resources.update({
      operation: 'UpdateMesh',
      id: meshId(meshName),
      spec: (input.spec as Record<string, unknown> | undefined) ?? {},
      clientToken: input.clientToken as string | undefined,
      actor,
    });
    return writeResponse(response, result);
  }

  @Delete(':meshName')
  async delete(
    @Param('meshName') meshName: string,
    @Query() query: Query,
    @Actor() actor: string,
    @Res({ passthrough: true }) response: Response,
  ): Promise<Record<string, unknown>> {
    operationInput('DeleteMesh', { meshName }, query, undefined);
    const result = await this.resources.delete(meshId(meshName), actor);
    return writeResponse(response, result);
  }
}
