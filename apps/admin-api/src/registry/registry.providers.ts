import type { Provider, Type } from '@nestjs/common';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { RegistryStore } from '../../../../libs/persistence/src/registry-store';
import { CloudMapExceptionFilter, REGISTRY_LOGGER } from './cloud-map-exception.filter';
import { CloudMapController } from './cloud-map.controller';
import { CloudMapService } from './cloud-map.service';
import { RegistryEndpointsViewService } from './registry-endpoints-view.service';
import { RegistryController } from './registry.controller';

/** The service registry's controllers: Cloud Map's API and Trellis' /v1/registry. */
export const registryControllers: Type[] = [CloudMapController, RegistryController];

export function registryProviders(dataSource: DataSource, logger: Logger): Provider[] {
  return [
    { provide: RegistryStore, useFactory: () => new RegistryStore(dataSource) },
    { provide: REGISTRY_LOGGER, useValue: logger },
    CloudMapExceptionFilter,
    CloudMapService,
    RegistryEndpointsViewService,
  ];
}
