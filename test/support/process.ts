import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';

export interface ServerProcess {
  child: ChildProcess;
  httpUrl: string;
  /** Every log line the process wrote to stdout, parsed. */
  logs: Array<Record<string, unknown>>;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

/** The entry point `npm start` runs after building. */
export const SERVER_MAIN = path.resolve(__dirname, '../../dist/apps/control-plane/src/main.js');

/**
 * Runs the built control plane as `npm start` does (or another copy's `main`), and waits for its
 * "listening" line.
 */
export function startServerProcess(
  env: Record<string, string>,
  main = SERVER_MAIN,
): Promise<ServerProcess> {
  const child = spawn(process.execPath, [main], {
    env: {
      ...process.env,
      DATABASE_URL: '',
      TRELLIS_HTTP_PORT: '0',
      TRELLIS_XDS_PORT: '0',
      TRELLIS_XDS_DRAIN_SECONDS: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      logs.push(entry);
      if (typeof entry.http === 'string') resolve({ child, httpUrl: entry.http, logs, exited });
    });
    void exited.then((code) =>
      reject(new Error(`server exited with ${code} before listening: ${stderr}`)),
    );
  });
}

export interface PostgresProcess {
  url: string;
  stop(): Promise<void>;
}

const EMBEDDED_POSTGRES = path.resolve(
  __dirname,
  '../../dist/libs/persistence/src/embedded-postgres.js',
);

/**
 * An embedded Postgres in a child process (jest's module sandbox cannot load the ESM-only
 * package), so a test can stop and restart the database under a running control plane.
 */
export function startPostgresProcess(dataDir: string, port?: number): Promise<PostgresProcess> {
  const script = `
    const { startEmbeddedPostgres } = require(${JSON.stringify(EMBEDDED_POSTGRES)});
    const pino = require('pino');
    startEmbeddedPostgres(process.argv[1], pino({ level: 'silent' }), process.argv[2] ? Number(process.argv[2]) : undefined)
      .then((db) => {
        process.stdout.write(db.url + '\\n');
        process.on('SIGTERM', () => db.stop().then(() => process.exit(0)));
      })
      .catch((error) => { console.error(error); process.exit(1); });`;
  const child = spawn(process.execPath, ['-e', script, dataDir, port ? String(port) : ''], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', (url) =>
      resolve({
        url,
        stop: async () => {
          child.kill('SIGTERM');
          await exited;
        },
      }),
    );
    void exited.then(() => reject(new Error('embedded postgres process exited')));
  });
}
