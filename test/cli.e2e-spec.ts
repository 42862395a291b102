import { spawn } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  CreateMeshCommand,
  CreateRouteCommand,
  CreateVirtualNodeCommand,
  CreateVirtualRouterCommand,
  CreateVirtualServiceCommand,
  type VirtualNodeSpec,
} from '@aws-sdk/client-app-mesh';
import { SignatureV4 } from '@smithy/signature-v4';
import type { RouteConfiguration } from '../libs/envoy-api/generated/envoy/config/route/v3/route';
import { CLUSTER, LISTENER, ROUTE_CONFIGURATION } from '../libs/xds-types/src/resource-types';
import {
  meshRevision,
  startTestControlPlane,
  uniqueMeshName,
  type TestControlPlane,
} from './support/control-plane';
import { trellis, TRELLIS_BIN, type CliRun } from './support/cli';
import { decodedResources, eventually, SotwAdsClient } from './support/xds';

const CI_ACCESS_KEY = 'AKIDCLIPIPELINE';
const EGRESS_ROUTES = 'rds_egress_http_8080';

const nodeSpec = (hostname: string, backend?: string): VirtualNodeSpec => ({
  listeners: [{ portMapping: { port: 8080, protocol: 'http' } }],
  serviceDiscovery: { dns: { hostname } },
  ...(backend ? { backends: [{ virtualService: { virtualServiceName: backend } }] } : {}),
});

const egressCluster = (meshName: string, node: string) =>
  `cds_egress_${meshName}_${node}_http_8080`;

