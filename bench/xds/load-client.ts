import {
  CLUSTER_LOAD_ASSIGNMENT,
  TYPE_SHORT_NAMES,
  type TypeUrl,
} from '../../libs/xds-types/src/resource-types';
import { EndpointTracker, type TrackedLatencies } from '../registry/endpoint-tracker';
import { MESH, proxyNode, type GroupSubscriptions } from './bench-mesh';
import { SimulatedProxy, type Protocol, type ProxyHost, type StreamEnd } from './simulated-proxy';
import { wallClock } from './wall-clock';

// The load generator, in a process of its own so that the server's memory and CPU are measured
// alone: simulated proxies (simulated-proxy.ts), each on its own HTTP/2 connection, as Envoy.

export type { Protocol };

/** Parent → load generator. */
export type LoadCommand =
  | {
      kind: 'start';
      port: number;
      protocol: Protocol;
      streams: number;
      /** Streams opening at once; the next opens when one has its initial configuration. */
      concurrency: number;
      /** Per group, the names its proxies subscribe to. */
      groups: GroupSubscriptions[];
      /**
       * Reconnect a stream that ends, as Envoy does (jittered exponential backoff from 500 ms
       * to 30 s), sending the versions it last accepted. Without it, an ending stream fails
       * the run.
       */
      reconnect?: boolean;
      /** The mesh whose virtual nodes the groups are (default: the fan-out mesh). */
      mesh?: string;
    }
  | { kind: 'count' }
  /**
   * From now on, read every endpoint response of these clusters (one per group, by index): the
   * registry benchmark's endpoint sets, from which each ACK tells which changes it holds.
   */
  | { kind: 'track'; clusters: string[]; changesPerCluster: number }
  /** Each tracked change's ACK latency from its API answer (wall clock, per cluster by change). */
  | { kind: 'latencies'; answeredAt: number[][] }
  /** From now on, time each stream's first ACK of a response of this type ('acked' when all have). */
  | { kind: 'arm'; typeUrl: TypeUrl }
  /** The first stream's latest response of each type, as received. */
  | { kind: 'capture' }
  /** From now on, a connection attempted or established that fails is an error (the server is up again). */
  | { kind: 'mark' }
  | { kind: 'stats' }
  | { kind: 'stop' };

/** Reconnect bookkeeping, counted since 'start' (errors since 'mark'). */
export interface LoadStats {
  /** Streams that ended while the generator was running. */
  disconnects: number;
  /** Connection attempts after the first, refused ones included. */
  reconnects: number;
  /** Streams or connections that failed after 'mark'. */
  errors: number;
  /** The first few of those failures. */
  errorSamples: string[];
  /** Streams open now (their connection is up). */
  open: number;
}

export const EMPTY_STATS: LoadStats = {
  disconnects: 0,
  reconnects: 0,
  errors: 0,
  errorSamples: [],
  open: 0,
};

/** Load generator → parent. */
export type LoadEvent =
  | { kind: 'synced'; streams: number }
  | { kind: 'progress'; opened: number; synced: number }
  | { kind: 'counts'; responses: Record<string, number> }
  | ({ kind: 'latencies' } & TrackedLatencies)
  /** Wall-clock times (ms since the epoch, sub-millisecond) of each stream's ACK after 'arm'. */
  | { kind: 'acked'; times: number[] }
  /** Raw (Delta)DiscoveryResponse bytes by type URL, base64. */
  | { kind: 'captured'; responses: Record<string, string> }
  | ({ kind: 'stats' } & LoadStats)
  | { kind: 'failed'; message: string };

class LoadGenerator implements ProxyHost {
  private readonly proxies: SimulatedProxy[] = [];
  private readonly responses = new Map<string, number>();
  private readonly captures = new Map<string, Buffer>();
  private opened = 0;
  private syncedCount = 0;
  private failed = false;
  private progressTimer?: NodeJS.Timeout;
  private ackTimes: number[] = [];
  private ackCount = 0;
  private markedAt?: number;
  private tracker?: EndpointTracker;
  private readonly counters: Omit<LoadStats, 'open'> = {
    disconnects: 0,
    reconnects: 0,
    errors: 0,
    errorSamples: [],
  };

  constructor(private readonly command: Extract<LoadCommand, { kind: 'start' }>) {}

  get reconnects(): boolean {
    return this.command.reconnect ?? false;
  }

  start(): void {
    this.progressTimer = setInterval(() => this.progress(), 1000);
    this.openMore();
  }

