import { ensureBenchMesh, restMeshSubscriptions } from '../bench/system/bench-mesh-rest';
import { proxyNode } from '../bench/xds/bench-mesh';
import {
  SimulatedProxy,
  type ProxyHost,
  type ProxyTarget,
  type StreamEnd,
} from '../bench/xds/simulated-proxy';
import {
  startTestControlPlane,
  uniqueMeshName,
  type TestControlPlane,
} from './support/control-plane';
import { proxiesWhen, stopServerProcess, xdsPortOf, type ProxyStatusRow } from './support/mesh';
import { startServerProcess, type ServerProcess } from './support/process';
import { eventually } from './support/xds';

/**
 * xDS replicas that drain and rebalance: real control-plane processes (TRELLIS_ROLES=xds) on the
 * test run's Postgres, and simulated Envoys, each on its own HTTP/2 connection, that reconnect as
 * Envoy does (backoff, then a new connection through the "Service", reporting their versions).
 * The Service is `target`: the port a new connection goes to, as a Kubernetes Service sends it to
 * a ready endpoint.
 *
 * `npm test` runs the 1,000 proxies (14 s on a 2-core machine at load 8);
 * TRELLIS_DRAIN_TEST_PROXIES sets another count (deploy/README.md, "Draining").
 */
const PROXIES = Number(process.env.TRELLIS_DRAIN_TEST_PROXIES ?? 1000);
const GROUPS = 4;
const DRAIN_SECONDS = 5;
const MAX_STREAM_AGE_SECONDS = 3;

/** A GOAWAY, then UNAVAILABLE on the stream: the server moving the proxy, which Envoy retries. */
function isMove(end: StreamEnd): boolean {
  return end.goAway && end.grpcStatus === 14;
}

/** Simulated proxies of one mesh, and what they saw. */
class ProxyFleet implements ProxyHost {
  readonly reconnects = true;
  readonly proxies: SimulatedProxy[] = [];
  /** When each move happened (ms since the epoch). */
  readonly moves: number[] = [];
  /** Ends other than a move: stream errors, refused connections. */
  readonly errors: string[] = [];
  readonly resends: string[] = [];
  private syncedCount = 0;
  private allSynced?: () => void;

  constructor(
    private readonly meshName: string,
    private readonly target: ProxyTarget,
  ) {}

  /** Connects `count` proxies and resolves once each has a response of every type. */
  connect(count: number): Promise<void> {
    const subscriptions = restMeshSubscriptions(GROUPS, this.meshName);
    const synced = new Promise<void>((resolve) => (this.allSynced = resolve));
    for (let index = 0; index < count; index++) {
      const group = index % GROUPS;
      this.proxies.push(
        new SimulatedProxy(
          index,
          this.target,
          'sotw',
          proxyNode(index, group, this.meshName),
          subscriptions[group]!,
          this,
        ),
      );
    }
    return synced;
  }

  /** How many proxies have an open stream to `port`. */
  connectedTo(port: number): number {
    return this.proxies.filter((proxy) => proxy.open && proxy.port === port).length;
  }

  close(): void {
    for (const proxy of this.proxies) proxy.close();
  }

  fail(message: string): void {
    this.errors.push(message);
  }

  ended(_proxy: SimulatedProxy, end: StreamEnd): void {
    if (isMove(end)) this.moves.push(Date.now());
    else this.errors.push(end.reason);
  }

  reconnecting(): void {}

  responded(): void {}

  synced(): void {
    if (++this.syncedCount === this.proxies.length) this.allSynced?.();
  }

  resent(proxy: SimulatedProxy, typeUrl: string, version: string): void {
    this.resends.push(`${proxy.node.id}: ${typeUrl} ${version}`);
  }
}

function startXdsReplica(env: Record<string, string> = {}): Promise<ServerProcess> {
  return startServerProcess({
    TRELLIS_ROLES: 'xds',
    DATABASE_URL: process.env.DATABASE_URL!,
    TRELLIS_PROXY_STATUS_INTERVAL_MS: '250',
    TRELLIS_LOG_LEVEL: 'info',
    ...env,
  });
}

/** Connected proxies of the mesh in sync, by replica id. */
function syncedByReplica(rows: ProxyStatusRow[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const row of rows) {
    if (row.connected && row.state === 'SYNCED')
      counts.set(row.replicaId, (counts.get(row.replicaId) ?? 0) + 1);
  }
  return counts;
}

