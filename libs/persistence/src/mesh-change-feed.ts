import { Client } from 'pg';
import type { Logger } from 'pino';
import { MESH_CHANGES_CHANNEL } from './mesh-store';

/**
 * Postgres LISTEN on one channel, on a dedicated connection that is reopened whenever it
 * drops. Notifications can still be missed (while reconnecting), so users of a feed also
 * resync periodically (or keep caches short-lived).
 */
export class NotificationFeed {
  private client?: Client;
  private stopped = false;
  private retry?: NodeJS.Timeout;

  constructor(
    private readonly url: string,
    private readonly channel: string,
    private readonly logger: Logger,
    private readonly onNotification: (payload: string) => void,
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
    client.on('notification', (message) => this.onNotification(message.payload ?? ''));
    client.on('error', (error) => {
      this.logger.warn(
        { err: error, channel: this.channel },
        'notification connection lost; reconnecting',
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
        'cannot listen for notifications yet; retrying',
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

/** The mesh-change channel: `{mesh, revision}` after every committed write. */
export class MeshChangeFeed extends NotificationFeed {
  constructor(
    url: string,
    logger: Logger,
    onChange: (meshName: string, revision: number) => void,
    onConnected: () => void,
    /** Called when the certificate store changed (`{"certificates": true}`). */
    onCertificatesChanged?: () => void,
  ) {
    super(
      url,
      MESH_CHANGES_CHANNEL,
      logger,
      (message) => {
        try {
          const payload = JSON.parse(message) as {
            mesh?: unknown;
            revision?: unknown;
            certificates?: unknown;
          };
          if (typeof payload.mesh === 'string' && typeof payload.revision === 'number') {
            onChange(payload.mesh, payload.revision);
          } else if (payload.certificates === true) {
            onCertificatesChanged?.();
          }
        } catch {
          logger.warn({ payload: message }, 'ignoring malformed mesh change notification');
        }
      },
      onConnected,
    );
  }
}
