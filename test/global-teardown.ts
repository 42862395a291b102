import { rmSync } from 'node:fs';
import type { RunningDatabase } from '../libs/persistence/src/embedded-postgres';

export default async function globalTeardown(): Promise<void> {
  const database = (globalThis as { trellisTestDatabase?: RunningDatabase }).trellisTestDatabase;
  if (!database) return;
  await database.stop();
  const dataDir = process.env.TRELLIS_TEST_DATA_DIR;
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}
