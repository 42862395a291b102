import type { DataSource } from 'typeorm';
import { withDatabaseErrors } from './database-errors';
import { MESH_CHANGES_CHANNEL } from './mesh-store';

/** A certificate or CA bundle in the store, as the API shows it: never the private key. */
export interface CertificateInfo {
  arn: string;
  kind: 'certificate' | 'authority';
  subject: string;
  notBefore: Date;
  notAfter: Date;
  createdAt: Date;
  updatedAt: Date;
}

/** What the xDS role serves over SDS: the PEM chain and the sealed private key. */
export interface ServableCertificate {
  arn: string;
  kind: 'certificate' | 'authority';
  certificateChain: string;
  privateKeySealed?: string;
}

export interface CertificateRecord {
  arn: string;
  kind: 'certificate' | 'authority';
  certificateChain: string;
  /** Sealed with the master key (`sealSecret`); set for certificates, unset for CA bundles. */
  privateKeySealed?: string;
  subject: string;
  notBefore: Date;
  notAfter: Date;
}

/** The payload xDS replicas watch for on the mesh-change channel. */
export const CERTIFICATES_CHANGED = { certificates: true } as const;

const INFO_COLUMNS = `arn, kind, subject, not_before AS "notBefore", not_after AS "notAfter",
  created_at AS "createdAt", updated_at AS "updatedAt"`;

/** The certificate store's SQL. Every write notifies xDS replicas on the mesh-change channel. */
export class CertificateStore {
  constructor(private readonly dataSource: DataSource) {}

  /** Imports under `arn`, replacing what was there (as ACM's ImportCertificate re-import does). */
  put(record: CertificateRecord): Promise<{ info: CertificateInfo; replaced: boolean }> {
    return withDatabaseErrors(() =>
      this.dataSource.transaction(async (manager) => {
        // Whether this statement inserted the row or updated it (xmax is 0 only for a new
        // row version): a read before the upsert would see no row for every concurrent first
        // import, and each would answer "created".
        const [row] = await manager.query<Array<CertificateInfo & { inserted: boolean }>>(
          `INSERT INTO certificate
             (arn, kind, certificate_chain, private_key_sealed, subject, not_before, not_after)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (arn) DO UPDATE SET kind = EXCLUDED.kind,
             certificate_chain = EXCLUDED.certificate_chain,
             private_key_sealed = EXCLUDED.private_key_sealed, subject = EXCLUDED.subject,
             not_before = EXCLUDED.not_before, not_after = EXCLUDED.not_after,
             seq = nextval('certificate_seq'), updated_at = now()
           RETURNING ${INFO_COLUMNS}, (xmax = 0) AS inserted`,
          [
            record.arn,
            record.kind,
            record.certificateChain,
            record.privateKeySealed ?? null,
            record.subject,
            record.notBefore,
            record.notAfter,
          ],
        );
        await this.notify(manager);
        const { inserted, ...info } = row!;
        return { info, replaced: !inserted };
      }),
    );
  }

  list(): Promise<CertificateInfo[]> {
    return withDatabaseErrors(() =>
      this.dataSource.query<CertificateInfo[]>(
        `SELECT ${INFO_COLUMNS} FROM certificate ORDER BY arn`,
      ),
    );
  }

  async get(arn: string): Promise<CertificateInfo | undefined> {
    const [info] = await withDatabaseErrors(() =>
      this.dataSource.query<CertificateInfo[]>(
        `SELECT ${INFO_COLUMNS} FROM certificate WHERE arn = $1`,
        [arn],
      ),
    );
    return info;
  }

  /** Deletes; false when nothing was stored under `arn`. */
  delete(arn: string): Promise<boolean> {
    return withDatabaseErrors(() =>
      this.dataSource.transaction(async (manager) => {
        const deleted = await manager.query<Array<{ arn: string }>>(
          'DELETE FROM certificate WHERE arn = $1 RETURNING arn',
          [arn],
        );
        if (deleted.length > 0) await this.notify(manager);
        return deleted.length > 0;
      }),
    );
  }

  /** Resources (mesh, kind, name) whose spec names `arn`: ACM refuses to delete those in use. */
  referencedBy(arn: string): Promise<Array<{ meshName: string; kind: string; name: string }>> {
    return withDatabaseErrors(() =>
      this.dataSource.query(
        `SELECT mesh_name AS "meshName", kind, name FROM mesh_resource
         WHERE strpos(spec::text, $1) > 0 ORDER BY mesh_name, kind, name LIMIT 20`,
        [JSON.stringify(arn).slice(1, -1)],
      ),
    );
  }

  /** Changes on every write (imports move `seq`, deletes the count). */
  async version(): Promise<string> {
    const [row] = await withDatabaseErrors(() =>
      this.dataSource.query<Array<{ version: string }>>(
        `SELECT coalesce(max(seq), 0) || '/' || count(*) AS version FROM certificate`,
      ),
    );
    return row?.version ?? '0/0';
  }

  /** Everything the xDS role serves, read in one statement with its version. */
  async servable(): Promise<{ version: string; certificates: ServableCertificate[] }> {
    const rows = await withDatabaseErrors(() =>
      this.dataSource.query<
        Array<ServableCertificate & { privateKeySealed: string | null; version: string }>
      >(
        `SELECT arn, kind, certificate_chain AS "certificateChain",
                private_key_sealed AS "privateKeySealed",
                (SELECT coalesce(max(seq), 0) || '/' || count(*) FROM certificate) AS version
         FROM certificate ORDER BY arn`,
      ),
    );
    return {
      version: rows[0]?.version ?? '0/0',
      certificates: rows.map(({ arn, kind, certificateChain, privateKeySealed }) => ({
        arn,
        kind,
        certificateChain,
        ...(privateKeySealed !== null && { privateKeySealed }),
      })),
    };
  }

  private async notify(manager: { query: DataSource['query'] }): Promise<void> {
    await manager.query('SELECT pg_notify($1, $2)', [
      MESH_CHANGES_CHANNEL,
      JSON.stringify(CERTIFICATES_CHANGED),
    ]);
  }
}
