import { timingSafeEqual } from 'node:crypto';
import { Hash } from '@smithy/core/serde';
import { SignatureV4 } from '@smithy/signature-v4';
import {
  IncompleteSignatureException,
  InvalidSignatureException,
} from '../../mesh-model/src/errors';

/**
 * Verification of AWS Signature Version 4 (the `Authorization` header form). The signature
 * is recomputed with `@smithy/signature-v4`, the signer the AWS SDKs use, from the request
 * as received; nothing here re-implements the algorithm.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
 */

/** Hex SHA-256 of an empty payload: what a GET carries, and what Envoy's aws_iam signs. */
export const EMPTY_PAYLOAD_SHA256 =
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** How far a request's `x-amz-date` may be from the server's clock, as AWS allows. */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;

export interface SignedRequest {
  method: string;
  /** The authority the client addressed: the Host header, or HTTP/2's `:authority`. */
  host: string;
  /** The path exactly as sent (still percent-encoded). */
  path: string;
  /** Decoded query parameters. */
  query: Record<string, string | string[]>;
  /** Request headers by lower-case name. */
  headers: Record<string, string | string[] | undefined>;
  /** The body as received (absent: empty). */
  body?: Uint8Array;
}

export interface SignatureFields {
  accessKeyId: string;
  /** `YYYYMMDD` of the credential scope. */
  scopeDate: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 +Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request, *SignedHeaders=([a-z0-9;_.-]+), *Signature=([0-9a-f]{64})$/;

/** The fields of an `Authorization: AWS4-HMAC-SHA256 …` header, or IncompleteSignatureException. */
export function parseAuthorization(header: string): SignatureFields {
  const match = AUTHORIZATION.exec(header.trim());
  if (!match) {
    throw new IncompleteSignatureException(
      'Authorization header requires Credential, SignedHeaders and Signature in AWS4-HMAC-SHA256 form',
    );
  }
  return {
    accessKeyId: match[1]!,
    scopeDate: match[2]!,
    region: match[3]!,
    service: match[4]!,
    signedHeaders: match[5]!.split(';'),
    signature: match[6]!,
  };
}

/**
 * Checks the request's date against the clock and its signature against `secretAccessKey`.
 * `payloadHash` is the hash the signer must have used: the received body's, or for gRPC
 * metadata the empty payload's. A signed `x-amz-content-sha256` must equal it, so a
 * signature cannot be replayed with another body.
 */
export async function verifySignature(
  request: SignedRequest,
  fields: SignatureFields,
  secretAccessKey: string,
  now: Date,
): Promise<void> {
  const signed = new Set(fields.signedHeaders);
  for (const required of ['host', 'x-amz-date']) {
    if (!signed.has(required)) {
      throw new IncompleteSignatureException(`SignedHeaders must include ${required}`);
    }
  }
  const amzDate = headerValue(request.headers, 'x-amz-date');
  const signingDate = amzDate === undefined ? undefined : parseAmzDate(amzDate);
  if (!signingDate) {
    throw new IncompleteSignatureException(
      'X-Amz-Date must be given as YYYYMMDDTHHMMSSZ (ISO 8601 basic format, UTC)',
    );
  }
  if (amzDate!.slice(0, 8) !== fields.scopeDate) {
    throw new InvalidSignatureException(
      `Credential should be scoped to a valid date: ${fields.scopeDate} is not the date of X-Amz-Date ${amzDate}`,
    );
  }
  checkClockSkew(amzDate!, signingDate, now);
  const headers: Record<string, string> = {};
  for (const name of signed) {
    const value = name === 'host' ? request.host : headerValue(request.headers, name);
    if (value === undefined) {
      throw new IncompleteSignatureException(
        `The signed header ${name} is missing from the request`,
      );
    }
    headers[name] = value;
  }
  const signer = new SignatureV4({
    service: fields.service,
    region: fields.region,
    credentials: { accessKeyId: fields.accessKeyId, secretAccessKey },
    sha256: Hash.bind(null, 'sha256'),
    // Hash exactly what the client listed; never add a header it did not sign.
    applyChecksum: false,
  });
  const recomputed = await signer.sign(
    {
      method: request.method,
      protocol: 'https:',
      hostname: request.host,
      path: request.path,
      query: request.query,
      headers,
      body: request.body ?? undefined,
    },
    { signingDate, signableHeaders: signed },
  );
  const expected = /Signature=([0-9a-f]{64})$/.exec(String(recomputed.headers.authorization))?.[1];
  if (!expected || !timingSafeEqual(Buffer.from(expected), Buffer.from(fields.signature))) {
    throw new InvalidSignatureException(
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
    );
  }
}

/** The signed `x-amz-content-sha256`, when present, must name the payload actually received. */
export function checkPayloadHash(headers: SignedRequest['headers'], payloadHash: string): void {
  const declared = headerValue(headers, 'x-amz-content-sha256');
  if (declared !== undefined && declared !== payloadHash) {
    throw new InvalidSignatureException(
      'The provided x-amz-content-sha256 header does not match what was computed.',
    );
  }
}

function checkClockSkew(amzDate: string, signingDate: Date, now: Date): void {
  const skew = signingDate.getTime() - now.getTime();
  if (skew < -MAX_CLOCK_SKEW_MS) {
    throw new InvalidSignatureException(
      `Signature expired: ${amzDate} is now earlier than ${basicFormat(new Date(now.getTime() - MAX_CLOCK_SKEW_MS))} (${basicFormat(now)} - 15 min.)`,
    );
  }
  if (skew > MAX_CLOCK_SKEW_MS) {
    throw new InvalidSignatureException(
      `Signature not yet current: ${amzDate} is still later than ${basicFormat(new Date(now.getTime() + MAX_CLOCK_SKEW_MS))} (${basicFormat(now)} + 15 min.)`,
    );
  }
}

function parseAmzDate(value: string): Date | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!match) return undefined;
  const date = new Date(`${match[1]}-${match[2]}-${match[3]}T${match[4]}:${match[5]}:${match[6]}Z`);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function basicFormat(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/** One header's value; repeated headers are joined with commas, as SigV4 canonicalises them. */
export function headerValue(headers: SignedRequest['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}
