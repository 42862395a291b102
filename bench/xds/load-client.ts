import http2 from 'node:http2';
import { BinaryReader } from '@bufbuild/protobuf/wire';
import type { Node } from '../../libs/envoy-api/generated/envoy/config/core/v3/base';
import {
  DeltaDiscoveryRequest,
  DiscoveryRequest,
} from '../../libs/envoy-api/generated/envoy/service/discovery/v3/discovery';
import {
  CLUSTER,
  CLUSTER_LOAD_ASSIGNMENT,
  LISTENER,
  ROUTE_CONFIGURATION,
  TYPE_SHORT_NAMES,
  isServedType,
  type TypeUrl,
} from '../../libs/xds-types/src/resource-types';
import { proxyNode, type GroupSubscriptions } from './bench-mesh';
import { wallClock } from './wall-clock';

// The load generator, in a process of its own so that the server's memory and CPU are measured
// alone. Each simulated proxy opens its own HTTP/2 connection with one ADS stream, as Envoy does,
// subscribes to the four types the way Envoy ends up subscribed, and ACKs every response. It is
// deliberately lean: plain node:http2 and gRPC framing instead of a grpc-js channel per proxy,
// and responses are read only as far as the ACK needs (type, version, nonce).

const ADS = '/envoy.service.discovery.v3.AggregatedDiscoveryService';

export type Protocol = 'sotw' | 'delta';

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
    }
  | { kind: 'count' }
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
  /** Wall-clock times (ms since the epoch, sub-millisecond) of each stream's ACK after 'arm'. */
  | { kind: 'acked'; times: number[] }
  /** Raw (Delta)DiscoveryResponse bytes by type URL, base64. */
  | { kind: 'captured'; responses: Record<string, string> }
  | ({ kind: 'stats' } & LoadStats)
  | { kind: 'failed'; message: string };

/** The four types, in the order Envoy asks for them. */
const TYPES: readonly TypeUrl[] = [CLUSTER, CLUSTER_LOAD_ASSIGNMENT, LISTENER, ROUTE_CONFIGURATION];
const ALL_TYPES_ACKED = (1 << TYPES.length) - 1;
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 30_000;

/** The fields of a (Delta)DiscoveryResponse an ACK needs; both messages number them alike. */
interface ResponseHead {
  version: string;
  typeUrl: string;
  nonce: string;
}

/** A delta response's resources (name → version) and removed names. */
interface DeltaContents {
  resources: Array<[string, string]>;
  removed: string[];
}

/** `delta`: also read the resources' names and versions and the removed names. */
function readHead(bytes: Uint8Array, delta: boolean): ResponseHead & Partial<DeltaContents> {
  const reader = new BinaryReader(bytes);
  const head: ResponseHead & Partial<DeltaContents> = { version: '', typeUrl: '', nonce: '' };
  if (delta) Object.assign(head, { resources: [], removed: [] });
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1) head.version = reader.string();
    else if (field === 4) head.typeUrl = reader.string();
    else if (field === 5) head.nonce = reader.string();
    else if (delta && field === 2) head.resources!.push(readResource(reader.bytes()));
    else if (delta && field === 6) head.removed!.push(reader.string());
    else reader.skip(wireType);
  }
  return head;
}

/** Name and version of a delta `Resource`. */
function readResource(bytes: Uint8Array): [string, string] {
  const reader = new BinaryReader(bytes);
  let name = '';
  let version = '';
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 3) name = reader.string();
    else if (field === 1) version = reader.string();
    else reader.skip(wireType);
  }
  return [name, version];
}

/** A gRPC length-prefixed message (uncompressed). */
function frame(message: Uint8Array): Buffer {
  const framed = Buffer.allocUnsafe(5 + message.length);
  framed.writeUInt8(0, 0);
  framed.writeUInt32BE(message.length, 1);
  framed.set(message, 5);
  return framed;
}

class SimulatedProxy {
  private session!: http2.ClientHttp2Session;
  private stream!: http2.ClientHttp2Stream;
  private pending: Buffer = Buffer.alloc(0);
  private acked = 0;
  private stopping = false;
  private connected = false;
  /** The connection whose end has been handled (several events report one end). */
  private endedSession?: http2.ClientHttp2Session;
  private attempts = 0;
  /** SotW: the version last accepted per type, sent again on reconnect as Envoy does. */
  private readonly versions = new Map<string, string>();
  /** Delta: the resources held per type (name → version), sent again on reconnect. */
  private readonly held = new Map<string, Map<string, string>>();
  private armedFor?: TypeUrl;

  constructor(
    readonly index: number,
    private readonly port: number,
    private readonly protocol: Protocol,
    private readonly node: Node,
    private readonly subscriptions: GroupSubscriptions,
    private readonly generator: LoadGenerator,
  ) {
    this.connect();
  }

  get open(): boolean {
    return this.connected;
  }

  close(): void {
    this.stopping = true;
    this.stream.close();
    this.session.destroy();
  }

  arm(typeUrl: TypeUrl): void {
    this.armedFor = typeUrl;
  }

