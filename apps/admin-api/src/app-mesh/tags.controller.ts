import { Body, Controller, Get, Put, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import type { Tag } from '../../../../libs/persistence/src/mesh-store';
import { operationInput, writeResponse } from './app-mesh-request';
import { MeshResourceService } from './mesh-resource.service';
import { Actor } from '../access/actor.decorator';

type Query = Record<string, unknown>;

/** TagResource, UntagResource and ListTagsForResource, addressed by ARN. */
@Controller('v20190125')
export class TagsController {
  constructor(private readonly resources: MeshResourceService) {}

  @Put('tag')
  async tag(
    @Query() query: Query,
    @Body() body: unknown,
    @Actor() actor: string,
    @Res({ passthrough: true }) response: Response,
  ): Promise<Record<string, unknown>> {
    const input = operationInput('TagResource', {}, query, body);
    const result = await this.resources.tag(
      input.resourceArn as string,
      input.tags as Tag[],
      actor,
    );
    return writeResponse(response, result);
  }

  @Put('untag')
  async untag(
    @Query() query: Query,
    @Body() body: unknown,
    @Actor() actor: string,
    @Res({ passthrough: true }) response: Response,
  ): Promise<Record<string, unknown>> {
    const input = operationInput('UntagResource', {}, query, body);
    const result = await this.resources.untag(
      input.resourceArn as string,
      input.tagKeys as string[],
      actor,
    );
    return writeResponse(response, result);
  }

  @Get('tags')
  async list(@Query() query: Query): Promise<Record<string, unknown>> {
    const input = operationInput('ListTagsForResource', {}, query, undefined);
    const page = await this.resources.listTags(
      input.resourceArn as string,
      input.limit as number | undefined,
      input.nextToken as string | undefined,
    );
    return { tags: page.tags, ...(page.nextToken ? { nextToken: page.nextToken } : {}) };
  }
}
