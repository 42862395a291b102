import { Client } from 'pg';
import type { Logger } from 'pino';
import { MESH_CHANGES_CHANNEL } from './mesh-store';

/**
 * Postgres LISTEN on the mesh-change channel, on a dedicated connection that is reopened
 * whenever it drops. Notifications can still be missed (while reconnecting), so users of
 * the feed also resync periodically.
 */
export class MeshChangeFeed {
  private client?: Client;
  private stopped = false;
  private retry?: NodeJS.Timeout;

  constructor(
    private readonly url: string,
    private readonly logger: Logger,
    private readonly onChange: (meshName: string, revision: number) => void,
    /** Called after (re)connecting: anything may have changed while not listening. */
    private readonly onConnected: () => void,
    /** Called when the certificate store changed (`{"certificates": true}`). */
    private readonly onCertificatesChanged?: () => void,
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
      try {
        const payload = JSON.parse(message.payload ?? '') as {
          mesh?: unknown;
          revision?: unknown;
          certificates?: unknown;
        };
        if (typeof payload.mesh === 'string' && typeof payload.revision === 'number') {
          this.onChange(payload.mesh, payload.revision);
        } else if (payload.certificates === true) {
          this.onCertificatesChanged?.();
        }
      } catch {
        this.logger.warn(
          { payload: message.payload },
          'ignoring malformed mesh change notification',
        );
      }
    });
    client.on('error', (error) => {
      this.logger.warn({ err: error }, 'mesh change feed connection lost; reconnecting');
      this.reconnectLater();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${MESH_CHANGES_CHANNEL}`);
      this.client = client;
      this.onConnected();
    } catch (error) {
      await client.end().catch(() => undefined);
      this.logger.warn({ err: error }, 'cannot listen for mesh changes yet; retrying');
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
