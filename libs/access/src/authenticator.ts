import type { AccessPolicy } from '../../mesh-model/src/access-policy';
import {
  MissingAuthenticationTokenException,
  UnrecognizedClientException,
} from '../../mesh-model/src/errors';
import type { AccessKeyCache } from './access-key-cache';
import {
  checkPayloadHash,
  headerValue,
  parseAuthorization,
  verifySignature,
  type SignedRequest,
} from './sigv4';

/** Who a verified request comes from. */
export interface Principal {
  /** The key's name: the actor in the change log, the "User" in AccessDenied messages. */
  keyName: string;
  accessKeyId: string;
  policy: AccessPolicy;
  requestsPerSecond: number | null;
  /** When the credential stops working (key expiry or rotation grace), if ever. */
  validUntil: Date | null;
}

export interface AuthenticatorOptions {
  /**
   * Accept requests that carry `x-amz-security-token` (signed credentials from an STS-style
   * chain). Trellis issues no session tokens, so the token grants nothing; refused by default.
   */
  allowSessionTokens: boolean;
}

/**
 * Turns a SigV4-signed request (REST, or gRPC metadata) into a Principal, or throws the
 * error AWS would: UnrecognizedClientException for an unknown, revoked or expired key,
 * InvalidSignatureException for a wrong signature or a stale date. The signature is checked
 * before the key's state, so only holders of a secret learn whether it was revoked.
 */
export class Authenticator {
  constructor(
    private readonly keys: AccessKeyCache,
    private readonly options: AuthenticatorOptions,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async authenticate(request: SignedRequest, payloadHash: string): Promise<Principal> {
    const authorization = headerValue(request.headers, 'authorization');
    if (authorization === undefined || authorization === '') {
      throw new MissingAuthenticationTokenException('Missing Authentication Token');
    }
    const fields = parseAuthorization(authorization);
    if (
      headerValue(request.headers, 'x-amz-security-token') !== undefined &&
      !this.options.allowSessionTokens
    ) {
      throw new UnrecognizedClientException(
        'The security token included in the request is invalid: Trellis keys take no session token',
      );
    }
    const lookup = await this.keys.lookup(fields.accessKeyId);
    if (!lookup) {
      throw new UnrecognizedClientException(
        'The security token included in the request is invalid.',
      );
    }
    const now = this.clock();
    checkPayloadHash(request.headers, payloadHash);
    await verifySignature(request, fields, lookup.secretAccessKey, now);
    const { key, credentialExpiresAt } = lookup;
    if (key.revokedAt) {
      throw new UnrecognizedClientException(
        `The security token included in the request is invalid: the access key ${key.name} was revoked`,
      );
    }
    const validUntil = earliest(key.expiresAt, credentialExpiresAt);
    if (validUntil && validUntil <= now) {
      throw new UnrecognizedClientException(
        `The security token included in the request is expired: the access key ${key.name} expired at ${validUntil.toISOString()}`,
      );
    }
    return {
      keyName: key.name,
      accessKeyId: fields.accessKeyId,
      policy: key.policy,
      requestsPerSecond: key.requestsPerSecond,
      validUntil,
    };
  }
}

function earliest(a: Date | null, b: Date | null): Date | null {
  if (!a) return b;
  if (!b) return a;
  return a < b ? a : b;
}
