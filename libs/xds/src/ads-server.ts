import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import {
  DeltaDiscoveryRequest,
  DiscoveryRequest,
} from '../../envoy-api/generated/envoy/service/discovery/v3/discovery';
import type { Node } from '../../envoy-api/generated/envoy/config/core/v3/base';
import { StreamRefusal, type StreamGuard } from './stream-guard';
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

/** The gRPC server of the xDS role: Aggregated Discovery Service, state of the world and delta. */
export class AdsServer {
  private readonly server = new grpc.Server({
    // Thousands of long-lived streams per process: lift grpc-js' session memory cap, whose
    // limit makes Node's HTTP/2 refuse new streams.
    'grpc-node.max_session_memory': Number.MAX_SAFE_INTEGER,
    'grpc.max_concurrent_streams': 1_000_000,
  });

  constructor(
    private readonly engine: XdsEngine,
    private readonly logger: Logger,
    /** Authentication and authorization of streams; absent: every stream is served (dev mode). */
    private readonly guard?: StreamGuard,
  ) {
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
      this.server.bindAsync(`${host}:${port}`, credentials, (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
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
    /** With a guard: the node the stream was admitted for, and how to stop watching it. */
    let admitted: { node: Node; release: () => void } | undefined;
    // Requests are handled one at a time, in order, also while the first one loads config.
    let queue = Promise.resolve();
    const close = () => {
      if (closed) return;
      closed = true;
      admitted?.release();
      if (stream) this.engine.close(stream);
    };
    // grpc-js ends a server stream with a status when it emits 'error'; destroy() would end it
    // without one, and the proxy would wait on a dead stream.
    const fail = (code: grpc.status, details: string) => {
      close();
      call.emit('error', { code, details } satisfies Partial<grpc.StatusObject>);
    };
    call.on('data', (request: Request) => {
      queue = queue
        .then(async () => {
          if (closed) return;
          if (!stream) {
            if (!request.node) {
              fail(grpc.status.INVALID_ARGUMENT, 'the first request of a stream must carry node');
              return;
            }
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

function sameProxy(a: Node, b: Node): boolean {
  return a.id === b.id && a.cluster === b.cluster;
}
