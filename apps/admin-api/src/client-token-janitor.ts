import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { MeshStore } from '../../../libs/persistence/src/mesh-store';

export const JANITOR_LOGGER = Symbol('JanitorLogger');

/** How long a client token makes a retry return the first answer (docs/api.md). */
export const CLIENT_TOKEN_RETENTION_MS = 24 * 60 * 60 * 1000;
const PURGE_INTERVAL_MS = 60 * 60 * 1000;

/**
 * The AWS SDKs send a fresh client token with every Create/Update, so tokens pile up;
 * once an hour the ones past their retention are deleted.
 */
@Injectable()
export class ClientTokenJanitor implements OnModuleInit, OnModuleDestroy {
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly store: MeshStore,
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
      const purged = await this.store.purgeClientTokens(
        new Date(Date.now() - CLIENT_TOKEN_RETENTION_MS),
      );
      if (purged > 0) this.logger.info({ purged }, 'purged expired client tokens');
    } catch (error) {
      this.logger.warn({ err: error }, 'client token purge failed; retrying in an hour');
    }
  }
}
