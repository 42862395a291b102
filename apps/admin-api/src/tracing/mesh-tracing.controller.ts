import { Body, Controller, Get, Inject, Param, Put, Res } from '@nestjs/common';
import type { Response } from 'express';
import { NotFoundException } from '../../../../libs/mesh-model/src/errors';
import { describeMissing, meshId } from '../../../../libs/mesh-model/src/resource-kinds';
import { parseMeshTracing } from '../../../../libs/mesh-model/src/tracing';
import { MeshStore } from '../../../../libs/persistence/src/mesh-store';
import { ADMIN_API_OPTIONS, type AdminApiOptions } from '../admin-api.options';
import { writeResponse } from '../app-mesh/app-mesh-request';
import { Actor } from '../access/actor.decorator';

/**
 * X-Ray settings of a mesh (Trellis' native API). A change is a mesh write like any
 * other: new revision, change-log row, and new listeners for that mesh's proxies.
 */
@Controller('v1/meshes/:meshName/tracing')
export class MeshTracingController {
  constructor(
    private readonly store: MeshStore,
    @Inject(ADMIN_API_OPTIONS) private readonly options: AdminApiOptions,
  ) {}

  @Get()
  async get(@Param('meshName') meshName: string): Promise<Record<string, unknown>> {
    if (!(await this.store.get(meshId(meshName)))) {
      throw new NotFoundException(describeMissing(meshId(meshName), this.options.accountId));
    }
    return { meshName, tracing: (await this.store.tracing(meshName)) ?? {} };
  }

  @Put()
  async put(
    @Param('meshName') meshName: string,
    @Body() body: unknown,
    @Actor() actor: string,
    @Res({ passthrough: true }) response: Response,
  ): Promise<Record<string, unknown>> {
    const tracing = parseMeshTracing(body);
    const result = await this.store.write(meshName, async (tx) => {
      if (!(await tx.lockMesh(meshName))) {
        throw new NotFoundException(describeMissing(meshId(meshName), this.options.accountId));
      }
      const before = await tx.replaceTracing(meshName, tracing);
      const revision = await tx.recordChange({
        id: meshId(meshName),
        operation: 'TRACING',
        actor,
        before: before ?? null,
        after: tracing,
      });
      return { body: { meshName, tracing }, revision };
    });
    return writeResponse(response, result);
  }
}
