import { Body, Controller, Delete, Get, Headers, Param, Put, Res } from '@nestjs/common';
import type { Response } from 'express';
import { BadRequestException } from '../../../../libs/mesh-model/src/errors';
import { parseHeaderRules } from '../../../../libs/mesh-model/src/header-rules';
import type { ResourceId } from '../../../../libs/mesh-model/src/resource-kinds';
import { writeResponse } from '../app-mesh/app-mesh-request';
import { Actor } from '../access/actor.decorator';
import { expectedVersionOf } from '../http/if-match';
import { HeaderRulesService, type HeaderRuleWriteResult } from './header-rules.service';

/** App Mesh's ResourceName: 1 to 255 characters. */
const MAX_NAME_LENGTH = 255;

type Labels = Record<string, string>;

/**
 * `GET|PUT|DELETE /v1/meshes/{mesh}/virtualRouters/{router}/routes/{route}/headers` and
 * `…/virtualGateways/{gateway}/gatewayRoutes/{gatewayRoute}/headers`: the header rule of a route
 * or gateway route (docs/api.md, "Header rules"). The PUT body is the rule,
 * `{"requestHeadersToAdd": [{"name", "value", "append"}], "requestHeadersToRemove": [...],
 * "responseHeadersToAdd": [...], "responseHeadersToRemove": [...]}`. Writes answer the rule's
 * version as `ETag`; `If-Match` guards against overwriting a change made since it was read.
 */
abstract class HeaderRulesController {
  constructor(
    private readonly rules: HeaderRulesService,
    private readonly kind: 'routeHeaderRule' | 'gatewayRouteHeaderRule',
    private readonly parentLabel: string,
    private readonly nameLabel: string,
  ) {}

  @Get()
  get(@Param() labels: Labels): Promise<Record<string, unknown>> {
    return this.rules.get(this.id(labels));
  }

  @Put()
  async put(
    @Param() labels: Labels,
    @Body() body: unknown,
    @Headers('if-match') ifMatch: string | undefined,
    @Actor() actor: string,
    @Res({ passthrough: true }) response: Response,
  ): Promise<Record<string, unknown>> {
    const id = this.id(labels);
    const expectedVersion = expectedVersionOf(ifMatch, "the header rule's");
    const rules = parseHeaderRules(body);
    const result = await this.rules.put(
      { id, actor, ...(expectedVersion !== undefined && { expectedVersion }) },
      rules,
    );
    return answer(response, result);
  }

  @Delete()
  async delete(
    @Param() labels: Labels,
    @Headers('if-match') ifMatch: string | undefined,
    @Actor() actor: string,
    @Res({ passthrough: true }) response: Response,
  ): Promise<Record<string, unknown>> {
    const id = this.id(labels);
    const expectedVersion = expectedVersionOf(ifMatch, "the header rule's");
    const result = await this.rules.delete({
      id,
      actor,
      ...(expectedVersion !== undefined && { expectedVersion }),
    });
    return answer(response, result);
  }

  private id(labels: Labels): ResourceId {
    const problems = ['meshName', this.parentLabel, this.nameLabel]
      .filter((label) => (labels[label]?.length ?? 0) > MAX_NAME_LENGTH)
      .map((label) => `${label}: must be 1 to ${MAX_NAME_LENGTH} characters`);
    if (problems.length > 0) throw new BadRequestException(problems.join('; '));
    return {
      meshName: labels.meshName!,
      kind: this.kind,
      parentName: labels[this.parentLabel]!,
      name: labels[this.nameLabel]!,
    };
  }
}

function answer(response: Response, result: HeaderRuleWriteResult): Record<string, unknown> {
  response.setHeader('etag', `"${result.version}"`);
  return writeResponse(response, result);
}

@Controller('v1/meshes/:meshName/virtualRouters/:virtualRouterName/routes/:routeName/headers')
export class RouteHeaderRulesController extends HeaderRulesController {
  constructor(rules: HeaderRulesService) {
    super(rules, 'routeHeaderRule', 'virtualRouterName', 'routeName');
  }
}

@Controller(
  'v1/meshes/:meshName/virtualGateways/:virtualGatewayName/gatewayRoutes/:gatewayRouteName/headers',
)
export class GatewayRouteHeaderRulesController extends HeaderRulesController {
  constructor(rules: HeaderRulesService) {
    super(rules, 'gatewayRouteHeaderRule', 'virtualGatewayName', 'gatewayRouteName');
  }
}
