import { randomBytes, randomInt } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import type { AccessPolicy } from '../../mesh-model/src/access-policy';
import {
  ConflictException,
  NotFoundException,
  ServiceUnavailableException,
} from '../../mesh-model/src/errors';
import { withDatabaseErrors } from './database-errors';
import { openSecret, sealSecret } from './master-key';

/** Postgres channel on which every change to a key is announced (payload: the key's name). */
export const ACCESS_KEY_CHANGES_CHANNEL = 'trellis_access_keys';

export interface AccessKey {
  name: string;
  description: string;
  policy: AccessPolicy;
  /** Per-key request rate on each replica; null: the server default. */
  requestsPerSecond: number | null;
  createdBy: string;
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
  /** Newest first; never the secrets. */
  credentials: Array<{ accessKeyId: string; createdAt: Date; expiresAt: Date | null }>;
}

export interface NewAccessKey {
  name: string;
  description: string;
  policy: AccessPolicy;
  requestsPerSecond: number | null;
  expiresAt: Date | null;
  createdBy: string;
}

/** A credential as issued: the only time its secret leaves the store in clear. */
export interface IssuedCredential {
  key: AccessKey;
  accessKeyId: string;
  secretAccessKey: string;
}

/** What request verification needs for one access key id. */
export interface CredentialLookup {
  key: AccessKey;
  secretAccessKey: string;
  /** When this credential stops working (rotation grace), independent of the key's expiry. */
  credentialExpiresAt: Date | null;
}

/** The only SQL for access keys. Secrets are sealed with the master key before they are stored. */
export class AccessKeyStore {
  constructor(
    private readonly dataSource: DataSource,
    /** Absent: no master key configured; issuing and verifying keys then answers 503. */
    private readonly masterKey: Buffer | undefined,
  ) {}

