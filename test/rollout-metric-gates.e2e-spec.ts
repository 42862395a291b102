import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createCanaryMesh, egressCluster } from './support/canary-mesh';
import {
  startTestControlPlane,
  uniqueMeshName,
  type TestControlPlane,
} from './support/control-plane';
import { runCommand } from './support/process';
import { eventually } from './support/xds';

const TRELLIS_BIN = path.resolve(__dirname, '../apps/cli/bin/trellis.js');

/** Envoy's default histogram buckets for upstream_rq_time, in milliseconds. */
const ENVOY_BUCKETS = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000];

/** What the canary's callers' sidecars see of the traffic to one target node. */
interface Traffic {
  requestsPerSecond: number;
  /** Share of 2xx responses; the rest are 503s. */
  successRatio: number;
  latencyMs: number;
}

/**
 * The callers' sidecars of each mesh as Prometheus scrapes Envoy (`/stats/prometheus`): counters
 * of the egress clusters of blue and green, named as App Mesh names them, growing with time at
 * the traffic each test sets. Blue always fails, so a gate that read blue's traffic as green's
 * would show it.
 */
class EnvoyExporter {
  private readonly clusters = new Map<
    string,
    Traffic & { since: number; requests: number; errors: number; counted: number }
  >();
  private server?: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((_request, response) =>
      response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(this.metrics()),
    );
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** From now on, requests to `node` of `meshName` arrive as `traffic` says. */
  set(meshName: string, node: string, traffic: Traffic): void {
    const cluster = egressCluster(meshName, node);
    this.advance();
    const current = this.clusters.get(cluster);
    this.clusters.set(cluster, {
      requests: 0,
      errors: 0,
      ...current,
      ...traffic,
      since: Date.now(),
      counted: 0,
    });
  }

  /** Counts the requests that arrived since the last scrape into the counters. */
  private advance(): void {
    for (const cluster of this.clusters.values()) {
      const arrived = Math.floor(((Date.now() - cluster.since) * cluster.requestsPerSecond) / 1000);
      const fresh = arrived - cluster.counted;
      cluster.counted = arrived;
      cluster.requests += fresh;
      cluster.errors += Math.round(fresh * (1 - cluster.successRatio));
    }
  }

  private metrics(): string {
    this.advance();
    const lines = [
      '# TYPE envoy_cluster_upstream_rq counter',
      '# TYPE envoy_cluster_upstream_rq_xx counter',
      '# TYPE envoy_cluster_upstream_rq_total counter',
      '# TYPE envoy_cluster_upstream_rq_time histogram',
    ];
    for (const [name, cluster] of this.clusters) {
      const label = `envoy_cluster_name="${name}"`;
      const ok = cluster.requests - cluster.errors;
      lines.push(
        `envoy_cluster_upstream_rq{envoy_response_code="200",${label}} ${ok}`,
        `envoy_cluster_upstream_rq{envoy_response_code="503",${label}} ${cluster.errors}`,
        `envoy_cluster_upstream_rq_xx{envoy_response_code_class="2",${label}} ${ok}`,
        `envoy_cluster_upstream_rq_xx{envoy_response_code_class="5",${label}} ${cluster.errors}`,
        `envoy_cluster_upstream_rq_total{${label}} ${cluster.requests}`,
      );
      // Every request of a period takes the period's latency: all of them in one bucket.
      for (const bucket of ENVOY_BUCKETS) {
        const count = bucket >= cluster.latencyMs ? cluster.requests : 0;
        lines.push(`envoy_cluster_upstream_rq_time_bucket{${label},le="${bucket}"} ${count}`);
      }
      lines.push(
        `envoy_cluster_upstream_rq_time_bucket{${label},le="+Inf"} ${cluster.requests}`,
        `envoy_cluster_upstream_rq_time_sum{${label}} ${cluster.requests * cluster.latencyMs}`,
        `envoy_cluster_upstream_rq_time_count{${label}} ${cluster.requests}`,
      );
    }
    return `${lines.join('\n')}\n`;
  }
}

