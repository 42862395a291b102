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
  isServedType,
  type TypeUrl,
} from '../../libs/xds-types/src/resource-types';
import type { GroupSubscriptions } from './bench-mesh';
import { wallClock } from './wall-clock';

// A simulated Envoy: its own HTTP/2 connection with one ADS stream, subscribed to the four types
// the way Envoy ends up subscribed, ACKing every response. It is deliberately lean: plain
// node:http2 and gRPC framing instead of a grpc-js channel per proxy, and responses are read only
// as far as the ACK needs (type, version, nonce; delta: resource names and versions).

const ADS = '/envoy.service.discovery.v3.AggregatedDiscoveryService';

export type Protocol = 'sotw' | 'delta';

/** How one connection ended, as the proxy saw it. */
export interface StreamEnd {
  /** The stream was open (the connection had been established). */
  wasConnected: boolean;
  /** When this connection was last attempted or established (wall clock, ms). */
  since: number;
  reason: string;
  /** The server sent GOAWAY on the connection before the stream ended. */
  goAway: boolean;
  /** The stream's grpc-status, when it ended with one. */
  grpcStatus?: number;
}

/** What a simulated proxy reports to whoever runs it. */
export interface ProxyHost {
  /** Reconnect a stream that ends, as Envoy does; otherwise an ending stream is a failure. */
  readonly reconnects: boolean;
  fail(message: string): void;
  ended(proxy: SimulatedProxy, end: StreamEnd): void;
  reconnecting(proxy: SimulatedProxy): void;
  /** A response arrived (before it is ACKed). */
  responded(proxy: SimulatedProxy, typeUrl: TypeUrl, message: Buffer): void;
  /** The proxy has ACKed a response of each type for the first time. */
  synced(proxy: SimulatedProxy): void;
  /** A response carried a version the proxy already had (SotW: of the type; delta: of a resource). */
  resent(proxy: SimulatedProxy, typeUrl: TypeUrl, version: string): void;
}

/** The four types, in the order Envoy asks for them. */
const TYPES: readonly TypeUrl[] = [CLUSTER, CLUSTER_LOAD_ASSIGNMENT, LISTENER, ROUTE_CONFIGURATION];
const ALL_TYPES_ACKED = (1 << TYPES.length) - 1;
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 30_000;
const GRPC_UNAVAILABLE = 14;

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

/** Where a proxy connects: a fixed port, or one chosen per connection (a load balancer's pick). */
export type ProxyTarget = number | (() => number);

/** One simulated Envoy; it connects as soon as it is made. */
export class SimulatedProxy {
  private session!: http2.ClientHttp2Session;
  private stream!: http2.ClientHttp2Stream;
  private pending: Buffer = Buffer.alloc(0);
  private acked = 0;
  private stopping = false;
  private connected = false;
  private goAway = false;
  /** The connection whose end has been handled (several events report one end). */
  private endedSession?: http2.ClientHttp2Session;
  private attempts = 0;
  /** The port of the current connection. */
  port = 0;
  /** SotW: the version last accepted per type, sent again on reconnect as Envoy does. */
  private readonly versions = new Map<string, string>();
  /** Delta: the resources held per type (name → version), sent again on reconnect. */
  private readonly held = new Map<string, Map<string, string>>();
  private armedFor?: TypeUrl;
  private onArmedAck?: (time: number) => void;

