import * as http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import {
  DeltaDiscoveryRequest,
  DiscoveryRequest,
} from '../../envoy-api/generated/envoy/service/discovery/v3/discovery';
import type { Node } from '../../envoy-api/generated/envoy/config/core/v3/base';
import { StreamRefusal, type StreamGuard } from './stream-guard';
import { StreamRefused, type ProxyStream, type XdsEngine } from './xds-engine';
import { destroyConnections, goAwayConnectionOf } from './connection-goaway';

const ADS = '/envoy.service.discovery.v3.AggregatedDiscoveryService';

/** What one client may cost before it is served: limits applied to every connection and request. */
export interface AdsLimits {
  /** Concurrent streams on one HTTP/2 connection (Envoy and gRPC open one ADS stream each). */
  maxStreamsPerConnection: number;
  /** Largest request message, in bytes; larger ones end the stream with RESOURCE_EXHAUSTED. */
  maxRequestBytes: number;
  /** Resource names one request may carry (subscribe, unsubscribe and initial versions together). */
  maxResourceNamesPerRequest: number;
}

export const DEFAULT_ADS_LIMITS: AdsLimits = {
  maxStreamsPerConnection: 100,
  maxRequestBytes: 4 * 1024 * 1024,
  maxResourceNamesPerRequest: 10_000,
};

/** Bytes that do not decode as the method's request: answered INVALID_ARGUMENT, not INTERNAL. */
class MalformedRequest {
  constructor(readonly reason: string) {}
}

/** Decodes a request; never throws (grpc-js would answer INTERNAL for a client's bad bytes). */
function decodeOrMalformed<T>(
  decode: (bytes: Buffer) => T,
): (bytes: Buffer) => T | MalformedRequest {
  return (bytes) => {
    try {
      return decode(bytes);
    } catch (error) {
      return new MalformedRequest(error instanceof Error ? error.message : String(error));
    }
  };
}

/**
 * The ADS service with pass-through response serialisers: the engine hands grpc-js
 * finished DiscoveryResponse bytes, assembled from resources encoded once for all streams.
 */
const ADS_SERVICE: grpc.ServiceDefinition = {
  StreamAggregatedResources: {
    path: `${ADS}/StreamAggregatedResources`,
    requestStream: true,
    responseStream: true,
    requestSerialize: (request: DiscoveryRequest) =>
      Buffer.from(DiscoveryRequest.encode(request).finish()),
    requestDeserialize: decodeOrMalformed((bytes) => DiscoveryRequest.decode(bytes)),
    responseSerialize: (bytes: Buffer) => bytes,
    responseDeserialize: (bytes: Buffer) => bytes,
  },
  DeltaAggregatedResources: {
    path: `${ADS}/DeltaAggregatedResources`,
    requestStream: true,
    responseStream: true,
    requestSerialize: (request: DeltaDiscoveryRequest) =>
      Buffer.from(DeltaDiscoveryRequest.encode(request).finish()),
    requestDeserialize: decodeOrMalformed((bytes) => DeltaDiscoveryRequest.decode(bytes)),
    responseSerialize: (bytes: Buffer) => bytes,
    responseDeserialize: (bytes: Buffer) => bytes,
  },
};

/**
 * grpc-js sends a status and leaves the HTTP/2 stream half-open until the client closes its side,
 * and grpc-js clients never do once they have the status: every refused stream would hold one of
 * the connection's `maxStreamsPerConnection` slots for good. After the status is out, the stream
 * is reset with NO_ERROR (RFC 9113 §8.1: the response is complete, stop sending), as gRPC's C
 * core does. grpc-js does not expose its HTTP/2 stream, hence the reach inside.
 */
function resetAfterStatus(call: object): void {
  const stream = (call as { call?: { nextCall?: { stream?: http2.ServerHttp2Stream } } }).call
    ?.nextCall?.stream;
  if (typeof stream?.close !== 'function' || stream.closed) return;
  const reset = () => setImmediate(() => stream.close(http2.constants.NGHTTP2_NO_ERROR));
  if (stream.headersSent && !stream.sentTrailers) stream.once('wantTrailers', reset);
  else reset();
}

/**
 * The longest status message sent. It travels as the `grpc-message` header, percent-encoded (up
 * to 12 bytes a character): a message echoing a client's value of any length would be a header
 * block the client cannot decode (HPACK decoders refuse fields over 64 KiB, Envoy headers over
 * 60 KiB), and the client would drop the whole connection, not just the stream.
 */
export const MAX_STATUS_DETAILS = 1024;

/** `details` cut to MAX_STATUS_DETAILS characters, ending with `…` when cut. */
export function boundedDetails(details: string): string {
  return details.length <= MAX_STATUS_DETAILS
    ? details
    : `${details.slice(0, MAX_STATUS_DETAILS - 1)}…`;
}

type AdsCall<Request> = grpc.ServerDuplexStream<Request | MalformedRequest, Buffer>;

