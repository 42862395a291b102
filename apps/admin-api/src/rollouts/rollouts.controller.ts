import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { NotFoundException } from '../../../../libs/mesh-model/src/errors';
import { type RolloutAction, type RolloutView, RolloutsService } from './rollouts.service';
import { Actor } from '../access/actor.decorator';

const ACTIONS: readonly string[] = [
  'pause',
  'resume',
  'promote',
  'abort',
] satisfies RolloutAction[];

/** Progressive rollouts of a route's weights (docs/rollouts.md). */
@Controller('v1/meshes/:meshName/rollouts')
export class RolloutsController {
  constructor(private readonly rollouts: RolloutsService) {}

  @Post()
  @HttpCode(201)
  create(
    @Param('meshName') meshName: string,
    @Body() body: unknown,
    @Actor() actor: string,
  ): Promise<RolloutView> {
    return this.rollouts.create(meshName, body, actor);
  }

  @Get()
  list(
    @Param('meshName') meshName: string,
    @Query('state') state: unknown,
  ): Promise<{ rollouts: RolloutView[] }> {
    return this.rollouts.list(meshName, state);
  }

  @Get(':id')
  get(@Param('meshName') meshName: string, @Param('id') id: string): Promise<RolloutView> {
    return this.rollouts.get(meshName, id);
  }

  @Post(':id/:action')
  @HttpCode(200)
  act(
    @Param('meshName') meshName: string,
    @Param('id') id: string,
    @Param('action') action: string,
    @Body() body: unknown,
    @Actor() actor: string,
  ): Promise<RolloutView> {
    if (!ACTIONS.includes(action)) {
      throw new NotFoundException(
        `No rollout action ${action}; the actions are ${ACTIONS.join(', ')}`,
      );
    }
    return this.rollouts.act(meshName, id, action as RolloutAction, body, actor);
  }
}
