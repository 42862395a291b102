import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { createDataSource, migrate } from '../libs/persistence/src/data-source';
import { startEmbeddedPostgres } from '../libs/persistence/src/embedded-postgres';

/**
 * One real Postgres for the whole run: the embedded one in a fresh directory, or the
 * server named by DATABASE_URL. Migrations run once here; tests work in their own meshes.
 */
export default async function globalSetup(): Promise<void> {
  let url = process.env.DATABASE_URL;
  if (!url) {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'trellis-test-'));
    const database = await startEmbeddedPostgres(
      dataDir,
      pino({ level: process.env.TRELLIS_TEST_LOG_LEVEL ?? 'warn' }),
    );
    (globalThis as { trellisTestDatabase?: unknown }).trellisTestDatabase = database;
    url = database.url;
    process.env.TRELLIS_TEST_DATA_DIR = dataDir;
  }
  process.env.DATABASE_URL = url;
  const dataSource = createDataSource(url, 2);
  await dataSource.initialize();
  await migrate(dataSource);
  await dataSource.destroy();
}
