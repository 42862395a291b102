import { Controller, Get, Param, Query } from '@nestjs/common';
import { BadRequestException } from '../../../../libs/mesh-model/src/errors';
import { type Propagation, PropagationService } from './propagation.service';

/** Whether a mesh revision has reached every connected proxy: what CI waits on. */
@Controller('v1/meshes/:meshName/propagation')
export class PropagationController {
  constructor(private readonly propagation: PropagationService) {}

  @Get()
  async get(
    @Param('meshName') meshName: string,
    @Query('revision') revisionParam: unknown,
  ): Promise<Propagation> {
    let revision: number | undefined;
    if (revisionParam !== undefined) {
      // Digits only, and few enough to be an exact number and a Postgres bigint.
      if (typeof revisionParam !== 'string' || !/^\d{1,15}$/.test(revisionParam)) {
        throw new BadRequestException('revision: must be a non-negative integer');
      }
      revision = Number(revisionParam);
    }
    return this.propagation.propagation(meshName, revision);
  }
}
