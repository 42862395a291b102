import { Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { BadRequestException } from '../../../../libs/mesh-model/src/errors';
import { RESOURCE_KINDS, type ResourceKind } from '../../../../libs/mesh-model/src/resource-kinds';
import type { ChangeFilter } from '../../../../libs/persistence/src/mesh-store';
import { writeResponse } from '../app-mesh/app-mesh-request';
import { type HistoryPage, MeshHistoryService } from './mesh-history.service';
import { MeshRevertService } from './mesh-revert.service';
import { Actor } from '../access/actor.decorator';

const MAX_PAGE_SIZE = 100;

/**
 * A mesh's change log as history (`GET /v1/meshes/{mesh}/history`), and going back to an
 * earlier revision (`POST /v1/meshes/{mesh}/revisions/{n}/revert`).
 */
@Controller('v1/meshes/:meshName')
export class MeshHistoryController {
  constructor(
    private readonly history: MeshHistoryService,
    private readonly reverts: MeshRevertService,
  ) {}

  /** `?kind=route&parent=web&name=canary&rolloutId=…&limit=50&nextToken=…`, all optional. */
  @Get('history')
  list(
    @Param('meshName') meshName: string,
    @Query() query: Record<string, unknown>,
  ): Promise<HistoryPage> {
    const kind = single(query, 'kind');
    if (kind !== undefined && !Object.hasOwn(RESOURCE_KINDS, kind)) {
      throw new BadRequestException(
        `kind: must be one of ${Object.keys(RESOURCE_KINDS).join(', ')}, got ${kind}`,
      );
    }
    const parent = single(query, 'parent');
    const name = single(query, 'name');
    const rolloutId = single(query, 'rolloutId');
    const filter: ChangeFilter = {
      ...(kind !== undefined && { kind: kind as ResourceKind }),
      ...(parent !== undefined && { parentName: parent }),
      ...(name !== undefined && { name }),
      ...(rolloutId !== undefined && { rolloutId }),
    };
    const limitText = single(query, 'limit');
    const limit = limitText === undefined ? MAX_PAGE_SIZE : Number(limitText);
    if (!/^\d+$/.test(limitText ?? '1') || limit < 1 || limit > MAX_PAGE_SIZE) {
      throw new BadRequestException(`limit: must be an integer from 1 to ${MAX_PAGE_SIZE}`);
    }
    return this.history.list(meshName, filter, limit, single(query, 'nextToken'));
  }

  @Post('revisions/:revision/revert')
  @HttpCode(200)
  async revert(
    @Param('meshName') meshName: string,
    @Param('revision') revisionText: string,
    @Actor() actor: string,
    @Res({ passthrough: true }) response: Response,
  ): Promise<Record<string, unknown>> {
    if (!/^\d{1,15}$/.test(revisionText)) {
      throw new BadRequestException(
        `revision: must be a non-negative integer, got ${revisionText}`,
      );
    }
    const result = await this.reverts.revert(meshName, Number(revisionText), actor);
    return writeResponse(response, result);
  }
}

function single(query: Record<string, unknown>, name: string): string | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new BadRequestException(`${name}: must be given once`);
  return value;
}
