import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { AppMeshClient } from '@aws-sdk/client-app-mesh';

// The real control plane as `npm start` runs it (the built entry point, embedded Postgres), in a
// process of its own, and what /proc says about that process: RSS, peak RSS and CPU time, for
// the Node process and, separately, for the Postgres processes it started.

// The entry point `npm run build` makes and `npm start` runs (dist/apps), not the benchmark build's copy.
const ENTRY = path.resolve(__dirname, '../../../apps/control-plane/src/main.js');
const READY = 'Trellis listening';
const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ on Linux

export interface ControlPlaneOptions {
  /** Where the embedded Postgres keeps its data; reused across restarts. */
  dataDir: string;
  httpPort: number;
  xdsPort: number;
  postgresPort: number;
  /** Extra environment (TRELLIS_*). */
  env?: Record<string, string>;
  /** Write a CPU profile of the control plane to this directory when it exits. */
  cpuProfileDir?: string;
}

export class ControlPlaneProcess {
  private exited: Promise<number | null>;
  private output = '';

  private constructor(
    private readonly child: ChildProcess,
    readonly options: ControlPlaneOptions,
  ) {
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  }

  /** Starts the control plane; resolves once it logged that it is listening. */
  static async start(
    options: ControlPlaneOptions,
    timeoutMs = 60_000,
  ): Promise<ControlPlaneProcess> {
    const args = options.cpuProfileDir
      ? ['--cpu-prof', '--cpu-prof-dir', options.cpuProfileDir, ENTRY]
      : [ENTRY];
    const child = spawn(process.execPath, args, {
      env: {
        ...process.env,
        TRELLIS_DATA_DIR: options.dataDir,
        TRELLIS_HTTP_PORT: String(options.httpPort),
        TRELLIS_XDS_PORT: String(options.xdsPort),
        TRELLIS_EMBEDDED_POSTGRES_PORT: String(options.postgresPort),
        DATABASE_URL: '',
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const controlPlane = new ControlPlaneProcess(child, options);
    await controlPlane.ready(timeoutMs);
    return controlPlane;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get httpUrl(): string {
    return `http://127.0.0.1:${this.options.httpPort}`;
  }

  /** An App Mesh SDK client pointed at this control plane. */
  appMesh(): AppMeshClient {
    return new AppMeshClient({
      region: 'us-east-1',
      endpoint: this.httpUrl,
      credentials: { accessKeyId: 'AKIDBENCHMARK', secretAccessKey: 'not-checked' },
      maxAttempts: 1,
    });
  }

  /** Resident memory now, in bytes. */
  rss(): number {
    return statusField(this.pid, 'VmRSS');
  }

  /** The highest resident memory since the process started, in bytes. */
  peakRss(): number {
    return statusField(this.pid, 'VmHWM');
  }

  /** CPU time (user + system) of the control plane's Node process, in seconds. */
  cpuSeconds(): number {
    return processCpuSeconds(this.pid);
  }

  /** CPU time of the Postgres processes (the server and its backends), in seconds. */
  postgresCpuSeconds(): number {
    return descendants(this.pid).reduce((sum, pid) => sum + processCpuSeconds(pid), 0);
  }

  /** SIGTERM, as a deploy does; resolves with the exit code. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }

  /** Everything the process wrote, for error messages. */
  get log(): string {
    return this.output;
  }

  private ready(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`control plane not ready after ${timeoutMs} ms:\n${this.tail()}`)),
        timeoutMs,
      );
      const seen = (chunk: Buffer): void => {
        // Keep the first part for diagnostics; the rest (a log line per proxy) is read and dropped.
        if (this.output.length < 64 * 1024) this.output += chunk.toString();
        if (this.output.includes(READY)) {
          clearTimeout(timer);
          resolve();
        }
      };
      this.child.stdout!.on('data', seen);
      this.child.stderr!.on('data', seen);
      this.child.on('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`control plane exited (${code ?? signal}):\n${this.tail()}`));
      });
    });
  }

  private tail(): string {
    return this.output.split('\n').slice(-20).join('\n');
  }
}

/** A TCP port nothing listens on now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function statusField(pid: number, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(
    readFileSync(`/proc/${pid}/status`, 'utf8'),
  );
  return Number(match?.[1] ?? NaN) * 1024;
}

export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start at ") ".
    const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return 0; // the process has ended
  }
}

/** Every process below `pid`, children first. */
function descendants(pid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(') ') + 2).split(' ')[1]);
      const list = parents.get(parent) ?? [];
      list.push(Number(entry));
      parents.set(parent, list);
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  const visit = (parent: number): void => {
    for (const child of parents.get(parent) ?? []) {
      found.push(child);
      visit(child);
    }
  };
  visit(pid);
  return found;
}