function freePort(): Promise<number> {
  const server = createTcpServer();
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    }),
  );
}

/** Debian's `prometheus` on loopback, with its own config and storage, scraping every second. */
async function startPrometheus(target: string): Promise<{ url: string; stop(): Promise<void> }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'trellis-prometheus-'));
  const config = path.join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      'scrape_configs:',
      '  - job_name: envoy',
      '    metrics_path: /stats/prometheus',
      '    static_configs:',
      `      - targets: ['${target}']`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const child: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  child.on('error', (error) => {
    stderr += `cannot run prometheus (installed by .ci/run): ${error.message}`;
  });
  const url = `http://127.0.0.1:${port}`;
  await eventually(async () => {
    expect(child.exitCode).toBeNull();
    expect(stderr).not.toContain('cannot run prometheus');
    const response = await fetch(`${url}/-/ready`);
    expect(response.status).toBe(200);
  }, 60_000);
  return {
    url,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

interface RolloutView {
  id: string;
  state: string;
  phase: string | null;
  abort: { reason: string } | null;
  events: Array<{ type: string; message: string }>;
}

describe('rollouts judged by metrics from a real Prometheus', () => {
  let trellis: TestControlPlane;
  let prometheus: { url: string; stop(): Promise<void> };
  const exporter = new EnvoyExporter();

  beforeAll(async () => {
    await exporter.start();
    prometheus = await startPrometheus(exporter.url);
    trellis = await startTestControlPlane({ TRELLIS_ROLLOUT_TICK_MS: '100' });
  }, 90_000);
  afterAll(async () => {
    await trellis?.close();
    await prometheus?.stop();
    await exporter.stop();
  });

  /** A canary mesh whose callers send `green` traffic as given (and blue only failures). */
  async function canary(green: Traffic): Promise<string> {
    const meshName = uniqueMeshName('metrics');
    await createCanaryMesh(trellis.appMesh, meshName);
    exporter.set(meshName, 'blue', { requestsPerSecond: 100, successRatio: 0, latencyMs: 4000 });
    exporter.set(meshName, 'green', green);
    return meshName;
  }

  async function startRollout(meshName: string, gate: Record<string, unknown>): Promise<string> {
    const response = await fetch(`${trellis.httpUrl}/v1/meshes/${meshName}/rollouts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        route: { virtualRouter: 'api', route: 'canary' },
        from: 'blue',
        to: 'green',
        steps: [10, 100],
        interval: '3s',
        gates: [gate],
      }),
    });
    const body = (await response.json()) as RolloutView;
    expect(response.status).toBe(201);
    return body.id;
  }

  async function rolloutWhen(
    meshName: string,
    id: string,
    condition: (rollout: RolloutView) => boolean,
  ): Promise<RolloutView> {
    let rollout: RolloutView | undefined;
    await eventually(async () => {
      const response = await fetch(`${trellis.httpUrl}/v1/meshes/${meshName}/rollouts/${id}`);
      rollout = (await response.json()) as RolloutView;
      expect(rollout.state === 'Aborted' || rollout.state === 'Failed' || condition(rollout)).toBe(
        true,
      );
    }, 60_000);
    return rollout!;
  }

  const successRate = (min: number) => ({
    successRate: { address: prometheus.url, min, minRequests: 20 },
  });
  const latency = (maxP99: string) => ({
    latency: { address: prometheus.url, maxP99, minRequests: 20 },
  });

  it('promotes while green answers 99.9 % of its requests successfully', async () => {
    const meshName = await canary({ requestsPerSecond: 200, successRatio: 0.999, latencyMs: 20 });
    const id = await startRollout(meshName, successRate(99));
    const done = await rolloutWhen(meshName, id, (r) => r.state === 'Succeeded');
    expect(done.state).toBe('Succeeded');
    const passed = done.events.find((event) => event.type === 'GatePassed');
    expect(passed?.message).toMatch(
      /^request success rate of green (99\.\d+|100) % over the last \d+s \(\d+ requests\), minimum 99 %$/,
    );
  });

  it('aborts at 90 % with the measured rate and the minimum in the reason, shown by the CLI', async () => {
    const meshName = await canary({ requestsPerSecond: 200, successRatio: 0.9, latencyMs: 20 });
    const id = await startRollout(meshName, successRate(99));
    const done = await rolloutWhen(meshName, id, () => false);
    expect(done.state).toBe('Aborted');
    const measured =
      /^request success rate of green ([\d.]+) % over the last \d+s \(\d+ requests\) is below the minimum 99 %$/.exec(
        done.abort!.reason,
      );
    expect(measured).not.toBeNull();
    expect(Number(measured![1])).toBeGreaterThan(88);
    expect(Number(measured![1])).toBeLessThan(92);

    const status = await runCommand(
      process.execPath,
      [TRELLIS_BIN, 'rollout', 'status', id, '--mesh', meshName],
      {
        env: { ...process.env, TRELLIS_ENDPOINT: trellis.httpUrl },
      },
    );
    expect(status.code).toBe(1);
    expect(status.stdout).toContain(`Rollout ${id}: Aborted (${done.abort!.reason})`);
    expect(status.stdout).toContain(`${done.abort!.reason}; restoring the original weights`);

    const history = await runCommand(
      process.execPath,
      [TRELLIS_BIN, 'history', '--mesh', meshName, '--output', 'json'],
      { env: { ...process.env, TRELLIS_ENDPOINT: trellis.httpUrl } },
    );
    expect(history.code).toBe(0);
    expect(history.stdout).toContain(
      JSON.stringify(`rollout rollback to the original weights: ${done.abort!.reason}`),
    );
  });

  it('promotes while the p99 latency of green is under the maximum, and aborts above it', async () => {
    const fast = await canary({ requestsPerSecond: 200, successRatio: 1, latencyMs: 30 });
    const slow = await canary({ requestsPerSecond: 200, successRatio: 1, latencyMs: 300 });
    const [fastId, slowId] = [
      await startRollout(fast, latency('100ms')),
      await startRollout(slow, latency('100ms')),
    ];
    const promoted = await rolloutWhen(fast, fastId, (r) => r.state === 'Succeeded');
    expect(promoted.state).toBe('Succeeded');
    // All requests in Envoy's (25, 50] ms bucket: Prometheus interpolates the p99 to 49.75 ms.
    expect(promoted.events.find((event) => event.type === 'GatePassed')?.message).toMatch(
      /^p99 latency of green 49\.75 ms over the last \d+s \(\d+ requests\), maximum 100 ms$/,
    );
    const aborted = await rolloutWhen(slow, slowId, () => false);
    expect(aborted.abort?.reason).toMatch(
      /^p99 latency of green 497\.5 ms over the last \d+s \(\d+ requests\) is above the maximum 100 ms$/,
    );
  });

  it('holds a step while green has too few requests to judge, and goes on once it has them', async () => {
    const meshName = await canary({ requestsPerSecond: 0, successRatio: 1, latencyMs: 20 });
    const id = await startRollout(meshName, successRate(99));
    const waiting = await rolloutWhen(meshName, id, (r) =>
      r.events.some((event) => event.type === 'GateWaiting'),
    );
    expect(waiting).toMatchObject({ state: 'Progressing', phase: 'CheckingMetrics' });
    expect(waiting.events.find((event) => event.type === 'GateWaiting')?.message).toMatch(
      /^too few requests to green to judge its success rate: 0 over the last \d+s, 20 needed; waiting$/,
    );

    exporter.set(meshName, 'green', { requestsPerSecond: 200, successRatio: 1, latencyMs: 20 });
    const done = await rolloutWhen(meshName, id, (r) => r.state === 'Succeeded');
    expect(done.state).toBe('Succeeded');
  });
});
