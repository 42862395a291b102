import { spawnSync } from 'node:child_process';
import path from 'node:path';

/** The fan-out benchmark in its smallest form, so the harness cannot rot (the numbers come from `npm run bench`). */
describe('npm run bench:xds', () => {
  it('runs 50 streams end to end and checks every proxy synced', () => {
    const run = spawnSync('npm', ['run', '--silent', 'bench:xds', '--', '--smoke'], {
      cwd: path.resolve(__dirname, '..'),
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(run.stderr).not.toMatch(/FAILED|check failed/);
    expect(run.stdout).toContain('bench:xds smoke OK');
    expect(run.status).toBe(0);
  });
});
