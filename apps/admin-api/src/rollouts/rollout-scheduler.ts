import { Client } from 'pg';
import type { Logger } from 'pino';
import { RolloutStore } from '../../../../libs/persistence/src/rollout-store';
import { RolloutRunner } from './rollout-runner';

/** Any fixed number; it only has to be the same in every Trellis process. */
export const SCHEDULER_LOCK_KEY = 7_152_024_003;

export interface RolloutSchedulerOptions {
  /** Postgres for the lock's own connection. */
  databaseUrl: string;
  /** How often the owner looks for due work, and others try to become the owner. */
  tickMs: number;
}

/**
 * Drives every rollout of the installation from one process at a time: the one holding a
 * Postgres session advisory lock on a connection of its own. The others try again every
 * tick, so when the owner stops (or its connection dies and Postgres drops the lock) another
 * takes over within a tick. Each rollout's state is in Postgres, so the new owner continues
 * where the old one stopped.
 */
export class RolloutScheduler {
  private client?: Client;
  private owner = false;
  private stopped = false;
  private timer?: NodeJS.Timeout;
  private ticking?: Promise<void>;
  /** Aborted on stop, so gate calls in flight do not hold the shutdown up. */
  private readonly stopping = new AbortController();
  /** Rollouts being advanced, so a slow one (a gate) never runs twice at once. */
  private readonly inFlight = new Map<string, Promise<void>>();

  constructor(
    private readonly store: RolloutStore,
    private readonly runner: RolloutRunner,
    private readonly options: RolloutSchedulerOptions,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.schedule(0);
  }

  /** True while this process holds the lock. */
  get isOwner(): boolean {
    return this.owner;
  }

  /** Finishes the work in flight, then releases the lock (by closing its connection). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    clearTimeout(this.timer);
    await this.ticking;
    await Promise.allSettled(this.inFlight.values());
    await this.release();
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.ticking = this.tick().finally(() => {
        this.ticking = undefined;
        this.schedule(this.options.tickMs);
      });
    }, delayMs);
  }

  private async tick(): Promise<void> {
    try {
      if (!(await this.holdLock())) return;
      for (const id of await this.store.runnable()) {
        if (this.stopped) return;
        if (this.inFlight.has(id)) continue;
        const work = this.runner
          .advance(id, this.stopping.signal)
          .catch((error: unknown) =>
            this.logger.warn({ err: error, rollout: id }, 'rollout step failed; retrying'),
          )
          .finally(() => this.inFlight.delete(id));
        this.inFlight.set(id, work);
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'rollout scheduler tick failed; retrying');
    }
  }

  /** Whether this process owns the scheduler now: keeps the lock, or tries to take it. */
  private async holdLock(): Promise<boolean> {
    try {
      if (this.owner && this.client) {
        // A query on the lock's connection proves the session, and so the lock, still exists.
        await this.client.query('SELECT 1');
        return true;
      }
      if (!this.client) this.client = await this.connect();
      const result = await this.client.query<{ locked: boolean }>(
        'SELECT pg_try_advisory_lock($1) AS locked',
        [SCHEDULER_LOCK_KEY],
      );
      this.owner = result.rows[0]?.locked === true;
      if (this.owner) this.logger.info('this process now runs the rollout scheduler');
      return this.owner;
    } catch (error) {
      if (this.owner) this.logger.warn({ err: error }, 'lost the rollout scheduler lock');
      await this.release();
      return false;
    }
  }

  private async connect(): Promise<Client> {
    const client = new Client({ connectionString: this.options.databaseUrl });
    // A dropped connection surfaces as an error event; the next tick finds out and reconnects.
    client.on('error', () => {
      this.owner = false;
    });
    try {
      await client.connect();
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    return client;
  }

  private async release(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.owner = false;
    // Closing the session releases its advisory locks.
    await client?.end().catch(() => undefined);
  }
}

/** Starts the scheduler of an admin API application (its store and runner come from the app). */
export function startRolloutScheduler(
  app: { get<T>(type: abstract new (...args: never[]) => T): T },
  options: RolloutSchedulerOptions,
  logger: Logger,
): RolloutScheduler {
  const scheduler = new RolloutScheduler(
    app.get(RolloutStore),
    app.get(RolloutRunner),
    options,
    logger,
  );
  scheduler.start();
  return scheduler;
}
