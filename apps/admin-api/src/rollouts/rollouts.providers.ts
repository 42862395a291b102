import type { Provider } from '@nestjs/common';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { RolloutStore } from '../../../../libs/persistence/src/rollout-store';
import { ROLLOUT_LOGGER, RolloutRunner } from './rollout-runner';
import { RolloutsService } from './rollouts.service';

/** What the rollouts API and scheduler need in the admin API module. */
export function rolloutProviders(dataSource: DataSource, logger: Logger): Provider[] {
  return [
    { provide: RolloutStore, useFactory: () => new RolloutStore(dataSource) },
    { provide: ROLLOUT_LOGGER, useValue: logger },
    RolloutRunner,
    RolloutsService,
  ];
}
