import type { Logger } from 'pino';
import { ADMINISTRATOR_POLICY } from '../../../libs/mesh-model/src/access-policy';
import { AccessKeyStore } from '../../../libs/persistence/src/access-key-store';
import { createDataSource, migrate } from '../../../libs/persistence/src/data-source';
import { startEmbeddedPostgres } from '../../../libs/persistence/src/embedded-postgres';
import { loadMasterKey } from '../../../libs/persistence/src/master-key';
import { ConfigError, type TrellisConfig } from './config';

/**
 * `keys bootstrap`: creates the first access key, allowed everything, straight in the database
 * (DATABASE_URL, or the embedded one while Trellis is stopped), and prints its secret once.
 * It refuses when any live key exists: from then on keys are made with `trellis keys create`.
 */
export async function bootstrapKey(
  config: TrellisConfig,
  logger: Logger,
  name: string,
  out: NodeJS.WritableStream,
): Promise<void> {
  const masterKey = loadMasterKeyOrExplain(config);
  const database = config.databaseUrl
    ? { url: config.databaseUrl, stop: () => Promise.resolve() }
    : await startEmbeddedPostgres(config.dataDir, logger, config.embeddedPostgresPort);
  const dataSource = createDataSource(database.url, 2);
  try {
    await dataSource.initialize();
    await migrate(dataSource);
    const store = new AccessKeyStore(dataSource, masterKey);
    const active = await store.countActive();
    if (active > 0) {
      throw new ConfigError(
        `${active} access key(s) exist already; create more with \`trellis keys create\` signed by one of them`,
      );
    }
    const issued = await store.create({
      name,
      description: 'created by keys bootstrap',
      policy: ADMINISTRATOR_POLICY,
      requestsPerSecond: null,
      expiresAt: null,
      createdBy: 'keys bootstrap',
    });
    out.write(
      `Created access key ${name}, allowed every action on every resource.\n` +
        'The secret is shown only now: store it, then make narrower keys with `trellis keys create`.\n\n' +
        `AWS_ACCESS_KEY_ID=${issued.accessKeyId}\nAWS_SECRET_ACCESS_KEY=${issued.secretAccessKey}\n`,
    );
  } finally {
    if (dataSource.isInitialized) await dataSource.destroy();
    await database.stop();
  }
}

function loadMasterKeyOrExplain(config: TrellisConfig): Buffer {
  try {
    return loadMasterKey(config.masterKey, config.databaseUrl ? undefined : config.dataDir);
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
}
