import type { Request, RequestHandler } from 'express';
import { ForbiddenException } from '../../../../libs/mesh-model/src/errors';
import { sendAppMeshError } from '../app-mesh/app-mesh-exception.filter';

/** Which browsers' requests the API answers; see docs/operations.md, "Hostile HTTP clients". */
export interface CrossSitePolicy {
  /**
   * Host names (no port) the API answers to, lower case; `undefined` answers any. A server bound
   * to loopback answers only its loopback names by default, so a page that re-points its own
   * DNS name at 127.0.0.1 (DNS rebinding) is refused.
   */
  allowedHosts?: ReadonlySet<string>;
  /** Origins (`https://console.example.com`) besides the server's own that may call the API. */
  allowedOrigins: ReadonlySet<string>;
}

/** Probes answer any Host: Kubernetes and load balancers call them by pod or node address. */
const PROBES = /^\/(?:healthz|readyz|metrics)(?:[/?]|$)/;

/** Methods a browser may send cross-site without asking first, apart from POST. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Refuses what a web page open in an operator's browser could send: a request whose `Origin`
 * is neither this server's own origin nor an allowed one (browsers send `Origin` on every
 * cross-origin request and every POST), a write a browser marks `Sec-Fetch-Site: cross-site`
 * or `same-site`, and a `Host` outside the allowed names. The AWS SDKs, the AWS CLI, curl and the
 * trellis CLI send no `Origin`, so they are not affected.
 */
export function crossSiteGuard(policy: CrossSitePolicy): RequestHandler {
  return (request, response, next) => {
    const host = request.headers.host;
    if (policy.allowedHosts && !PROBES.test(request.url)) {
      const hostname = host === undefined ? undefined : hostnameOf(host);
      if (hostname === undefined || !policy.allowedHosts.has(hostname)) {
        return sendAppMeshError(
          response,
          new ForbiddenException(
            `Host ${host === undefined ? '(none)' : JSON.stringify(host)} is not a name this server answers to; ` +
              `the names are ${[...policy.allowedHosts].join(', ')} (TRELLIS_HTTP_ALLOWED_HOSTS)`,
          ),
        );
      }
    }
    const origin = request.headers.origin;
    if (origin !== undefined) {
      if (!policy.allowedOrigins.has(origin) && !isOwnOrigin(request, origin)) {
        return sendAppMeshError(
          response,
          new ForbiddenException(
            `Origin ${JSON.stringify(origin)} may not call this API: cross-site requests are refused ` +
              '(allow an origin with TRELLIS_HTTP_ALLOWED_ORIGINS)',
          ),
        );
      }
    } else if (!SAFE_METHODS.has(request.method)) {
      const site = request.headers['sec-fetch-site'];
      if (site === 'cross-site' || site === 'same-site') {
        return sendAppMeshError(
          response,
          new ForbiddenException(`Sec-Fetch-Site: ${site} writes are refused`),
        );
      }
    }
    next();
  };
}

/** The origin of the URL the request was sent to: its scheme and its Host header. */
function isOwnOrigin(request: Request, origin: string): boolean {
  const host = request.headers.host;
  if (host === undefined) return false;
  try {
    const own = new URL(`${request.protocol}://${host}`);
    return new URL(origin).origin === own.origin;
  } catch {
    return false;
  }
}

/** `Example.com:8080` → `example.com`, `[::1]:8080` → `::1`; undefined when not a host and port. */
function hostnameOf(host: string): string | undefined {
  const match = /^(?:\[([0-9a-f:.]+)\]|([a-z0-9.-]+))(?::\d{1,5})?$/i.exec(host);
  return (match?.[1] ?? match?.[2])?.toLowerCase();
}

/** The names a server bound to a loopback address answers to unless told otherwise. */
export const LOOPBACK_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '::1'];
