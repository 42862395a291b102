import type { Logger } from 'pino';
import { Counter, Registry } from 'prom-client';
import { evaluatePolicy } from '../../mesh-model/src/access-policy';
import {
  AccessDeniedException,
  AppMeshError,
  TooManyRequestsException,
} from '../../mesh-model/src/errors';
import type { AccessKeyCache } from './access-key-cache';
import type { Authenticator, Principal } from './authenticator';
import type { KeyRateLimiter } from './rate-limiter';

export type Surface = 'rest' | 'xds';

/**
 * Authentication and authorization as both ports use them: who signed (Authenticator), may
 * they (policy), not too often (rate limit). Every refusal is logged once and counted.
 */
export class AccessControl {
  readonly registry = new Registry();
  private readonly refusals = new Counter({
    name: 'trellis_auth_refusals_total',
    help: 'Requests and xDS streams refused by authentication, authorization or rate limits, by port and error',
    labelNames: ['surface', 'error'],
    registers: [this.registry],
  });

  constructor(
    readonly keys: AccessKeyCache,
    readonly authenticator: Authenticator,
    private readonly limiter: KeyRateLimiter,
    private readonly logger: Logger,
  ) {}

  /** AccessDeniedException in AWS' words unless the key's policy allows `action` on `resource`. */
  authorize(principal: Principal, action: string, resource: string): void {
    const decision = evaluatePolicy(principal.policy, action, resource);
    if (decision === 'allow') return;
    throw new AccessDeniedException(
      `User: ${principal.keyName} is not authorized to perform: ${action} on resource: ${resource}` +
        (decision === 'explicitDeny' ? ' with an explicit deny' : ''),
    );
  }

  /**
   * Watches what a key was allowed when a long-lived connection (an xDS stream, an event
   * stream) opened: calls `stop` with the reason once the key is revoked, expires or its
   * policy no longer allows `action` on `resource`. Call the answer when the connection ends.
   */
  whileAllowed(
    principal: Principal,
    action: string,
    resource: string,
    stop: (reason: string) => void,
  ): () => void {
    let ended = false;
    const end = (reason: string) => {
      if (ended) return;
      ended = true;
      release();
      stop(reason);
    };
    const recheck = () => {
      this.keys.lookup(principal.accessKeyId).then(
        (lookup) => {
          if (!lookup || lookup.key.revokedAt) {
            end(`The access key ${principal.keyName} was revoked`);
            return;
          }
          try {
            this.authorize({ ...principal, policy: lookup.key.policy }, action, resource);
          } catch (error) {
            end((error as Error).message);
          }
        },
        // Postgres unreachable: keep serving; the next change or resync checks again.
        () => undefined,
      );
    };
    const unsubscribe = this.keys.onChange(recheck);
    const expiry =
      principal.validUntil &&
      setTimeout(
        () => end(`The access key ${principal.keyName} expired`),
        Math.min(Math.max(principal.validUntil.getTime() - Date.now(), 0), 2 ** 31 - 1),
      );
    expiry?.unref();
    const release = () => {
      unsubscribe();
      if (expiry) clearTimeout(expiry);
    };
    return () => {
      ended = true;
      release();
    };
  }

  /** TooManyRequestsException when the key is over its request rate on this replica. */
  admit(principal: Principal): void {
    if (!this.limiter.take(principal.keyName, principal.requestsPerSecond)) {
      throw new TooManyRequestsException('Rate exceeded');
    }
  }

  /** Logs and counts a refusal; `error` is what the client was answered. */
  refused(surface: Surface, error: unknown, context: Record<string, unknown>): void {
    const errorType = error instanceof AppMeshError ? error.errorType : 'Error';
    this.refusals.inc({ surface, error: errorType });
    this.logger.warn(
      {
        surface,
        error: errorType,
        reason: error instanceof Error ? error.message : String(error),
        ...context,
      },
      'request refused',
    );
  }
}
