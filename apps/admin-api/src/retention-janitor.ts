import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { MeshStore } from '../../../libs/persistence/src/mesh-store';
import { RegistryStore } from '../../../libs/persistence/src/registry-store';
import { ADMIN_API_OPTIONS, type AdminApiOptions } from './admin-api.options';

export const JANITOR_LOGGER = Symbol('JanitorLogger');

/** How long a client token makes a retry return the first answer (docs/api.md). */
export const CLIENT_TOKEN_RETENTION_MS = 24 * 60 * 60 * 1000;
const PURGE_INTERVAL_MS = 60 * 60 * 1000;

/**
 * What grows with every write and is only needed for a while, deleted once an hour past its
 * retention: client tokens (the AWS SDKs send a fresh one with every Create/Update), and the
 * registry's operations and change log (every RegisterInstance adds one of each; docs/registry.md).
 * The mesh change log is history that revert needs, and is kept.
 */
@Injectable()
export class RetentionJanitor implements OnModuleInit, OnModuleDestroy {
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly meshes: MeshStore,
    private readonly registry: RegistryStore,
    @Inject(ADMIN_API_OPTIONS) private readonly options: Pick<AdminApiOptions, 'registryHistoryMs'>,
    @Inject(JANITOR_LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.purge(), PURGE_INTERVAL_MS).unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  async purge(): Promise<void> {
    try {
      const tokens = await this.meshes.purgeClientTokens(
        new Date(Date.now() - CLIENT_TOKEN_RETENTION_MS),
      );
      const registry = await this.registry.purgeHistory(
        new Date(Date.now() - this.options.registryHistoryMs),
      );
      if (tokens + registry.operations + registry.changes > 0) {
        this.logger.info({ tokens, ...registry }, 'purged records past their retention');
      }
    } catch (error) {
      this.logger.warn(
        { err: error },
        'purging records past their retention failed; retrying in an hour',
      );
    }
  }
}