  constructor(
    readonly index: number,
    private readonly target: ProxyTarget,
    private readonly protocol: Protocol,
    readonly node: Node,
    private readonly subscriptions: GroupSubscriptions,
    private readonly host: ProxyHost,
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

  /** Calls `onAck` with the wall-clock time of this proxy's next ACK of a `typeUrl` response. */
  arm(typeUrl: TypeUrl, onAck: (time: number) => void): void {
    this.armedFor = typeUrl;
    this.onArmedAck = onAck;
  }

  private connect(): void {
    this.connected = false;
    this.goAway = false;
    this.pending = Buffer.alloc(0);
    this.port = typeof this.target === 'number' ? this.target : this.target();
    const session = http2.connect(`http://127.0.0.1:${this.port}`);
    this.session = session;
    const attemptedAt = wallClock();
    let connectedAt = 0;
    session.on('connect', () => {
      this.connected = true;
      connectedAt = wallClock();
    });
    session.on('goaway', () => {
      if (session === this.session) this.goAway = true;
    });
    const ended = (reason: string, grpcStatus?: number) =>
      this.ended(session, Math.max(attemptedAt, connectedAt), reason, grpcStatus);
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
    const status = (headers: http2.IncomingHttpHeaders) => {
      if (headers['grpc-status'] === undefined) return;
      const message = String(headers['grpc-message'] ?? '');
      ended(
        `stream ended: grpc-status ${String(headers['grpc-status'])} ${message}`,
        Number(headers['grpc-status']),
      );
    };
    // A stream that ends before any response carries its status in its headers (trailers-only).
    this.stream.on('response', status);
    this.stream.on('trailers', status);
    this.stream.on('error', (error: Error) => ended(`stream error: ${error.message}`));
    this.stream.on('close', () => ended('stream closed'));
    this.subscribe();
  }

  /** Ends this connection once, whatever reported it first, and reconnects or fails. */
  private ended(
    session: http2.ClientHttp2Session,
    since: number,
    reason: string,
    grpcStatus?: number,
  ): void {
    if (this.stopping || session !== this.session || this.endedSession === session) return;
    this.endedSession = session;
    const wasConnected = this.connected;
    this.connected = false;
    this.session.destroy();
    if (!this.host.reconnects) {
      this.host.fail(`${this.node.id}: ${reason}`);
      return;
    }
    this.host.ended(this, {
      wasConnected,
      since,
      reason: `${this.node.id}: ${reason}`,
      goAway: this.goAway,
      grpcStatus,
    });
    // A server moving its proxies (GOAWAY, then UNAVAILABLE) is not a failure: Envoy retries at
    // its base backoff; anything else backs off further with every failed attempt.
    const moved = this.goAway && grpcStatus === GRPC_UNAVAILABLE;
    this.attempts = wasConnected || moved ? 1 : this.attempts + 1;
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (this.attempts - 1));
    setTimeout(() => {
      if (this.stopping) return;
      this.host.reconnecting(this);
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
      this.respond(buffer.subarray(5, 5 + length));
      buffer = buffer.subarray(5 + length);
    }
    this.pending = buffer;
  }

  private respond(message: Buffer): void {
    const head = readHead(message, this.protocol === 'delta');
    const typeUrl = head.typeUrl;
    if (!isServedType(typeUrl)) {
      this.host.fail(`${this.node.id}: response of unknown type ${typeUrl}`);
      return;
    }
    this.host.responded(this, typeUrl, message);
    if (this.protocol === 'sotw') {
      if (this.versions.get(typeUrl) === head.version)
        this.host.resent(this, typeUrl, head.version);
      this.send(
        DiscoveryRequest.encode({
          typeUrl,
          versionInfo: head.version,
          responseNonce: head.nonce,
          resourceNames: this.names(typeUrl),
        }).finish(),
      );
      this.versions.set(typeUrl, head.version);
    } else {
      this.send(DeltaDiscoveryRequest.encode({ typeUrl, responseNonce: head.nonce }).finish());
      let held = this.held.get(typeUrl);
      if (!held) this.held.set(typeUrl, (held = new Map<string, string>()));
      for (const [name, version] of head.resources ?? []) {
        if (held.get(name) === version) this.host.resent(this, typeUrl, version);
        held.set(name, version);
      }
      for (const name of head.removed ?? []) held.delete(name);
    }
    if (this.armedFor === typeUrl) {
      this.armedFor = undefined;
      this.onArmedAck?.(wallClock());
    }
    if (this.acked !== ALL_TYPES_ACKED) {
      this.acked |= 1 << TYPES.indexOf(typeUrl);
      if (this.acked === ALL_TYPES_ACKED) this.host.synced(this);
    }
  }

  private send(message: Uint8Array): void {
    this.stream.write(frame(message));
  }
}