describe('xDS replicas drain and rebalance', () => {
  let admin: TestControlPlane;
  const replicas: ServerProcess[] = [];
  const fleets: ProxyFleet[] = [];

  beforeAll(async () => {
    admin = await startTestControlPlane({ TRELLIS_ROLES: 'admin' });
  });
  afterEach(async () => {
    for (const fleet of fleets.splice(0)) fleet.close();
    await Promise.all(replicas.splice(0).map((replica) => stopServerProcess(replica)));
  });
  afterAll(async () => {
    await admin?.close();
  });

  it(`moves ${PROXIES} proxies from a replica given SIGTERM to the other within the drain window, without errors or resends`, async () => {
    const meshName = uniqueMeshName('drain');
    await ensureBenchMesh(admin.appMesh, GROUPS, meshName);
    const env = { TRELLIS_XDS_DRAIN_SECONDS: String(DRAIN_SECONDS) };
    const [a, b] = await Promise.all([startXdsReplica(env), startXdsReplica(env)]);
    replicas.push(a, b);
    const [portA, portB] = [xdsPortOf(a), xdsPortOf(b)];

    // Every proxy on A; the Service has only A's endpoint.
    let endpoints = [portA];
    let next = 0;
    const fleet = new ProxyFleet(meshName, () => endpoints[next++ % endpoints.length]!);
    fleets.push(fleet);
    await fleet.connect(PROXIES);
    expect(fleet.connectedTo(portA)).toBe(PROXIES);
    const before = await proxiesWhen(
      admin.httpUrl,
      meshName,
      (rows) =>
        syncedByReplica(rows).size === 1 && [...syncedByReplica(rows).values()][0] === PROXIES,
      30_000,
    );
    const replicaA = before[0]!.replicaId;

    // A Kubernetes rollout: the pod leaves the Service's endpoints and gets SIGTERM.
    endpoints = [portB];
    const signalledAt = Date.now();
    a.child.kill('SIGTERM');
    // A says it is not ready while it drains (and still answers probes).
    await eventually(async () => {
      expect((await fetch(`${a.httpUrl}/readyz`)).status).toBe(503);
    }, 2000);

    // Every proxy on B, in sync, within the drain window plus 5 s.
    const deadline = signalledAt + (DRAIN_SECONDS + 5) * 1000;
    await eventually(() => expect(fleet.connectedTo(portB)).toBe(PROXIES), deadline - Date.now());
    const after = await proxiesWhen(
      admin.httpUrl,
      meshName,
      (rows) => {
        const synced = syncedByReplica(rows);
        return synced.get(replicaA) === undefined && [...synced.values()][0] === PROXIES;
      },
      Math.max(deadline - Date.now(), 0),
    );
    expect(Date.now()).toBeLessThanOrEqual(deadline);
    expect(after.filter((row) => row.connected && row.replicaId === replicaA)).toEqual([]);

    // The streams were ended gradually, not all at once: the moves span most of the window.
    expect(fleet.errors).toEqual([]);
    expect(fleet.resends).toEqual([]);
    expect(fleet.moves).toHaveLength(PROXIES);
    expect(Math.max(...fleet.moves) - Math.min(...fleet.moves)).toBeGreaterThan(
      DRAIN_SECONDS * 1000 * 0.5,
    );
    // A exits cleanly once drained.
    expect(await a.exited).toBe(0);
  }, 120_000);

  it('spreads proxies over a new replica after a scale-out when streams have a maximum age', async () => {
    const meshName = uniqueMeshName('max-age');
    await ensureBenchMesh(admin.appMesh, GROUPS, meshName);
    const env = { TRELLIS_XDS_MAX_STREAM_AGE_SECONDS: String(MAX_STREAM_AGE_SECONDS) };
    const first = await startXdsReplica(env);
    replicas.push(first);
    const portFirst = xdsPortOf(first);
    let endpoints = [portFirst];
    let next = 0;
    const fleet = new ProxyFleet(meshName, () => endpoints[next++ % endpoints.length]!);
    fleets.push(fleet);
    const count = PROXIES;
    await fleet.connect(count);

    // Scale-out: a second replica joins the Service.
    const second = await startXdsReplica(env);
    replicas.push(second);
    const portSecond = xdsPortOf(second);
    endpoints = [portFirst, portSecond];

    // Within a stream age (+10 % jitter) and the reconnect backoff, the proxies are spread.
    await eventually(
      () => {
        expect(fleet.connectedTo(portSecond)).toBeGreaterThan(count * 0.3);
        expect(fleet.connectedTo(portFirst)).toBeGreaterThan(count * 0.3);
      },
      (MAX_STREAM_AGE_SECONDS * 1.1 + 5) * 1000,
    );
    const rows = await proxiesWhen(
      admin.httpUrl,
      meshName,
      (rows) => syncedByReplica(rows).size === 2,
      10_000,
    );
    for (const synced of syncedByReplica(rows).values()) expect(synced).toBeGreaterThan(0);
    // Every stream reaches its age once: the last proxies connected are the last to move.
    await eventually(
      () => expect(fleet.moves.length).toBeGreaterThanOrEqual(count),
      (MAX_STREAM_AGE_SECONDS * 1.1 + 5) * 1000,
    );
    expect(fleet.errors).toEqual([]);
    expect(fleet.resends).toEqual([]);
  }, 120_000);
});
