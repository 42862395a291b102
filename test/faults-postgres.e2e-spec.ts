import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateMeshCommand, DescribeMeshCommand } from '@aws-sdk/client-app-mesh';
import { appMeshClient, uniqueMeshName } from './support/control-plane';
import { stopServerProcess } from './support/mesh';
import { startServerProcess, type ServerProcess } from './support/process';
import { eventually } from './support/xds';

/** The embedded Postgres server's process id, from its postmaster.pid. */
function postmasterPid(dataDir: string): number {
  const pidFile = path.join(dataDir, 'postgres', 'postmaster.pid');
  return Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
}

/** The Postgres server and its backends: every process whose parent is the server. */
function postgresProcesses(dataDir: string): number[] {
  const server = postmasterPid(dataDir);
  const children = readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        // Field 4 of /proc/<pid>/stat is the parent; the name in parentheses may hold spaces.
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === server;
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
  return [server, ...children];
}

async function status(url: string): Promise<number> {
  return (await fetch(url)).status;
}

/** The embedded Postgres of a running control plane dies, then hangs. */
describe('embedded Postgres faults', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'trellis-pg-faults-'));
  const statementTimeoutMs = 2000;
  let server: ServerProcess;
  let stopped: number[] = [];

  beforeAll(async () => {
    server = await startServerProcess({
      TRELLIS_DATA_DIR: dataDir,
      TRELLIS_DB_STATEMENT_TIMEOUT_MS: String(statementTimeoutMs),
    });
  });
  afterAll(async () => {
    for (const pid of stopped) process.kill(pid, 'SIGCONT');
    await stopServerProcess(server);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('restarts a killed embedded Postgres: ready again within 30 s, nothing lost', async () => {
    const appMesh = appMeshClient(server.httpUrl);
    const meshName = uniqueMeshName('killed');
    await appMesh.send(new CreateMeshCommand({ meshName }));
    const before = postmasterPid(dataDir);

    process.kill(before, 'SIGKILL');
    const killedAt = Date.now();
    await eventually(
      async () => expect(await status(`${server.httpUrl}/readyz`)).toBe(200),
      30_000,
    );
    expect(Date.now() - killedAt).toBeLessThan(30_000);
    expect(postmasterPid(dataDir)).not.toBe(before);
    expect(await status(`${server.httpUrl}/healthz`)).toBe(200);
    const { mesh } = await appMesh.send(new DescribeMeshCommand({ meshName }));
    expect(mesh!.meshName).toBe(meshName);
    await appMesh.send(new CreateMeshCommand({ meshName: `${meshName}-after` }));
    expect(server.logs.map((line) => line.msg)).toEqual(
      expect.arrayContaining([
        'embedded postgres exited unexpectedly; restarting it (the API answers 503 meanwhile)',
        'embedded postgres restarted',
      ]),
    );
    appMesh.destroy();
  });

  it('answers 503 within the statement timeout while Postgres hangs, and recovers when it resumes', async () => {
    const appMesh = appMeshClient(server.httpUrl);
    const meshName = uniqueMeshName('hung');
    await appMesh.send(new CreateMeshCommand({ meshName }));

    stopped = postgresProcesses(dataDir);
    for (const pid of stopped) process.kill(pid, 'SIGSTOP');
    for (const request of [
      () => fetch(`${server.httpUrl}/v20190125/meshes/${meshName}`),
      () =>
        fetch(`${server.httpUrl}/v20190125/meshes`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ meshName: `${meshName}-during` }),
        }),
    ]) {
      const started = Date.now();
      const response = await request();
      const elapsed = Date.now() - started;
      expect(response.status).toBe(503);
      expect(response.headers.get('x-amzn-errortype')).toBe('ServiceUnavailableException');
      // The configured timeout, and some room for a loaded machine; without timeouts it waits
      // as long as the hang.
      expect(elapsed).toBeLessThan(statementTimeoutMs + 2000);
    }
    expect(await status(`${server.httpUrl}/readyz`)).toBe(503);
    expect(await status(`${server.httpUrl}/healthz`)).toBe(200);

    for (const pid of stopped) process.kill(pid, 'SIGCONT');
    stopped = [];
    await eventually(
      async () => expect(await status(`${server.httpUrl}/readyz`)).toBe(200),
      30_000,
    );
    const { mesh } = await appMesh.send(new DescribeMeshCommand({ meshName }));
    expect(mesh!.meshName).toBe(meshName);
    appMesh.destroy();
  });
});
