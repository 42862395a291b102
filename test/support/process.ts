import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { eventually } from './xds';

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
 * "listening" line. `nodeArgs` go to node before the entry point (e.g. {@link GC_ON_SIGUSR2}).
 */
export function startServerProcess(
  env: Record<string, string>,
  options: { nodeArgs?: readonly string[]; main?: string } = {},
): Promise<ServerProcess> {
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), options.main ?? SERVER_MAIN],
    {
      env: {
        ...process.env,
        DATABASE_URL: '',
        TRELLIS_HTTP_PORT: '0',
        TRELLIS_XDS_PORT: '0',
        TRELLIS_XDS_DRAIN_SECONDS: '0',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
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

/**
 * Node arguments that make a server process collect garbage in full on SIGUSR2 and then log
 * `{"gc": <count>, "rss": <bytes>}`: memory is measured after what can be freed was freed.
 */
export const GC_ON_SIGUSR2 = [
  '--expose-gc',
  '--import',
  'data:text/javascript,let n=0;process.on("SIGUSR2",()=>{globalThis.gc();globalThis.gc();' +
    'process.stdout.write(JSON.stringify({gc:++n,rss:process.memoryUsage().rss})+"\\n")});',
];

/** Collects garbage in a process started with {@link GC_ON_SIGUSR2}; resolves with its RSS in bytes. */
export async function rssAfterGc(server: ServerProcess): Promise<number> {
  const count = server.logs.filter((line) => typeof line.gc === 'number').length + 1;
  server.child.kill('SIGUSR2');
  let rss = 0;
  await eventually(() => {
    const line = server.logs.find((entry) => entry.gc === count);
    if (!line) throw new Error('the server process has not collected garbage yet');
    rss = Number(line.rss);
  }, 10_000);
  return rss;
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

export interface CommandRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command as a process of its own and collects its output; asynchronous, so an
 * in-process control plane keeps serving while the command talks to it.
 */
export function runCommand(
  command: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; cwd?: string },
): Promise<CommandRun> {
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
