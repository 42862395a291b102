import { Client } from 'pg';
import type { Logger } from 'pino';

/**
 * Postgres LISTEN on one channel, on a dedicated connection that is reopened whenever it
 * drops. Notifications can still be missed (while reconnecting), so users of a feed also
 * resync periodically.
 */
export class ChangeFeed {
  private client?: Client;
  private stopped = false;
  private retry?: NodeJS.Timeout;

  constructor(
    private readonly url: string,
    private readonly channel: string,
    private readonly logger: Logger,
    /** Called with each notification's parsed JSON payload; returns false for one it does not understand. */
    private readonly onPayload: (payload: Record<string, unknown>) => boolean,
    /** Called after (re)connecting: anything may have changed while not listening. */
    private readonly onConnected: () => void,
  ) {}

  async start(): Promise<void> {
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    await this.client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const client = new Client({ connectionString: this.url });
    client.on('notification', (message) => {
      let understood = false;
      try {
        const payload: unknown = JSON.parse(message.payload ?? '');
        understood =
          typeof payload === 'object' &&
          payload !== null &&
          this.onPayload(payload as Record<string, unknown>);
      } catch {
        // reported below
      }
      if (!understood) {
        this.logger.warn(
          { channel: this.channel, payload: message.payload },
          'ignoring malformed change notification',
        );
      }
    });
    client.on('error', (error) => {
      this.logger.warn(
        { err: error, channel: this.channel },
        'change feed connection lost; reconnecting',
      );
      this.reconnectLater();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${this.channel}`);
      this.client = client;
      this.onConnected();
    } catch (error) {
      await client.end().catch(() => undefined);
      this.logger.warn(
        { err: error, channel: this.channel },
        'cannot listen for changes yet; retrying',
      );
      this.reconnectLater();
    }
  }

  private reconnectLater(): void {
    if (this.stopped || this.retry) return;
    void this.client?.end().catch(() => undefined);
    this.client = undefined;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      void this.connect();
    }, 1000);
    this.retry.unref();
  }
}
