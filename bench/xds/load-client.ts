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
} from '../../libs/xds/src/resource-types';
import { proxyNode, type GroupSubscriptions } from './bench-mesh';

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
    }
  | { kind: 'count' }
  | { kind: 'stop' };

/** Load generator → parent. */
export type LoadEvent =
  | { kind: 'synced'; streams: number }
  | { kind: 'progress'; opened: number; synced: number }
  | { kind: 'counts'; responses: Record<string, number> }
  | { kind: 'failed'; message: string };

/** The four types, in the order Envoy asks for them. */
const TYPES: readonly TypeUrl[] = [CLUSTER, CLUSTER_LOAD_ASSIGNMENT, LISTENER, ROUTE_CONFIGURATION];
const ALL_TYPES_ACKED = (1 << TYPES.length) - 1;

/** The fields of a (Delta)DiscoveryResponse an ACK needs; both messages number them alike. */
interface ResponseHead {
  version: string;
  typeUrl: string;
  nonce: string;
}

function readHead(bytes: Uint8Array): ResponseHead {
  const reader = new BinaryReader(bytes);
  const head: ResponseHead = { version: '', typeUrl: '', nonce: '' };
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1) head.version = reader.string();
    else if (field === 4) head.typeUrl = reader.string();
    else if (field === 5) head.nonce = reader.string();
    else reader.skip(wireType);
  }
  return head;
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
  private readonly session: http2.ClientHttp2Session;
  private readonly stream: http2.ClientHttp2Stream;
  private pending: Buffer = Buffer.alloc(0);
  private acked = 0;
  private stopping = false;

  constructor(
    port: number,
    private readonly protocol: Protocol,
    private readonly node: Node,
    private readonly subscriptions: GroupSubscriptions,
    private readonly generator: LoadGenerator,
  ) {
    this.session = http2.connect(`http://127.0.0.1:${port}`);
    this.session.on('error', (error: Error) => this.fail(`connection error: ${error.message}`));
    const method = protocol === 'sotw' ? 'StreamAggregatedResources' : 'DeltaAggregatedResources';
    this.stream = this.session.request({
      ':method': 'POST',
      ':path': `${ADS}/${method}`,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    this.stream.on('data', (chunk: Buffer) => this.received(chunk));
    this.stream.on('trailers', (trailers: http2.IncomingHttpHeaders) =>
      this.fail(`stream ended: grpc-status ${String(trailers['grpc-status'])}`),
    );
    this.stream.on('error', (error: Error) => this.fail(`stream error: ${error.message}`));
    this.stream.on('close', () => this.fail('stream closed'));
    this.subscribe();
  }

  close(): void {
    this.stopping = true;
    this.stream.close();
    this.session.destroy();
  }

  private subscribe(): void {
    TYPES.forEach((typeUrl, index) => {
      const node = index === 0 ? this.node : undefined;
      const names = this.names(typeUrl);
      if (this.protocol === 'sotw') {
        this.send(DiscoveryRequest.encode({ node, typeUrl, resourceNames: names }).finish());
      } else {
        this.send(
          DeltaDiscoveryRequest.encode({
            node,
            typeUrl,
            resourceNamesSubscribe: names.length === 0 ? ['*'] : names,
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
      this.respond(readHead(buffer.subarray(5, 5 + length)));
      buffer = buffer.subarray(5 + length);
    }
    this.pending = buffer;
  }

  private respond(head: ResponseHead): void {
    if (!isServedType(head.typeUrl)) {
      this.fail(`response of unknown type ${head.typeUrl}`);
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
    } else {
      this.send(
        DeltaDiscoveryRequest.encode({ typeUrl: head.typeUrl, responseNonce: head.nonce }).finish(),
      );
    }
    if (this.acked !== ALL_TYPES_ACKED) {
      this.acked |= 1 << TYPES.indexOf(head.typeUrl);
      if (this.acked === ALL_TYPES_ACKED) this.generator.synced();
    }
  }

  private send(message: Uint8Array): void {
    this.stream.write(frame(message));
  }

  private fail(message: string): void {
    if (!this.stopping) this.generator.fail(`${this.node.id}: ${message}`);
  }
}

class LoadGenerator {
  private readonly proxies: SimulatedProxy[] = [];
  private readonly responses = new Map<string, number>();
  private opened = 0;
  private syncedCount = 0;
  private failed = false;
  private progressTimer?: NodeJS.Timeout;

  constructor(private readonly command: Extract<LoadCommand, { kind: 'start' }>) {}

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
        new SimulatedProxy(port, protocol, proxyNode(index, group), groups[group]!, this),
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
    case 'stop':
      generator?.stop();
      process.disconnect();
      break;
  }
});
// The parent went away (finished, failed or killed): nothing left to measure.
process.on('disconnect', () => process.exit(0));
