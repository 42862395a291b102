import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppMeshClient } from '@aws-sdk/client-app-mesh';
import { sampleCpu, statusBytes } from './proc';

// The real control plane as `npm start` runs it (the built entry point, embedded Postgres), in a
// process of its own, and what /proc says about that process: RSS, peak RSS and CPU time, for
// the Node process and, separately, for the Postgres processes it started.

// The entry point `npm run build` makes and `npm start` runs (dist/apps), not the benchmark build's copy.
const ENTRY = path.resolve(__dirname, '../../../apps/control-plane/src/main.js');

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
  /** The entry point to run: by default this checkout's build, as `npm start` runs it. */
  entry?: string;
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

  /** Starts the control plane; resolves once it answers /readyz. */
  static async start(
    options: ControlPlaneOptions,
    timeoutMs = 60_000,
  ): Promise<ControlPlaneProcess> {
    const entry = options.entry ?? ENTRY;
    const args = options.cpuProfileDir
      ? ['--cpu-prof', '--cpu-prof-dir', options.cpuProfileDir, entry]
      : [entry];
    const child = spawn(process.execPath, args, {
      env: {
        ...process.env,
        TRELLIS_DATA_DIR: options.dataDir,
        TRELLIS_HTTP_PORT: String(options.httpPort),
        TRELLIS_XDS_PORT: String(options.xdsPort),
        // The restart it measures is a plain stop and start, with nothing to drain to.
        TRELLIS_XDS_DRAIN_SECONDS: '0',
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
    return statusBytes(this.pid, 'VmRSS');
  }

  /** The highest resident memory since the process started, in bytes. */
  peakRss(): number {
    return statusBytes(this.pid, 'VmHWM');
  }

  /** CPU time (user + system) of the control plane's Node process, in seconds. */
  cpuSeconds(): number {
    return sampleCpu(this.pid).processMs / 1000;
  }

  /** CPU time of the Postgres processes (the server and its backends), in seconds. */
  postgresCpuSeconds(): number {
    return sampleCpu(this.pid).descendantsMs / 1000;
  }

  /** SIGTERM, as a deploy does (SIGKILL after a minute); resolves with the exit code. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      // SIGTERM lets it stop its embedded Postgres; SIGKILL only if it hangs.
      this.child.kill('SIGTERM');
      const killer = setTimeout(() => this.child.kill('SIGKILL'), 60_000);
      await this.exited;
      clearTimeout(killer);
    }
    return this.exited;
  }

  /** Everything the process wrote, for error messages. */
  get log(): string {
    return this.output;
  }

  /** Resolves once /readyz answers (whatever the log level); rejects if the process exits. */
  private async ready(timeoutMs: number): Promise<void> {
    // The log is read as fast as it comes (a full pipe would block the server) and kept only
    // in part (the first and the latest 32 KiB), for error messages.
    const keep = (chunk: Buffer): void => {
      this.output += chunk.toString();
      if (this.output.length > 64 * 1024) {
        this.output = `${this.output.slice(0, 32 * 1024)}\n…\n${this.output.slice(-32 * 1024)}`;
      }
    };
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
    const deadline = Date.now() + timeoutMs;
    while (!(await this.answersReady())) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(
          `control plane exited (${this.child.exitCode ?? this.child.signalCode}):\n${this.tail()}`,
        );
      }
      if (Date.now() > deadline) {
        throw new Error(`control plane not ready after ${timeoutMs} ms:\n${this.tail()}`);
      }
      await sleep(50);
    }
  }

  private async answersReady(): Promise<boolean> {
    try {
      return (await fetch(`${this.httpUrl}/readyz`)).ok;
    } catch {
      return false;
    }
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
