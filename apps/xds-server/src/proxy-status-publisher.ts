import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { ProxyStatusStore } from '../../../libs/persistence/src/proxy-status-store';
import type { XdsEngine } from '../../../libs/xds/src/xds-engine';

export interface ProxyStatusPublisherOptions {
  /** How often changed statuses are written (a throttle: many ACKs become one write). */
  intervalMs: number;
  /** How long disconnected proxies, and replicas that stopped heartbeating, stay listed. */
  graceSeconds: number;
}

/**
 * Copies the engine's per-proxy status to Postgres, so the admin API can show it whether
 * it runs in this process or another. Only streams whose status changed are written.
 */
export class ProxyStatusPublisher {
  readonly replicaId = randomUUID();
  private timer?: NodeJS.Timeout;
  private publishing: Promise<void> = Promise.resolve();
  /** Closed streams not yet written as disconnected. */
  private closed: number[] = [];

  constructor(
    private readonly engine: XdsEngine,
    private readonly store: ProxyStatusStore,
    private readonly logger: Logger,
    private readonly options: ProxyStatusPublisherOptions,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.publish(), this.options.intervalMs);
    this.timer.unref();
  }

  /** Writes what changed since the last publish. */
  publish(): Promise<void> {
    this.publishing = this.publishing.then(async () => {
      const { changed, closed, opened } = this.engine.takeStatusChanges();
      if (opened > 0 || closed.length > 0) {
        // One line per interval, not per proxy: a reconnect storm is 10,000 connections.
        this.logger.info(
          { connected: this.engine.connectedCount, opened, closed: closed.length },
          'proxies connected or disconnected',
        );
      }
      this.closed.push(...closed);
      const rows = changed.map((stream) => ({
        streamId: stream.id,
        nodeId: stream.nodeId,
        mesh: stream.mesh,
        status: { ...stream.status(), replicaId: this.replicaId, streamId: stream.id },
      }));
      try {
        await this.store.publish(this.replicaId, rows, this.closed, this.options.graceSeconds);
        this.closed = [];
      } catch (error) {
        // Postgres is away: keep serving proxies; everything is written again once it is back.
        for (const stream of changed) this.engine.statusChangedFor(stream);
        this.logger.warn({ err: error }, 'publishing proxy status failed; retrying');
      }
    });
    return this.publishing;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.publishing;
    await this.store.withdraw(this.replicaId).catch(() => undefined);
  }
}
