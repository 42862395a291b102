import { Body, Controller, Headers, Param, Put, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { BadRequestException } from '../../../../libs/mesh-model/src/errors';
import { parseWeightsRequest } from '../../../../libs/mesh-model/src/weighted-targets';
import { MESH_REVISION_HEADER, writeResponse } from '../app-mesh/app-mesh-request';
import { expectedVersionOf } from '../http/if-match';
import { RouteWeightsService, type WeightsPreview } from './route-weights.service';
import { Actor } from '../access/actor.decorator';

/**
 * `PUT /v1/meshes/{mesh}/virtualRouters/{router}/routes/{route}/weights` with
 * `{"targets": {"blue": 90, "green": 10}}`: shifts traffic between a route's targets.
 * `If-Match: "<route version>"` guards against overwriting a change made since the caller read
 * the route; `?dryRun=true` answers what the clients' sidecars would receive, writing nothing.
 */
@Controller('v1/meshes/:meshName/virtualRouters/:routerName/routes/:routeName/weights')
export class RouteWeightsController {
  constructor(private readonly weights: RouteWeightsService) {}

  @Put()
  async put(
    @Param() params: Record<string, string>,
    @Query('dryRun') dryRun: unknown,
    @Body() body: unknown,
    @Headers('if-match') ifMatch: string | undefined,
    @Actor() actor: string,
    @Res({ passthrough: true }) response: Response,
  ): Promise<Record<string, unknown> | WeightsPreview> {
    const { targets, reason } = parseWeightsRequest(body);
    const expectedVersion = expectedVersionOf(ifMatch, "the route's");
    const request = {
      id: {
        meshName: params.meshName!,
        kind: 'route' as const,
        parentName: params.routerName!,
        name: params.routeName!,
      },
      targets,
      actor,
      ...(expectedVersion !== undefined && { expectedVersion }),
      ...(reason !== undefined && { reason }),
    };
    if (isDryRun(dryRun)) {
      const preview = await this.weights.preview(request);
      response.setHeader(MESH_REVISION_HEADER, String(preview.revision));
      return preview;
    }
    const result = await this.weights.set(request);
    response.setHeader('etag', `"${result.version}"`);
    return writeResponse(response, result);
  }
}

function isDryRun(value: unknown): boolean {
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  throw new BadRequestException('dryRun: must be true or false');
}