/** How many resource names a request carries, in either protocol. */
function resourceNameCount(request: DiscoveryRequest | DeltaDiscoveryRequest): number {
  if ('resourceNamesSubscribe' in request) {
    return (
      (request.resourceNamesSubscribe?.length ?? 0) +
      (request.resourceNamesUnsubscribe?.length ?? 0) +
      Object.keys(request.initialResourceVersions ?? {}).length
    );
  }
  return (request as DiscoveryRequest).resourceNames?.length ?? 0;
}

export interface AdsServerOptions {
  /** What one client may cost; defaults to DEFAULT_ADS_LIMITS. */
  limits?: AdsLimits;
  /** Authentication and authorization of streams; absent: every stream is served (dev mode). */
  guard?: StreamGuard;
  /**
   * End each stream after this long (±10 % jitter, as gRPC's max_connection_age), with GOAWAY,
   * so proxies spread over the replicas again after a scale-out. Unset: streams live on.
   */
  maxStreamAgeMs?: number;
}

/** What a proxy reads when its stream is ended to move it: retry, on a new connection. */
const MOVE_STATUS = grpc.status.UNAVAILABLE;
const DRAINING = 'the xDS server is draining; reconnect to another replica';

/** The gRPC server of the xDS role: Aggregated Discovery Service, state of the world and delta. */
export class AdsServer {
  private readonly server: grpc.Server;
  private readonly limits: AdsLimits;
  private readonly guard?: StreamGuard;

  /** The address bound, as grpc-js names the port for unbind. */
  private address?: string;
  /** Each open stream's way to end it so that its proxy reconnects elsewhere. */
  private readonly streams = new Set<(reason: string) => void>();
  private draining?: Promise<void>;

  constructor(
    private readonly engine: XdsEngine,
    private readonly logger: Logger,
    private readonly options: AdsServerOptions = {},
  ) {
    this.limits = options.limits ?? DEFAULT_ADS_LIMITS;
    this.guard = options.guard;
    const limits = this.limits;
    this.server = new grpc.Server({
      // Thousands of long-lived streams per process: lift grpc-js' session memory cap, whose
      // limit makes Node's HTTP/2 refuse new streams.
      'grpc-node.max_session_memory': Number.MAX_SAFE_INTEGER,
      // One proxy, one connection, one stream: a client multiplexing more is capped per
      // connection (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS; further streams wait their turn).
      'grpc.max_concurrent_streams': limits.maxStreamsPerConnection,
      'grpc.max_receive_message_length': limits.maxRequestBytes,
      // With channelz on, a stream ended with a status before any response never delivers that
      // status to a grpc-js client (test/faults-xds); Trellis does not serve channelz.
      'grpc.enable_channelz': 0,
    });
    this.server.addService(ADS_SERVICE, {
      StreamAggregatedResources: (call: AdsCall<DiscoveryRequest>) => this.serve(call, 'sotw'),
      DeltaAggregatedResources: (call: AdsCall<DeltaDiscoveryRequest>) => this.serve(call, 'delta'),
    });
  }

  /** Listens on `host:port` (port 0: any free port); resolves with the port. */
  listen(
    host: string,
    port: number,
    credentials = grpc.ServerCredentials.createInsecure(),
  ): Promise<number> {
    return new Promise((resolve, reject) =>
      this.server.bindAsync(`${host}:${port}`, credentials, (error, bound) => {
        if (error) return reject(error);
        this.address = `${host}:${bound}`;
        resolve(bound);
      }),
    );
  }

  /**
   * Drains this replica: stops accepting connections, sends every connection GOAWAY (open streams
   * keep working), then ends the streams a few at a time, evenly over `windowMs`, with UNAVAILABLE
   * so each proxy reconnects — on a new connection, to another replica — sending the versions it
   * has. Resolves when every stream has ended.
   */
  drain(windowMs: number): Promise<void> {
    this.draining ??= this.drainStreams(windowMs);
    return this.draining;
  }

  private async drainStreams(windowMs: number): Promise<void> {
    if (this.address) this.server.unbind(this.address);
    const streams = [...this.streams];
    this.logger.info(
      { streams: streams.length, windowMs },
      'xDS draining: no new connections; ending streams gradually',
    );
    const started = Date.now();
    // Stream i ends at i/n of the window: the first at once, none after the window.
    for (let i = 0; i < streams.length; i++) {
      const wait = started + (windowMs * i) / streams.length - Date.now();
      if (wait > 5) await new Promise((resolve) => setTimeout(resolve, wait));
      streams[i]!(DRAINING);
    }
    this.logger.info({ streams: streams.length, ms: Date.now() - started }, 'xDS drained');
  }