  create(key: NewAccessKey, now = new Date()): Promise<IssuedCredential> {
    const masterKey = this.requireMasterKey();
    return this.write(async (manager) => {
      const existing: unknown[] = await manager.query('SELECT 1 FROM access_key WHERE name = $1', [
        key.name,
      ]);
      if (existing.length > 0) {
        throw new ConflictException(`An access key named ${key.name} already exists`);
      }
      await manager.query(
        `INSERT INTO access_key (name, description, policy, requests_per_second, created_by, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [
          key.name,
          key.description,
          JSON.stringify(key.policy),
          key.requestsPerSecond,
          key.createdBy,
          now,
          key.expiresAt,
        ],
      );
      return this.issue(manager, masterKey, key.name, now);
    });
  }

  /**
   * A new credential for the key. The newest credential before it keeps working for
   * `graceSeconds` (both are active while clients roll over); any older one stops now.
   */
  rotate(name: string, graceSeconds: number, now = new Date()): Promise<IssuedCredential> {
    const masterKey = this.requireMasterKey();
    return this.write(async (manager) => {
      await this.activeKey(manager, name, now);
      const graceEnd = new Date(now.getTime() + graceSeconds * 1000);
      const current: Array<{ access_key_id: string }> = await manager.query(
        `SELECT access_key_id FROM access_key_credential
         WHERE key_name = $1 AND (expires_at IS NULL OR expires_at > $2)
         ORDER BY created_at DESC, access_key_id LIMIT 1`,
        [name, now],
      );
      await manager.query(
        `UPDATE access_key_credential SET expires_at = $3
         WHERE key_name = $1 AND access_key_id <> $2 AND (expires_at IS NULL OR expires_at > $3)`,
        [name, current[0]?.access_key_id ?? '', now],
      );
      if (current[0]) {
        await manager.query(
          `UPDATE access_key_credential SET expires_at = LEAST(COALESCE(expires_at, $2), $2)
           WHERE access_key_id = $1`,
          [current[0].access_key_id, graceEnd],
        );
      }
      return this.issue(manager, masterKey, name, now);
    });
  }

  /** Revokes the key and all its credentials at once (every replica drops it on the notification). */
  revoke(name: string, actor: string, now = new Date()): Promise<AccessKey> {
    return this.write(async (manager) => {
      await this.activeKey(manager, name, now);
      await manager.query(
        'UPDATE access_key SET revoked_at = $2, revoked_by = $3 WHERE name = $1',
        [name, now, actor],
      );
      await notify(manager, name);
      return (await this.read(manager, name))!;
    });
  }

  get(name: string): Promise<AccessKey | undefined> {
    return withDatabaseErrors(() => this.read(this.dataSource.manager, name));
  }

  list(): Promise<AccessKey[]> {
    return withDatabaseErrors(async () => {
      const keys: KeyRow[] = await this.dataSource.query('SELECT * FROM access_key ORDER BY name');
      const credentials: CredentialRow[] = await this.dataSource.query(
        'SELECT access_key_id, key_name, created_at, expires_at FROM access_key_credential ORDER BY created_at DESC, access_key_id',
      );
      return keys.map((row) =>
        toAccessKey(
          row,
          credentials.filter((credential) => credential.key_name === row.name),
        ),
      );
    });
  }

  /** Keys neither revoked nor expired: the bootstrap command creates the first one only. */
  countActive(now = new Date()): Promise<number> {
    return withDatabaseErrors(async () => {
      const rows: Array<{ n: number }> = await this.dataSource.query(
        `SELECT count(*)::int AS n FROM access_key
         WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $1)`,
        [now],
      );
      return rows[0]?.n ?? 0;
    });
  }

  /** The key and clear secret behind an access key id, revoked and expired ones included. */
  findCredential(accessKeyId: string): Promise<CredentialLookup | undefined> {
    return withDatabaseErrors(async () => {
      const rows: CredentialRow[] = await this.dataSource.query(
        'SELECT * FROM access_key_credential WHERE access_key_id = $1',
        [accessKeyId],
      );
      const row = rows[0];
      if (!row) return undefined;
      const key = await this.read(this.dataSource.manager, row.key_name);
      if (!key) return undefined;
      return {
        key,
        secretAccessKey: openSecret(this.requireMasterKey(), row.sealed_secret!),
        credentialExpiresAt: row.expires_at,
      };
    });
  }

  private async issue(
    manager: EntityManager,
    masterKey: Buffer,
    name: string,
    now: Date,
  ): Promise<IssuedCredential> {
    const accessKeyId = newAccessKeyId();
    const secretAccessKey = randomBytes(30).toString('base64url');
    await manager.query(
      `INSERT INTO access_key_credential (access_key_id, key_name, sealed_secret, created_at)
       VALUES ($1, $2, $3, $4)`,
      [accessKeyId, name, sealSecret(masterKey, secretAccessKey), now],
    );
    await notify(manager, name);
    return { key: (await this.read(manager, name))!, accessKeyId, secretAccessKey };
  }

  private async activeKey(manager: EntityManager, name: string, now: Date): Promise<AccessKey> {
    const key = await this.read(manager, name, true);
    if (!key) throw new NotFoundException(`No access key named ${name}`);
    if (key.revokedAt) throw new ConflictException(`The access key ${name} is revoked`);
    if (key.expiresAt && key.expiresAt <= now) {
      throw new ConflictException(
        `The access key ${name} expired at ${key.expiresAt.toISOString()}`,
      );
    }
    return key;
  }

  private async read(
    manager: EntityManager,
    name: string,
    lock = false,
  ): Promise<AccessKey | undefined> {
    const keys: KeyRow[] = await manager.query(
      `SELECT * FROM access_key WHERE name = $1${lock ? ' FOR UPDATE' : ''}`,
      [name],
    );
    if (!keys[0]) return undefined;
    const credentials: CredentialRow[] = await manager.query(
      `SELECT access_key_id, key_name, created_at, expires_at FROM access_key_credential
       WHERE key_name = $1 ORDER BY created_at DESC, access_key_id`,
      [name],
    );
    return toAccessKey(keys[0], credentials);
  }

  private write<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return withDatabaseErrors(() => this.dataSource.transaction(work));
  }

  private requireMasterKey(): Buffer {
    if (!this.masterKey) {
      throw new ServiceUnavailableException(
        'Access keys need a master key: start Trellis with TRELLIS_MASTER_KEY or TRELLIS_MASTER_KEY_FILE',
      );
    }
    return this.masterKey;
  }
}

/** 20 characters like AWS' (`AKIA…`): `TKIA` and 16 of base32's alphabet. */
function newAccessKeyId(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let id = 'TKIA';
  for (let i = 0; i < 16; i++) id += alphabet[randomInt(alphabet.length)];
  return id;
}

async function notify(manager: EntityManager, name: string): Promise<void> {
  await manager.query('SELECT pg_notify($1, $2)', [ACCESS_KEY_CHANGES_CHANNEL, name]);
}

interface KeyRow {
  name: string;
  description: string;
  policy: AccessPolicy;
  requests_per_second: number | null;
  created_by: string;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
}

interface CredentialRow {
  access_key_id: string;
  key_name: string;
  sealed_secret?: string;
  created_at: Date;
  expires_at: Date | null;
}

function toAccessKey(row: KeyRow, credentials: CredentialRow[]): AccessKey {
  return {
    name: row.name,
    description: row.description,
    policy: row.policy,
    requestsPerSecond: row.requests_per_second,
    createdBy: row.created_by,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    credentials: credentials.map((credential) => ({
      accessKeyId: credential.access_key_id,
      createdAt: credential.created_at,
      expiresAt: credential.expires_at,
    })),
  };
}