describe('the trellis CLI', () => {
  describe('command line', () => {
    // No server answers at this endpoint: a usage error must be found before any request.
    const offline = { TRELLIS_ENDPOINT: 'http://127.0.0.1:9' };
    const route = ['--mesh', 'demo', '--router', 'api', '--route', 'canary'];
    const rollout = [...route, '--from', 'blue', '--to', 'green'];

    it.each([
      ['no command', [], 'missing a command'],
      ['an unknown command', ['frobnicate'], 'unknown command "frobnicate"'],
      ['a group without its command', ['weights'], 'missing a weights command'],
      ['an unknown flag', ['proxies', '--colour'], "Unknown option '--colour'"],
      ['an unknown output format', ['proxies', '-o', 'yaml'], '--output must be text or json'],
      ['a missing flag', ['weights', 'set', '--router', 'api', 'blue=1'], 'missing --mesh'],
      ['no targets', ['weights', 'set', ...route], 'give the targets as NODE=WEIGHT'],
      ['a weight that is not a number', ['weights', 'set', ...route, 'blue=abc'], 'bad weight'],
      [
        'a weight above 100',
        ['weights', 'set', ...route, 'blue=101'],
        'bad weight blue=101: at most 100',
      ],
      [
        'a target given twice',
        ['weights', 'set', ...route, 'blue=50', 'blue=50'],
        'blue is given twice',
      ],
      [
        '--timeout without --wait',
        ['weights', 'set', ...route, 'blue=100', '--timeout', '5s'],
        '--timeout applies to --wait only',
      ],
      [
        'a timeout that is not a duration',
        ['weights', 'set', ...route, 'blue=100', '--wait', '--timeout', 'soon'],
        '--timeout must be a duration',
      ],
      [
        'a revision that is not a number',
        ['revert', '--mesh', 'demo', '--to-revision', 'last'],
        '--to-revision must be a revision number',
      ],
      [
        'steps that go down',
        ['rollout', 'start', ...rollout, '--steps', '50,25,100'],
        '--steps must increase',
      ],
      ['a rollout without steps', ['rollout', 'start', ...rollout], 'give one of --steps'],
      [
        'a metric check without --prometheus',
        ['rollout', 'start', ...rollout, '--steps', '10,100', '--min-success-rate', '99'],
        '--min-success-rate needs --prometheus',
      ],
      [
        'a query without its threshold',
        [
          ...['rollout', 'start', ...rollout, '--steps', '10,100'],
          ...['--prometheus', 'http://p:9090', '--query', 'up'],
        ],
        '--query and --query-threshold go together',
      ],
      [
        'an unknown abort mode',
        ['rollout', 'start', ...rollout, '--steps', '10,100', '--on-abort', 'sideways'],
        '--on-abort must be instant, stepped, freeze',
      ],
      [
        'a rollout action without its ID',
        ['rollout', 'pause', '--mesh', 'demo'],
        'missing the rollout ID',
      ],
    ])('exits 64 for %s', async (_case, args, message) => {
      const run = await trellis(args, offline);
      expect(run.code).toBe(64);
      expect(run.stderr).toContain(`trellis: ${message}`);
      expect(run.stdout).toBe('');
    });

    it('answers --help for the CLI, a group and a command, on stdout', async () => {
      const help = await trellis(['--help'], offline);
      expect(help.code).toBe(0);
      for (const command of ['weights set', 'proxies', 'history', 'revert', 'rollout start']) {
        expect(help.stdout).toContain(`  ${command} `);
      }
      expect(help.stdout).toContain('64  usage error');

      const group = await trellis(['rollout', '--help'], offline);
      expect(group.code).toBe(0);
      expect(group.stdout).toMatch(/^Usage: trellis rollout <command>/);

      // Help wins over flags that are missing.
      const command = await trellis(['weights', 'set', '--help'], offline);
      expect(command.code).toBe(0);
      expect(command.stdout).toMatch(/^Usage: trellis weights set --mesh MESH/);
    });

    it('says to build when its dist/ is missing, from any working directory', async () => {
      const checkout = mkdtempSync(path.join(tmpdir(), 'trellis-unbuilt-'));
      mkdirSync(path.join(checkout, 'apps/cli/bin'), { recursive: true });
      copyFileSync(TRELLIS_BIN, path.join(checkout, 'apps/cli/bin/trellis.js'));
      const child = spawn(process.execPath, [path.join(checkout, 'apps/cli/bin/trellis.js')], {
        cwd: tmpdir(),
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const code = await new Promise((resolve) => child.on('close', resolve));
      expect(code).toBe(1);
      expect(stderr).toBe(
        `trellis: the CLI is not built: run \`npm run build\` in ${path.join(checkout, 'apps/cli')}\n`,
      );
    });
  });

  /** A stand-in server that records requests and answers each path as told. */
  describe('against a recording server', () => {
    let server: Server;
    let endpoint: string;
    const requests: Array<{
      method: string;
      url: string;
      headers: IncomingHttpHeaders;
      body: string;
    }> = [];
    const answers = new Map<
      string,
      { status: number; headers: Record<string, string>; body: unknown }
    >();

    beforeAll(async () => {
      server = createServer((request, response) => {
        const recorded = { method: request.method!, url: request.url!, headers: request.headers };
        let body = '';
        request.on('data', (chunk: Buffer) => (body += chunk.toString()));
        const answer = answers.get(`${request.method} ${request.url?.split('?')[0]}`) ?? {
          status: 404,
          headers: { 'x-amzn-ErrorType': 'NotFoundException' },
          body: {
            message: `No App Mesh or Trellis operation at ${request.method} ${request.url?.split('?')[0]}`,
          },
        };
        request.on('end', () => {
          requests.push({ ...recorded, body });
          response
            .writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers })
            .end(JSON.stringify(answer.body));
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      answers.set('GET /v1/proxies', { status: 200, headers: {}, body: { proxies: [] } });
    });
    afterAll(() => new Promise((resolve) => server.close(resolve)));
    beforeEach(() => (requests.length = 0));

    it('signs with SigV4 for appmesh in the region of the AWS variables, so Trellis records the access key as actor', async () => {
      const run = await trellis(['proxies', '--mesh', 'demo'], {
        TRELLIS_ENDPOINT: endpoint,
        AWS_ACCESS_KEY_ID: CI_ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY: 'cli-test-secret',
        AWS_SESSION_TOKEN: 'cli-test-session',
        AWS_REGION: 'eu-central-1',
      });
      expect(run).toMatchObject({ code: 0, stdout: '' });
      expect(run.stderr).toBe('No proxies of mesh demo are connected.\n');

      const [request] = requests;
      const headers = request!.headers as Record<string, string>;
      expect(request).toMatchObject({ method: 'GET', url: '/v1/proxies?mesh=demo' });
      const date = headers['x-amz-date']!;
      expect(headers.authorization).toMatch(
        new RegExp(
          `^AWS4-HMAC-SHA256 Credential=${CI_ACCESS_KEY}/${date.slice(0, 8)}/eu-central-1/appmesh/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$`,
        ),
      );
      expect(headers['x-amz-security-token']).toBe('cli-test-session');

      // The signature is the one AWS's signer computes for the request as it arrived.
      const signer = new SignatureV4({
        service: 'appmesh',
        region: 'eu-central-1',
        credentials: {
          accessKeyId: CI_ACCESS_KEY,
          secretAccessKey: 'cli-test-secret',
          sessionToken: 'cli-test-session',
        },
        sha256: Sha256,
      });
      const signedHeaders = /SignedHeaders=([^,]+)/.exec(headers.authorization!)![1]!.split(';');
      const expected = await signer.sign(
        {
          method: 'GET',
          protocol: 'http:',
          hostname: '127.0.0.1',
          path: '/v1/proxies',
          query: { mesh: 'demo' },
          headers: Object.fromEntries(signedHeaders.map((name) => [name, headers[name]!])),
        },
        { signingDate: amzDate(date) },
      );
      expect(headers.authorization).toBe(expected.headers.authorization);
    });

    it('sends unsigned requests without AWS credentials', async () => {
      const run = await trellis(['proxies'], { TRELLIS_ENDPOINT: endpoint });
      expect(run.code).toBe(0);
      expect(requests[0]!.headers.authorization).toBeUndefined();
    });

    it.each([
      [
        'rollout start',
        'rollout start --mesh demo --router api --route canary --from blue --to green --steps 10,100',
        'POST /v1/meshes/demo/rollouts',
      ],
      ['rollout status', 'rollout status r-1 --mesh demo', 'GET /v1/meshes/demo/rollouts/r-1'],
      [
        'rollout promote',
        'rollout promote r-1 --mesh demo',
        'POST /v1/meshes/demo/rollouts/r-1/promote',
      ],
    ])(
      'exits 1 for %s against a server without rollouts, naming the missing operation',
      async (_case, commandLine, operation) => {
        const run = await trellis(commandLine.split(' '), { TRELLIS_ENDPOINT: endpoint });
        expect(run).toEqual({
          code: 1,
          stdout: '',
          stderr: `trellis: the server at ${endpoint} does not support rollouts yet (no ${operation})\n`,
        });
      },
    );

    it('sends a rollout as the API takes it: route, nodes, steps, durations in milliseconds, gates', async () => {
      const run = await trellis(
        [
          ...['rollout', 'start', '--mesh', 'demo', '--router', 'api', '--route', 'canary'],
          ...['--from', 'blue', '--to', 'green', '--steps', '10,50', '--interval', '1m30s'],
          ...['--gate', 'https://ci.example.com/gate', '--gate-timeout', '5s'],
          ...['--on-abort', 'stepped', '--require-promotion'],
        ],
        { TRELLIS_ENDPOINT: endpoint },
      );
      expect(run.code).toBe(1);
      expect(
        requests.map(({ method, url, body }) => [method, url, JSON.parse(body) as unknown]),
      ).toEqual([
        [
          'POST',
          '/v1/meshes/demo/rollouts',
          {
            route: { virtualRouter: 'api', route: 'canary' },
            from: 'blue',
            to: 'green',
            steps: [10, 50],
            interval: 90_000,
            gates: [{ url: 'https://ci.example.com/gate', timeout: 5000 }],
            onAbort: 'stepped',
            requirePromotion: true,
          },
        ],
      ]);
    });

    it('sends metric gates: success rate, p99 latency and a query, all against --prometheus', async () => {
      const run = await trellis(
        [
          ...['rollout', 'start', '--mesh', 'demo', '--router', 'api', '--route', 'canary'],
          ...['--from', 'blue', '--to', 'green', '--steps', '10,50', '--interval', '2m'],
          ...['--prometheus', 'http://prometheus:9090', '--min-success-rate', '99.5'],
          ...['--max-p99', '500ms', '--min-requests', '50'],
          ...['--query', 'sum(up{job="{{ to }}"})', '--query-threshold', '>=1'],
        ],
        { TRELLIS_ENDPOINT: endpoint },
      );
      expect(run.code).toBe(1);
      const address = 'http://prometheus:9090';
      expect(JSON.parse(requests[0]!.body)).toMatchObject({
        gates: [
          { successRate: { address, min: 99.5, minRequests: 50 } },
          { latency: { address, maxP99: 500, minRequests: 50 } },
          {
            prometheus: {
              address,
              query: 'sum(up{job="{{ to }}"})',
              comparison: '>=',
              threshold: 1,
            },
          },
        ],
      });
    });

    it('exits 1 when the server cannot be reached', async () => {
      const run = await trellis(['proxies'], { TRELLIS_ENDPOINT: 'http://127.0.0.1:9' });
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^trellis: cannot reach Trellis at http:\/\/127\.0\.0\.1:9: /);
    });
  });

  describe('against a control plane with sidecars', () => {
    let controlPlane: TestControlPlane;
    const sidecars: SotwAdsClient[] = [];
    /** The CLI as a CI job runs it: pointed at Trellis, with the pipeline's AWS credentials. */
    const ci = (args: string[]) =>
      trellis(args, {
        TRELLIS_ENDPOINT: controlPlane.httpUrl,
        AWS_ACCESS_KEY_ID: CI_ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY: 'cli-test-secret',
      });

    const setWeights = (meshName: string, ...args: string[]) =>
      ci(['weights', 'set', '--mesh', meshName, '--router', 'api', '--route', 'canary', ...args]);

    beforeAll(async () => {
      controlPlane = await startTestControlPlane();
    });
    afterAll(async () => {
      for (const sidecar of sidecars) sidecar.close();
      await controlPlane.close();
    });

    /**
     * Blue and green behind router `api` (route `canary`: all traffic to blue), provided as
     * `api.internal`, and the client nodes `web` and `mobile` that call it.
     */
    async function canaryMesh(): Promise<string> {
      const meshName = uniqueMeshName('cli');
      const { appMesh } = controlPlane;
      await appMesh.send(new CreateMeshCommand({ meshName }));
      for (const [node, spec] of [
        ['blue', nodeSpec('10.0.0.1')],
        ['green', nodeSpec('10.0.0.2')],
        ['web', nodeSpec('10.0.0.3', 'api.internal')],
        ['mobile', nodeSpec('10.0.0.4', 'api.internal')],
      ] as const) {
        await appMesh.send(new CreateVirtualNodeCommand({ meshName, virtualNodeName: node, spec }));
      }
      await appMesh.send(
        new CreateVirtualRouterCommand({
          meshName,
          virtualRouterName: 'api',
          spec: { listeners: [{ portMapping: { port: 8080, protocol: 'http' } }] },
        }),
      );
      await appMesh.send(
        new CreateRouteCommand({
          meshName,
          virtualRouterName: 'api',
          routeName: 'canary',
          spec: {
            httpRoute: {
              match: { prefix: '/' },
              action: {
                weightedTargets: [
                  { virtualNode: 'blue', weight: 100 },
                  { virtualNode: 'green', weight: 0 },
                ],
              },
            },
          },
        }),
      );
      await appMesh.send(
        new CreateVirtualServiceCommand({
          meshName,
          virtualServiceName: 'api.internal',
          spec: { provider: { virtualRouter: { virtualRouterName: 'api' } } },
        }),
      );
      return meshName;
    }

    /** A sidecar of `virtualNode` subscribed like Envoy, that acknowledged its first config. */
    async function sidecar(meshName: string, virtualNode: string): Promise<SotwAdsClient> {
      const nodeId = `mesh/${meshName}/virtualNode/${virtualNode}`;
      const client = new SotwAdsClient(controlPlane.xds!.port, {
        id: nodeId,
        cluster: nodeId,
        userAgentName: 'envoy',
        userAgentVersionType: { $case: 'userAgentVersion', value: '1.30.1' },
      });
      sidecars.push(client);
      client.subscribe(CLUSTER, []);
      client.ack(await client.next());
      client.subscribe(LISTENER, []);
      client.ack(await client.next());
      client.subscribe(ROUTE_CONFIGURATION, [EGRESS_ROUTES]);
      client.ack(await client.next());
      return client;
    }

    /** Every connected proxy of the mesh has the current revision: what `--wait` starts from. */
    async function synced(meshName: string, proxies: number): Promise<void> {
      await eventually(async () => {
        const response = await fetch(`${controlPlane.httpUrl}/v1/meshes/${meshName}/propagation`);
        expect(await response.json()).toMatchObject({ proxies, acked: proxies });
      }, 5000);
    }

    /**
     * Acknowledges what the sidecar receives until its route configuration has `weights`
     * (blue and green, as percentages), and answers the weights it received on the way.
     */
    async function receiveWeights(
      client: SotwAdsClient,
      meshName: string,
      weights: { blue: number; green: number },
    ): Promise<Array<Record<string, number>>> {
      const expected = {
        [egressCluster(meshName, 'blue')]: weights.blue,
        [egressCluster(meshName, 'green')]: weights.green,
      };
      const seen: Array<Record<string, number>> = [];
      for (;;) {
        const response = await client.next();
        client.ack(response);
        if (response.typeUrl !== ROUTE_CONFIGURATION) continue;
        const config = (decodedResources(response) as RouteConfiguration[]).find(
          (resource) => resource.name === EGRESS_ROUTES,
        );
        if (!config) continue;
        seen.push(weightsIn(config));
        if (JSON.stringify(seen[seen.length - 1]) === JSON.stringify(expected)) return seen;
      }
    }

    /**
     * Runs the CLI while `receiving` goes on; answers the run first, so that a failing run
     * shows its output rather than the sidecar's wait for weights that never come.
     */
    async function runWhile(
      run: Promise<CliRun>,
      receiving: Promise<unknown>,
    ): Promise<{ run: CliRun; received: unknown }> {
      const received = receiving.catch((error: unknown) => error);
      return { run: await run, received: await received };
    }

    const startRollout = (meshName: string, ...args: string[]) =>
      ci([
        ...['rollout', 'start', '--mesh', meshName, '--router', 'api', '--route', 'canary'],
        ...['--from', 'blue', '--to', 'green', ...args],
      ]);

    it('runs a rollout to the end with --wait: exit 0, the sidecar got every step in order', async () => {
      const meshName = await canaryMesh();
      const web = await sidecar(meshName, 'web');
      await synced(meshName, 1);
      const { run, received } = await runWhile(
        startRollout(
          meshName,
          '--steps',
          '50,100',
          '--interval',
          '1s',
          '--wait',
          '--timeout',
          '30s',
          '--output',
          'json',
        ),
        receiveWeights(web, meshName, { blue: 0, green: 100 }),
      );
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({
        state: 'Succeeded',
        weights: { blue: 0, green: 100 },
      });
      const blueShares = (received as Array<Record<string, number>>).map(
        (w) => w[egressCluster(meshName, 'blue')],
      );
      expect(blueShares).toEqual([50, 0]);
    });

    it('exits 3 when the rollout waits for promotion, and 0 once promoted', async () => {
      const meshName = await canaryMesh();
      const web = await sidecar(meshName, 'web');
      await synced(meshName, 1);
      const acking = receiveWeights(web, meshName, { blue: 0, green: 100 });
      const started = await startRollout(
        meshName,
        ...[
          '--steps',
          '50,100',
          '--interval',
          '1s',
          '--require-promotion',
          '--wait',
          '--timeout',
          '30s',
        ],
      );
      expect(started.code).toBe(3);
      expect(started.stdout).toContain('WaitingPromotion');
      const id = /Rollout (\S+) started/.exec(started.stdout)![1]!;

      expect((await ci(['rollout', 'promote', id, '--mesh', meshName])).code).toBe(0);
      const watched = await ci([
        'rollout',
        'status',
        id,
        '--mesh',
        meshName,
        '--watch',
        '--timeout',
        '30s',
      ]);
      expect(watched.code).toBe(0);
      expect(watched.stdout).toContain('Succeeded');
      await acking;
    });

    it('exits 1 when a gate aborts the rollout, and the weights return to the original', async () => {
      const meshName = await canaryMesh();
      const web = await sidecar(meshName, 'web');
      await synced(meshName, 1);
      const gate = createServer((_request, response) => response.writeHead(500).end('not healthy'));
      await new Promise<void>((resolve) => gate.listen(0, '127.0.0.1', resolve));
      try {
        const gateUrl = `http://127.0.0.1:${(gate.address() as AddressInfo).port}/gate`;
        const { run, received } = await runWhile(
          startRollout(
            meshName,
            '--steps',
            '50,100',
            '--interval',
            '1s',
            '--gate',
            gateUrl,
            '--wait',
            '--timeout',
            '30s',
          ),
          receiveWeights(web, meshName, { blue: 100, green: 0 }),
        );
        expect(run.code).toBe(1);
        expect(run.stdout).toContain('Aborted');
        const blueShares = (received as Array<Record<string, number>>).map(
          (w) => w[egressCluster(meshName, 'blue')],
        );
        expect(blueShares).toEqual([50, 100]);
      } finally {
        gate.close();
      }
    });

    it('exits 2 when --wait times out before the rollout ends', async () => {
      const meshName = await canaryMesh();
      await sidecar(meshName, 'web');
      await synced(meshName, 1);
      const run = await startRollout(
        meshName,
        '--steps',
        '10,100',
        '--interval',
        '1h',
        '--wait',
        '--timeout',
        '2s',
      );
      expect(run.code).toBe(2);
      const id = /Rollout (\S+) started/.exec(run.stdout)![1]!;
      expect((await ci(['rollout', 'abort', id, '--mesh', meshName])).code).toBe(0);
    });

    it('lists proxies like istioctl proxy-status, and as JSON', async () => {
      const meshName = await canaryMesh();
      await sidecar(meshName, 'web');
      await synced(meshName, 1);
      const revision = await meshRevision(controlPlane.db, meshName);

      const table = await ci(['proxies', '--mesh', meshName]);
      expect(table.code).toBe(0);
      expect(table.stderr).toBe('');
      const [header, row, ...more] = table.stdout.trimEnd().split('\n');
      expect(header).toMatch(/^NAME\s+CDS\s+LDS\s+EDS\s+RDS\s+REVISION\s+CONNECTED\s+VERSION$/);
      expect(row!.split(/\s+/)).toEqual([
        `mesh/${meshName}/virtualNode/web`,
        'SYNCED',
        'SYNCED',
        '-', // DNS service discovery: no endpoints over EDS
        'SYNCED',
        String(revision),
        expect.stringMatching(/^\d/),
        'envoy/1.30.1',
      ]);
      expect(more).toEqual([]);

      const json = await ci(['proxies', '--mesh', meshName, '--output', 'json']);
      expect(json.code).toBe(0);
      expect(JSON.parse(json.stdout)).toEqual({
        proxies: [
          expect.objectContaining({
            nodeId: `mesh/${meshName}/virtualNode/web`,
            state: 'SYNCED',
            connected: true,
            syncedRevision: revision,
          }),
        ],
      });
    });

    it('sets weights and waits until the sidecars have them; history shows who did it and why', async () => {
      const meshName = await canaryMesh();
      const web = await sidecar(meshName, 'web');
      await synced(meshName, 1);
      const before = await meshRevision(controlPlane.db, meshName);

      const { run, received } = await runWhile(
        setWeights(
          meshName,
          'blue=90',
          'green=10',
          '--reason',
          'canary of build 1234',
          '--wait',
          '--timeout',
          '20s',
        ),
        receiveWeights(web, meshName, { blue: 90, green: 10 }),
      );
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(
        new RegExp(
          `^Route canary \\(virtual router api, mesh ${meshName}\\): blue=90 green=10; mesh revision ${before + 1}\\.\\n` +
            `Revision ${before + 1} reached the connected proxy in [\\d.]+m?s\\.\\n$`,
        ),
      );
      expect(received).toContainEqual({
        [egressCluster(meshName, 'blue')]: 90,
        [egressCluster(meshName, 'green')]: 10,
      });

      // A script reads the same as one JSON document.
      const second = await runWhile(
        setWeights(meshName, 'blue=50', 'green=50', '--wait', '--output', 'json'),
        receiveWeights(web, meshName, { blue: 50, green: 50 }),
      );
      expect(second.run.code).toBe(0);
      expect(JSON.parse(second.run.stdout)).toMatchObject({
        mesh: meshName,
        virtualRouter: 'api',
        route: 'canary',
        revision: before + 2,
        weights: { blue: 50, green: 50 },
        routeData: { routeName: 'canary', metadata: { version: 3 } },
        wait: { outcome: 'propagated', revision: before + 2, proxies: 1, acked: 1, nacked: [] },
      });

      const history = await ci(['history', '--mesh', meshName, '--kind', 'route']);
      expect(history.code).toBe(0);
      const lines = history.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(
        /^REVISION\s+TIME\s+ACTOR\s+OPERATION\s+RESOURCE\s+CHANGE\s+REASON$/,
      );
      expect(lines[1]).toMatch(
        new RegExp(
          `^${before + 2}\\s+\\S+Z\\s+${CI_ACCESS_KEY}\\s+UPDATE\\s+route api/canary\\s+blue=90 green=10 → blue=50 green=50$`,
        ),
      );
      expect(lines[2]).toMatch(
        new RegExp(
          `^${before + 1}\\s+\\S+Z\\s+${CI_ACCESS_KEY}\\s+UPDATE\\s+route api/canary\\s+blue=100 green=0 → blue=90 green=10\\s+canary of build 1234$`,
        ),
      );
      const json = await ci(['history', '--mesh', meshName, '--kind', 'route', '-o', 'json']);
      expect(JSON.parse(json.stdout)).toMatchObject({
        meshName,
        changes: [
          { revision: before + 2, actor: CI_ACCESS_KEY, reason: null },
          { revision: before + 1, actor: CI_ACCESS_KEY, reason: 'canary of build 1234' },
          { operation: 'CREATE', kind: 'route', name: 'canary' },
        ],
      });
    });

    it('times out with exit 2 naming the proxy that never acknowledges', async () => {
      const meshName = await canaryMesh();
      const web = await sidecar(meshName, 'web');
      const mobile = await sidecar(meshName, 'mobile');
      await synced(meshName, 2);
      const before = await meshRevision(controlPlane.db, meshName);

      const { run } = await runWhile(
        setWeights(meshName, 'blue=80', 'green=20', '--wait', '--timeout', '2s'),
        // web acknowledges; mobile receives the route configuration and never answers.
        Promise.all([receiveWeights(web, meshName, { blue: 80, green: 20 }), mobile.next()]),
      );
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(
        new RegExp(
          `^trellis: timed out after 2(\\.\\d)?s waiting for revision ${before + 1}: 1/2 proxies acked; still pending:\\n` +
            `  mesh/${meshName}/virtualNode/mobile \\(STALE, has revision ${before}\\)\\n$`,
        ),
      );
    });

    it('exits 1 naming the proxy that rejects the configuration', async () => {
      const meshName = await canaryMesh();
      const mobile = await sidecar(meshName, 'mobile');
      await synced(meshName, 1);

      const rejecting = (async () => {
        for (;;) {
          const response = await mobile.next();
          if (response.typeUrl === ROUTE_CONFIGURATION) {
            mobile.nack(response, 'weighted cluster green: unknown cluster');
            return;
          }
          mobile.ack(response);
        }
      })();
      const { run } = await runWhile(
        setWeights(meshName, 'blue=70', 'green=30', '--wait', '--timeout', '20s'),
        rejecting,
      );
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(
        `  mesh/${meshName}/virtualNode/mobile RDS: weighted cluster green: unknown cluster\n`,
      );
    });

    it('exits 1 with the App Mesh error the API answered', async () => {
      const meshName = await canaryMesh();
      const run = await ci([
        ...'weights set --router api --route no-such-route blue=50 green=50'.split(' '),
        ...['--mesh', meshName],
      ]);
      expect(run).toMatchObject({ code: 1, stdout: '' });
      expect(run.stderr).toMatch(/^NotFoundException: .*no-such-route.*\n$/);
    });

    it('reverts to an earlier revision and waits until the sidecars have the old weights', async () => {
      const meshName = await canaryMesh();
      const web = await sidecar(meshName, 'web');
      await synced(meshName, 1);
      const original = await meshRevision(controlPlane.db, meshName);
      const shifted = await runWhile(
        setWeights(meshName, 'blue=40', 'green=60', '--wait'),
        receiveWeights(web, meshName, { blue: 40, green: 60 }),
      );
      expect(shifted.run.code).toBe(0);

      const { run, received } = await runWhile(
        ci(['revert', '--mesh', meshName, '--to-revision', String(original), '--wait']),
        receiveWeights(web, meshName, { blue: 100, green: 0 }),
      );
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const lines = run.stdout.trimEnd().split('\n');
      expect(lines[0]).toBe(
        `Mesh ${meshName} restored to its state at revision ${original} in revision ${original + 2}:`,
      );
      expect(lines[2]).toMatch(
        /\s+UPDATE\s+route api\/canary\s+blue=40 green=60 → blue=100 green=0\s+revert to revision \d+$/,
      );
      expect(lines[lines.length - 1]).toMatch(
        new RegExp(`^Revision ${original + 2} reached the connected proxy in `),
      );
      expect(received).toContainEqual({
        [egressCluster(meshName, 'blue')]: 100,
        [egressCluster(meshName, 'green')]: 0,
      });
    });
  });
});

/** Cluster → weight of the weighted routes of a route configuration. */
function weightsIn(config: RouteConfiguration): Record<string, number> {
  const weights: Record<string, number> = {};
  for (const host of config.virtualHosts ?? []) {
    for (const route of host.routes ?? []) {
      const specifier =
        route.action?.$case === 'route' ? route.action.value.clusterSpecifier : undefined;
      if (specifier?.$case !== 'weightedClusters') continue;
      for (const cluster of specifier.value.clusters ?? []) {
        weights[cluster.name ?? ''] = cluster.weight ?? 0;
      }
    }
  }
  return weights;
}

/** `20261127T064435Z` → a Date. */
function amzDate(value: string): Date {
  const [, y, mo, d, h, mi, s] = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/.exec(value)!;
  return new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}Z`);
}

type SourceData = string | ArrayBuffer | ArrayBufferView;

/** SHA-256 and HMAC-SHA256 in the shape the signer asks for. */
class Sha256 {
  private readonly hash;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
  reset(): void {}
}

function bytes(data: SourceData): string | Uint8Array {
  if (typeof data === 'string') return data;
  if (ArrayBuffer.isView(data))
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}
