import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import {
  DeltaDiscoveryRequest,
  DiscoveryRequest,
} from '../../envoy-api/generated/envoy/service/discovery/v3/discovery';
import { goAwayConnectionOf } from './connection-goaway';
import type { ProxyStream, XdsEngine } from './xds-engine';

const ADS = '/envoy.service.discovery.v3.AggregatedDiscoveryService';

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
    requestDeserialize: (bytes: Buffer) => DiscoveryRequest.decode(bytes),
    responseSerialize: (bytes: Buffer) => bytes,
    responseDeserialize: (bytes: Buffer) => bytes,
  },
  DeltaAggregatedResources: {
    path: `${ADS}/DeltaAggregatedResources`,
    requestStream: true,
    responseStream: true,
    requestSerialize: (request: DeltaDiscoveryRequest) =>
      Buffer.from(DeltaDiscoveryRequest.encode(request).finish()),
    requestDeserialize: (bytes: Buffer) => DeltaDiscoveryRequest.decode(bytes),
    responseSerialize: (bytes: Buffer) => bytes,
    responseDeserialize: (bytes: Buffer) => bytes,
  },
};

type AdsCall<Request> = grpc.ServerDuplexStream<Request, Buffer>;

export interface AdsServerOptions {
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
  private readonly server = new grpc.Server({
    // Thousands of long-lived streams per process: lift grpc-js' session memory cap, whose
    // limit makes Node's HTTP/2 refuse new streams.
    'grpc-node.max_session_memory': Number.MAX_SAFE_INTEGER,
    'grpc.max_concurrent_streams': 1_000_000,
  });

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
    this.server.addService(ADS_SERVICE, {
      StreamAggregatedResources: (call: AdsCall<DiscoveryRequest>) => this.serve(call, 'sotw'),
      DeltaAggregatedResources: (call: AdsCall<DeltaDiscoveryRequest>) => this.serve(call, 'delta'),
    });
  }

  /** Listens on `host:port` (port 0: any free port); resolves with the port. */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) =>
      this.server.bindAsync(
        `${host}:${port}`,
        grpc.ServerCredentials.createInsecure(),
        (error, bound) => {
          if (error) return reject(error);
          this.address = `${host}:${bound}`;
          resolve(bound);
        },
      ),
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
    if (graceMs <= 0) {
      this.server.forceShutdown();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const force = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(force);
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
    // Requests are handled one at a time, in order, also while the first one loads config.
    let queue = Promise.resolve();
    let ageTimer: NodeJS.Timeout | undefined;
    const close = () => {
      if (closed) return;
      closed = true;
      clearTimeout(ageTimer);
      this.streams.delete(move);
      if (stream) this.engine.close(stream);
    };
    // grpc-js ends a server stream with a status when it emits 'error'; destroy() would end it
    // without one, and the proxy would wait on a dead stream.
    const fail = (code: grpc.status, details: string) => {
      close();
      call.emit('error', { code, details } satisfies Partial<grpc.StatusObject>);
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
    call.on('data', (request: Request) => {
      queue = queue
        .then(async () => {
          if (closed) return;
          if (!stream) {
            if (!request.node) {
              fail(grpc.status.INVALID_ARGUMENT, 'the first request of a stream must carry node');
              return;
            }
            stream = await this.engine.open(request.node, kind, (bytes) => {
              if (!closed) call.write(bytes);
            });
            if (closed) {
              this.engine.close(stream);
              return;
            }
          }
          stream.request(request);
        })
        .catch((error: unknown) => {
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
}