  /**
   * Stops accepting streams and closes open ones after `graceMs`; 0 closes every connection
   * at once (a graceful close leaves gRPC clients' idle connections open until they drop them).
   */
  close(graceMs = 1000): Promise<void> {
    const force = (): void => {
      destroyConnections(this.server);
      this.server.forceShutdown();
    };
    if (graceMs <= 0) {
      force();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        force();
        resolve();
      }, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private serve<Request extends DiscoveryRequest | DeltaDiscoveryRequest>(
    call: AdsCall<Request>,
    kind: 'sotw' | 'delta',
  ): void {
    let stream: ProxyStream | undefined;
    let closed = false;
    /** With a guard: the node the stream was admitted for, and how to stop watching it. */
    let admitted: { node: Node; release: () => void } | undefined;
    // Requests are handled one at a time, in order, also while the first one loads config.
    let queue = Promise.resolve();
    let ageTimer: NodeJS.Timeout | undefined;
    const close = () => {
      if (closed) return;
      closed = true;
      admitted?.release();
      clearTimeout(ageTimer);
      this.streams.delete(move);
      if (stream) this.engine.close(stream);
    };
    // grpc-js ends a server stream with a status when it emits 'error'; destroy() would end it
    // without one, and the proxy would wait on a dead stream.
    const fail = (code: grpc.status, details: string) => {
      close();
      call.emit('error', {
        code,
        details: boundedDetails(details),
      } satisfies Partial<grpc.StatusObject>);
      resetAfterStatus(call);
    };
    // GOAWAY first, so the proxy's retry opens a new connection rather than reusing this one.
    // A draining server has sent every connection GOAWAY already (unbind closes them all).
    const move = (reason: string) => {
      if (closed) return;
      if (!this.draining && !goAwayConnectionOf(this.server, call)) {
        this.logger.warn({ node: stream?.nodeId }, 'no connection to send GOAWAY on');
      }
      fail(MOVE_STATUS, reason);
    };
    this.streams.add(move);
    if (this.draining) {
      move(DRAINING);
      return;
    }
    if (this.options.maxStreamAgeMs) {
      const age = this.options.maxStreamAgeMs * (0.9 + 0.2 * Math.random());
      ageTimer = setTimeout(() => move('maximum stream age reached; reconnect'), age).unref();
    }
    call.on('data', (request: Request | MalformedRequest) => {
      queue = queue
        .then(async () => {
          if (closed) return;
          const problem =
            request instanceof MalformedRequest
              ? `the request is not a valid ${kind === 'sotw' ? 'DiscoveryRequest' : 'DeltaDiscoveryRequest'}: ${request.reason}`
              : resourceNameCount(request) > this.limits.maxResourceNamesPerRequest
                ? `a request may name at most ${this.limits.maxResourceNamesPerRequest} resources`
                : undefined;
          if (problem !== undefined || request instanceof MalformedRequest) {
            const message = problem ?? 'malformed request';
            this.refuse(stream, 'request', message);
            fail(grpc.status.INVALID_ARGUMENT, message);
            return;
          }
          if (!stream) {
            if (!request.node) {
              fail(grpc.status.INVALID_ARGUMENT, 'the first request of a stream must carry node');
              return;
            }
            // The node's shape first: a guard's refusal may quote it, in the status and the log.
            this.engine.admit(request.node);
            if (this.guard) {
              const node = request.node;
              const release = await this.guard.admit(call, node, (refusal) =>
                fail(refusal.code, refusal.message),
              );
              admitted = { node, release };
              if (closed) {
                release();
                return;
              }
            }
            stream = await this.engine.open(request.node, kind, (bytes) => {
              if (!closed) call.write(bytes);
            });
            if (closed) {
              this.engine.close(stream);
              return;
            }
          }
          if (admitted && request.node && !sameProxy(admitted.node, request.node)) {
            // The identity checked at the start holds for the stream's life (docs/security.md).
            fail(
              grpc.status.PERMISSION_DENIED,
              `this stream was admitted for node ${admitted.node.id}; it cannot switch to ${request.node.id}`,
            );
            return;
          }
          stream.request(request);
        })
        .catch((error: unknown) => {
          if (error instanceof StreamRefusal) {
            fail(error.code, error.message);
            return;
          }
          if (error instanceof StreamRefused) {
            this.refuse(stream, 'node', error.message);
            fail(grpc.status.INVALID_ARGUMENT, error.message);
            return;
          }
          this.logger.error({ err: error, node: stream?.nodeId }, 'xDS request failed');
          fail(grpc.status.INTERNAL, 'internal error');
        });
    });
    call.on('end', () => {
      close();
      call.end();
    });
    call.on('error', close);
    call.on('cancelled', close);
    call.on('close', close);
  }

  /** Logs a refused stream or request (node id shortened: it may be what broke the limit). */
  private refuse(
    stream: ProxyStream | undefined,
    reason: 'node' | 'request',
    message: string,
  ): void {
    if (reason === 'request') this.engine.metrics.refusedStreams.inc({ reason });
    this.logger.warn(
      { node: stream?.nodeId.slice(0, 300), reason: message },
      'xDS stream refused: INVALID_ARGUMENT',
    );
  }
}

function sameProxy(a: Node, b: Node): boolean {
  return a.id === b.id && a.cluster === b.cluster;
}