  responded(proxy: SimulatedProxy, typeUrl: TypeUrl, message: Buffer): void {
    const type = TYPE_SHORT_NAMES[typeUrl];
    this.responses.set(type, (this.responses.get(type) ?? 0) + 1);
    if (proxy.index === 0) this.captures.set(typeUrl, Buffer.from(message));
    if (this.tracker && typeUrl === CLUSTER_LOAD_ASSIGNMENT) {
      this.tracker.received(proxy.index, message, this.command.protocol === 'delta');
    }
  }

  track(clusters: string[], changesPerCluster: number): void {
    this.tracker = new EndpointTracker(
      clusters,
      this.proxies.map((proxy) => proxy.index % this.command.groups.length),
      changesPerCluster,
    );
  }

  latencies(answeredAt: number[][]): TrackedLatencies {
    if (!this.tracker) throw new Error('latencies asked before track');
    return this.tracker.latencies(answeredAt);
  }

  resent(): void {
    // The system benchmark checks versions through proxy status; nothing to count here.
  }

  synced(): void {
    this.syncedCount++;
    if (this.syncedCount === this.command.streams) {
      clearInterval(this.progressTimer);
      send({ kind: 'synced', streams: this.syncedCount });
    } else {
      this.openMore();
    }
  }

  fail(message: string): void {
    if (this.failed) return;
    this.failed = true;
    send({ kind: 'failed', message });
  }

  arm(typeUrl: TypeUrl): void {
    this.ackTimes = new Array<number>(this.proxies.length).fill(0);
    this.ackCount = 0;
    for (const proxy of this.proxies) {
      proxy.arm(typeUrl, (time) => {
        this.ackTimes[proxy.index] = time;
        if (++this.ackCount === this.proxies.length) send({ kind: 'acked', times: this.ackTimes });
      });
    }
  }

  captured(): Record<string, string> {
    return Object.fromEntries(
      [...this.captures].map(([typeUrl, bytes]) => [typeUrl, bytes.toString('base64')]),
    );
  }

  mark(): void {
    this.markedAt = wallClock();
  }

  /** A connection ended; an error when it was attempted or established after 'mark'. */
  ended(_proxy: SimulatedProxy, { wasConnected, since, reason }: StreamEnd): void {
    if (wasConnected) this.counters.disconnects++;
    if (this.markedAt === undefined || since < this.markedAt) return;
    this.counters.errors++;
    if (this.counters.errorSamples.length < 5) this.counters.errorSamples.push(reason);
  }

  reconnecting(): void {
    this.counters.reconnects++;
  }

  stats(): LoadStats {
    return {
      ...this.counters,
      errorSamples: [...this.counters.errorSamples],
      open: this.proxies.filter((proxy) => proxy.open).length,
    };
  }

  /** Responses received by type since the previous count. */
  count(): Record<string, number> {
    const counts = Object.fromEntries(this.responses);
    this.responses.clear();
    return counts;
  }

  stop(): void {
    clearInterval(this.progressTimer);
    for (const proxy of this.proxies) proxy.close();
  }

  private openMore(): void {
    const { port, protocol, streams, concurrency, groups } = this.command;
    while (this.opened < streams && this.opened - this.syncedCount < concurrency) {
      const index = this.opened++;
      const group = index % groups.length;
      this.proxies.push(
        new SimulatedProxy(
          index,
          port,
          protocol,
          proxyNode(index, group, this.command.mesh ?? MESH, groups[group]!.virtualNode),
          groups[group]!,
          this,
        ),
      );
    }
  }

  private progress(): void {
    send({ kind: 'progress', opened: this.opened, synced: this.syncedCount });
  }
}

function send(event: LoadEvent): void {
  process.send?.(event);
}

let generator: LoadGenerator | undefined;
process.on('message', (command: LoadCommand) => {
  switch (command.kind) {
    case 'start':
      generator = new LoadGenerator(command);
      generator.start();
      break;
    case 'count':
      send({ kind: 'counts', responses: generator?.count() ?? {} });
      break;
    case 'arm':
      generator?.arm(command.typeUrl);
      break;
    case 'track':
      generator?.track(command.clusters, command.changesPerCluster);
      send({ kind: 'counts', responses: generator?.count() ?? {} });
      break;
    case 'latencies':
      if (generator) send({ kind: 'latencies', ...generator.latencies(command.answeredAt) });
      break;
    case 'capture':
      send({ kind: 'captured', responses: generator?.captured() ?? {} });
      break;
    case 'mark':
      generator?.mark();
      break;
    case 'stats':
      send({ kind: 'stats', ...(generator?.stats() ?? EMPTY_STATS) });
      break;
    case 'stop':
      generator?.stop();
      process.disconnect();
      break;
  }
});
// The parent went away (finished, failed or killed): nothing left to measure.
process.on('disconnect', () => process.exit(0));