  private connect(): void {
    this.connected = false;
    this.pending = Buffer.alloc(0);
    const session = http2.connect(`http://127.0.0.1:${this.port}`);
    this.session = session;
    const attemptedAt = wallClock();
    let connectedAt = 0;
    session.on('connect', () => {
      this.connected = true;
      connectedAt = wallClock();
    });
    const ended = (reason: string) =>
      this.ended(session, Math.max(attemptedAt, connectedAt), reason);
    session.on('error', (error: Error) => ended(`connection error: ${error.message}`));
    const method =
      this.protocol === 'sotw' ? 'StreamAggregatedResources' : 'DeltaAggregatedResources';
    this.stream = session.request({
      ':method': 'POST',
      ':path': `${ADS}/${method}`,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    this.stream.on('data', (chunk: Buffer) => this.received(chunk));
    this.stream.on('trailers', (trailers: http2.IncomingHttpHeaders) =>
      ended(`stream ended: grpc-status ${String(trailers['grpc-status'])}`),
    );
    this.stream.on('error', (error: Error) => ended(`stream error: ${error.message}`));
    this.stream.on('close', () => ended('stream closed'));
    this.subscribe();
  }

  /** Ends this connection once, whatever reported it first, and reconnects or fails. */
  /** `since`: when this connection was last attempted or established. */
  private ended(session: http2.ClientHttp2Session, since: number, reason: string): void {
    if (this.stopping || session !== this.session || this.endedSession === session) return;
    this.endedSession = session;
    const wasConnected = this.connected;
    this.connected = false;
    this.session.destroy();
    if (!this.generator.reconnects) {
      this.generator.fail(`${this.node.id}: ${reason}`);
      return;
    }
    this.generator.ended(wasConnected, since, `${this.node.id}: ${reason}`);
    this.attempts = wasConnected ? 1 : this.attempts + 1;
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (this.attempts - 1));
    setTimeout(() => {
      if (this.stopping) return;
      this.generator.reconnecting();
      this.connect();
    }, Math.random() * ceiling).unref();
  }

  private subscribe(): void {
    TYPES.forEach((typeUrl, index) => {
      const node = index === 0 ? this.node : undefined;
      const names = this.names(typeUrl);
      if (this.protocol === 'sotw') {
        const versionInfo = this.versions.get(typeUrl) ?? '';
        this.send(
          DiscoveryRequest.encode({ node, typeUrl, versionInfo, resourceNames: names }).finish(),
        );
      } else {
        this.send(
          DeltaDiscoveryRequest.encode({
            node,
            typeUrl,
            resourceNamesSubscribe: names.length === 0 ? ['*'] : names,
            initialResourceVersions: Object.fromEntries(this.held.get(typeUrl) ?? []),
          }).finish(),
        );
      }
    });
  }

  /** Names by type: clusters and listeners by wildcard, endpoints and routes by name. */
  private names(typeUrl: TypeUrl): string[] {
    if (typeUrl === CLUSTER_LOAD_ASSIGNMENT) return this.subscriptions.endpoints;
    if (typeUrl === ROUTE_CONFIGURATION) return this.subscriptions.routes;
    return [];
  }

  private received(chunk: Buffer): void {
    let buffer = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    while (buffer.length >= 5) {
      const length = buffer.readUInt32BE(1);
      if (buffer.length < 5 + length) break;
      const message = buffer.subarray(5, 5 + length);
      const head = readHead(message, this.protocol === 'delta');
      if (this.index === 0) this.generator.capture(head.typeUrl, message);
      this.respond(head);
      buffer = buffer.subarray(5 + length);
    }
    this.pending = buffer;
  }

  private respond(head: ResponseHead & Partial<DeltaContents>): void {
    if (!isServedType(head.typeUrl)) {
      this.generator.fail(`${this.node.id}: response of unknown type ${head.typeUrl}`);
      return;
    }
    this.generator.responded(head.typeUrl);
    if (this.protocol === 'sotw') {
      this.send(
        DiscoveryRequest.encode({
          typeUrl: head.typeUrl,
          versionInfo: head.version,
          responseNonce: head.nonce,
          resourceNames: this.names(head.typeUrl),
        }).finish(),
      );
      this.versions.set(head.typeUrl, head.version);
    } else {
      this.send(
        DeltaDiscoveryRequest.encode({ typeUrl: head.typeUrl, responseNonce: head.nonce }).finish(),
      );
      let held = this.held.get(head.typeUrl);
      if (!held) this.held.set(head.typeUrl, (held = new Map<string, string>()));
      for (const [name, version] of head.resources ?? []) held.set(name, version);
      for (const name of head.removed ?? []) held.delete(name);
    }
    if (this.armedFor === head.typeUrl) {
      this.armedFor = undefined;
      this.generator.ackTimed(this.index, wallClock());
    }
    if (this.acked !== ALL_TYPES_ACKED) {
      this.acked |= 1 << TYPES.indexOf(head.typeUrl);
      if (this.acked === ALL_TYPES_ACKED) this.generator.synced();
    }
  }

  private send(message: Uint8Array): void {
    this.stream.write(frame(message));
  }
}

class LoadGenerator {
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

  responded(typeUrl: TypeUrl): void {
    const type = TYPE_SHORT_NAMES[typeUrl];
    this.responses.set(type, (this.responses.get(type) ?? 0) + 1);
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
    for (const proxy of this.proxies) proxy.arm(typeUrl);
  }

  ackTimed(index: number, time: number): void {
    this.ackTimes[index] = time;
    if (++this.ackCount === this.proxies.length) send({ kind: 'acked', times: this.ackTimes });
  }

  capture(typeUrl: string, message: Buffer): void {
    this.captures.set(typeUrl, Buffer.from(message));
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
  ended(wasConnected: boolean, since: number, reason: string): void {
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
        new SimulatedProxy(index, port, protocol, proxyNode(index, group), groups[group]!, this),
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
