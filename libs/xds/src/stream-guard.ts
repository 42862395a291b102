import type * as grpc from '@grpc/grpc-js';
import type { Node } from '../../envoy-api/generated/envoy/config/core/v3/base';

/** Why a stream is refused or ended: a gRPC status and the details the proxy sees. */
export class StreamRefusal extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

/** The caller of one ADS stream, before its first request is served. */
export type AdsCall = grpc.ServerDuplexStream<unknown, Buffer>;

/**
 * Decides who may receive which proxy's configuration. The ADS server asks before a stream's
 * first request reaches the engine; a refusal ends the stream with its status and nothing
 * else. `end` lets the guard close an admitted stream later (a revoked key); the function
 * admit resolves with stops watching when the stream closes.
 */
export interface StreamGuard {
  admit(call: AdsCall, node: Node, end: (refusal: StreamRefusal) => void): Promise<() => void>;
}
