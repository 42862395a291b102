import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import path from 'node:path';

// The benchmarks in their smallest forms, so the harnesses cannot rot. The numbers come from
// `npm run bench` and `npm run bench:xds`, never from here. The benchmark build is done once
// here (npm test has built the control plane already), so no two suites write dist/bench at once.

const ROOT = path.resolve(__dirname, '..');

function run(command: string, args: string[]): SpawnSyncReturns<string> {
  return spawnSync(command, args, { cwd: ROOT, encoding: 'utf8', timeout: 400_000 });
}

beforeAll(() => {
  const build = run('npx', ['tsc', '-p', 'bench/tsconfig.json']);
  expect(build.stdout + build.stderr).toBe('');
  expect(build.status).toBe(0);
}, 120_000);

describe('bench:xds --smoke (the engine alone)', () => {
  it('runs 50 streams end to end and checks every proxy synced', () => {
    const result = run('node', ['--expose-gc', 'dist/bench/bench/xds/fanout.js', '--smoke']);
    expect(result.stderr).not.toMatch(/FAILED|check failed/);
    expect(result.stdout).toContain('bench:xds smoke OK');
    expect(result.status).toBe(0);
  });
});

describe('bench --smoke (the whole control plane)', () => {
  it('runs every part end to end and checks what it measures', () => {
    // The real control plane on its embedded Postgres: 50 proxies, one UpdateRoute, the floor,
    // a restart under the proxies; a cold start with a 20-node mesh stored; a 20-node mesh translated; UpdateRoute from 2 clients;
    // Cloud Map changes to 50 sidecars, every change ACKed by every proxy that watches it.
    const result = run('node', ['dist/bench/bench/main.js', '--smoke']);
    expect(result.stderr).not.toContain('bench FAILED');
    expect(result.stdout).toContain('| SotW | 50 |');
    expect(result.stdout).toContain('every proxy in sync at the current revision');
    expect(result.stdout).toContain(
      '### Cold start: restart with 20 virtual nodes stored (101 App Mesh resources) and 50 proxies connected',
    );
    expect(result.stdout).toContain('### Targets, round two');
    expect(result.stdout).toMatch(/\| 20 \| 101 \/ \d+ \|/); // the 20-node translation row
    expect(result.stdout).toMatch(/\| errors \| 0 \|/); // REST
    expect(result.stdout).toContain('| watching proxies / Cloud Map services | 50 / 5 |');
    expect(result.stdout).toMatch(/\| pairs never ACKed \/ ACKed before the 200 \| 0 \/ \d+ \|/);
    expect(result.stdout).toContain('bench smoke OK');
    expect(result.status).toBe(0);
  }, 420_000);
});

describe('bench/rest --smoke (the REST benchmark on its own)', () => {
  it('runs UpdateRoute and ListVirtualNodes against a control plane process with no errors', () => {
    const result = run('node', ['dist/bench/bench/rest/main.js', '--smoke']);
    expect(result.stderr).not.toMatch(/FAILED|check failed/);
    expect(result.stdout).toContain('bench:rest smoke OK');
    expect(result.status).toBe(0);
  }, 120_000);
});
