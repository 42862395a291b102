import * as grpc from '@grpc/grpc-js';
import type { AccessControl } from '../../../libs/access/src/access-control';
import { EMPTY_PAYLOAD_SHA256 } from '../../../libs/access/src/sigv4';
import type { Node } from '../../../libs/envoy-api/generated/envoy/config/core/v3/base';
import {
  AccessDeniedException,
  AppMeshError,
  ServiceUnavailableException,
} from '../../../libs/mesh-model/src/errors';
import {
  foreignOwnerProblem,
  parseProxyIdentity,
  proxyPath,
  type ProxyIdentity,
} from '../../../libs/mesh-model/src/proxy-identity';
import { translateDatabaseError } from '../../../libs/persistence/src/database-errors';
import { StreamRefusal, type AdsCall, type StreamGuard } from '../../../libs/xds/src/stream-guard';

/** The IAM action App Mesh required of Envoy for each virtual node or gateway. */
export const STREAM_ACTION = 'appmesh:StreamAggregatedResources';

export interface StreamAuthorizationOptions {
  region: string;
  accountId: string;
  /** Only SPIFFE ids of this trust domain are accepted; absent: any the client CA vouches for. */
  spiffeTrustDomain?: string;
}

const SPIFFE = /^spiffe:\/\/([^/]+)\/(mesh\/[^/]+\/(?:virtualNode|virtualGateway)\/[^/]+)$/;

/**
 * Who may receive a proxy's configuration (docs/security.md): a client certificate whose
 * SPIFFE id names exactly that proxy, or gRPC metadata signed with SigV4 as Envoy's
 * `envoy.grpc_credentials.aws_iam` credentials sign it, by a Trellis key whose policy allows
 * `appmesh:StreamAggregatedResources` on the proxy's ARN. A stream admitted by a key ends
 * when the key is revoked, expires or loses the permission.
 */
export class StreamAuthorization implements StreamGuard {
  constructor(
    private readonly access: AccessControl,
    private readonly options: StreamAuthorizationOptions,
  ) {}

  async admit(
    call: AdsCall,
    node: Node,
    end: (refusal: StreamRefusal) => void,
  ): Promise<() => void> {
    const context = { node: node.id, peer: call.getPeer() };
    try {
      const proxy = requestedProxy(node, this.options.accountId);
      const arn = `arn:aws:appmesh:${this.options.region}:${this.options.accountId}:${proxyPath(proxy)}`;
      const spiffeId = this.certificateIdentity(call);
      if (spiffeId !== undefined) {
        if (spiffeId !== proxyPath(proxy)) {
          throw new AccessDeniedException(
            `The client certificate may act as ${spiffeId} only, not as ${proxyPath(proxy)}`,
          );
        }
        return () => undefined;
      }
      const principal = await this.access.authenticator.authenticate(
        {
          method: 'POST',
          host: signedHost(call.getHost()),
          path: call.getPath(),
          query: {},
          headers: metadataHeaders(call.metadata),
        },
        EMPTY_PAYLOAD_SHA256,
      );
      this.access.authorize(principal, STREAM_ACTION, arn);
      // The stream ends when its key stops allowing it: revoked, expired, or its policy changed.
      return this.access.whileAllowed(principal, STREAM_ACTION, arn, (reason) => {
        const refusal = new StreamRefusal(grpc.status.PERMISSION_DENIED, reason);
        this.access.refused('xds', refusal, context);
        end(refusal);
      });
    } catch (error) {
      const refusal = toRefusal(error);
      this.access.refused('xds', translateDatabaseError(error), context);
      throw refusal;
    }
  }

  /** The SPIFFE path (`mesh/<m>/virtualNode/<n>`) of a client certificate the CA verified. */
  private certificateIdentity(call: AdsCall): string | undefined {
    const certificate = call.getAuthContext().sslPeerCertificate;
    if (!certificate?.subjectaltname) return undefined;
    const uris = certificate.subjectaltname
      .split(', ')
      .filter((name) => name.startsWith('URI:'))
      .map((name) => name.slice(4));
    for (const uri of uris) {
      const match = SPIFFE.exec(uri);
      if (!match) continue;
      if (this.options.spiffeTrustDomain && match[1] !== this.options.spiffeTrustDomain) {
        throw new AccessDeniedException(
          `The client certificate's SPIFFE id ${uri} is not in the trust domain ${this.options.spiffeTrustDomain}`,
        );
      }
      return match[2]!;
    }
    return undefined;
  }
}

/**
 * The proxy named by the node's id and cluster, in any form App Mesh's Envoy image sets (the same
 * parser the config source reads them with). When both name a proxy they must name the same one,
 * so what is authorized is what is served; a mesh of another account is refused.
 */
function requestedProxy(node: Node, accountId: string): ProxyIdentity {
  const proxies = [node.id, node.cluster]
    .map(parseProxyIdentity)
    .filter((proxy): proxy is ProxyIdentity => proxy !== undefined);
  const proxy = proxies[0];
  if (proxy === undefined) {
    throw new AccessDeniedException(
      `The node id ${JSON.stringify(node.id)} names no virtual node or virtual gateway (mesh/<mesh>/virtualNode/<name>)`,
    );
  }
  if (proxies.some((other) => proxyPath(other) !== proxyPath(proxy))) {
    throw new AccessDeniedException(`node.id and node.cluster name different proxies`);
  }
  for (const candidate of proxies) {
    const problem = foreignOwnerProblem(candidate, accountId);
    if (problem !== undefined) throw new AccessDeniedException(`Refused: ${problem}`);
  }
  return proxy;
}

/**
 * The host Envoy signed: the channel's authority without a default port. gRPC drops `:443`
 * from the service URL it hands the credentials plugin and Envoy's signer drops `:80` and
 * `:443` when it canonicalises the host (docs/security.md, "What Envoy signs").
 */
function signedHost(authority: string): string {
  return authority.replace(/:(80|443)$/, '');
}

function metadataHeaders(metadata: grpc.Metadata): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(metadata.getMap())) {
    if (typeof value === 'string') headers[name.toLowerCase()] = value;
  }
  return headers;
}

function toRefusal(error: unknown): StreamRefusal {
  const translated = translateDatabaseError(error);
  if (translated instanceof AccessDeniedException) {
    return new StreamRefusal(grpc.status.PERMISSION_DENIED, translated.message);
  }
  if (translated instanceof ServiceUnavailableException) {
    return new StreamRefusal(grpc.status.UNAVAILABLE, translated.message);
  }
  if (translated instanceof AppMeshError && translated.httpStatus < 500) {
    return new StreamRefusal(
      grpc.status.UNAUTHENTICATED,
      `${translated.errorType}: ${translated.message}`,
    );
  }
  return new StreamRefusal(grpc.status.INTERNAL, 'internal error');
}
