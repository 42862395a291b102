import type { Logger } from 'pino';
import {
  ACCESS_KEY_CHANGES_CHANNEL,
  type AccessKeyStore,
  type CredentialLookup,
} from '../../persistence/src/access-key-store';
import { NotificationFeed } from '../../persistence/src/mesh-change-feed';

/**
 * Access keys as request verification reads them: from Postgres, cached briefly. Every
 * replica drops a key's entries when Postgres announces a change to it (LISTEN/NOTIFY), and
 * no entry lives longer than `ttlMs` in any case, so a revocation holds everywhere within
 * that time even when a notification is lost.
 */
export class AccessKeyCache {
  private readonly entries = new Map<string, Entry>();
  private readonly listeners = new Set<(keyName: string | undefined) => void>();
  private feed?: NotificationFeed;

  constructor(
    private readonly store: AccessKeyStore,
    private readonly options: { ttlMs: number; maxEntries: number } = {
      ttlMs: 2000,
      maxEntries: 10_000,
    },
    private readonly clock: () => number = Date.now,
  ) {}

  /** Starts listening for key changes on `databaseUrl`. */
  async listen(databaseUrl: string, logger: Logger): Promise<void> {
    this.feed = new NotificationFeed(
      databaseUrl,
      ACCESS_KEY_CHANGES_CHANNEL,
      logger,
      (keyName) => this.invalidate(keyName),
      // Reconnected: changes may have been missed while not listening.
      () => this.invalidate(undefined),
    );
    await this.feed.start();
  }

  async stop(): Promise<void> {
    await this.feed?.stop();
  }

  /** The key behind an access key id (undefined: no such id), at most `ttlMs` old. */
  lookup(accessKeyId: string): Promise<CredentialLookup | undefined> {
    const now = this.clock();
    const cached = this.entries.get(accessKeyId);
    if (cached && now - cached.loadedAt < this.options.ttlMs) return cached.value;
    const value = this.store.findCredential(accessKeyId);
    this.entries.delete(accessKeyId);
    if (this.entries.size >= this.options.maxEntries) {
      // Oldest first: Map keeps insertion order.
      this.entries.delete(this.entries.keys().next().value!);
    }
    const entry: Entry = { value, loadedAt: now };
    this.entries.set(accessKeyId, entry);
    // A failed load is not cached: the next request asks Postgres again.
    value.catch(() => {
      if (this.entries.get(accessKeyId) === entry) this.entries.delete(accessKeyId);
    });
    return value;
  }

  /** Called with the key's name after it changed (undefined: any key may have changed). */
  onChange(listener: (keyName: string | undefined) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Forgets every cached entry: key changes are rare, and this is obviously complete. */
  invalidate(keyName: string | undefined): void {
    this.entries.clear();
    for (const listener of this.listeners) listener(keyName);
  }
}

interface Entry {
  value: Promise<CredentialLookup | undefined>;
  loadedAt: number;
}
