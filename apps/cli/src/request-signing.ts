import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { UsageError } from './command-line';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** What the CLI signs with: the App Mesh service name, so Trellis reads requests as the AWS CLI's. */
export interface SigningConfig {
  credentials: AwsCredentials;
  region: string;
}

/**
 * The standard AWS variables, as the AWS CLI reads them from the environment. Without an
 * access key the CLI sends unsigned requests (Trellis records the actor as `anonymous`).
 */
export function signingConfigFromEnv(env: NodeJS.ProcessEnv): SigningConfig | undefined {
  const accessKeyId = env.AWS_ACCESS_KEY_ID || undefined;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY || undefined;
  if (!accessKeyId && !secretAccessKey) return undefined;
  if (!accessKeyId || !secretAccessKey) {
    throw new UsageError(
      `set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither (${accessKeyId ? 'AWS_SECRET_ACCESS_KEY' : 'AWS_ACCESS_KEY_ID'} is missing)`,
    );
  }
  return {
    credentials: { accessKeyId, secretAccessKey, sessionToken: env.AWS_SESSION_TOKEN || undefined },
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
  };
}

export interface SignableRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: string;
}

/**
 * Adds SigV4 headers (`authorization`, `x-amz-date`, `x-amz-content-sha256`,
 * `x-amz-security-token`) to a request. Signs `host` as fetch will send it.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv.html
 */
export async function signRequest(
  request: SignableRequest,
  config: SigningConfig,
  signingDate?: Date,
): Promise<Record<string, string>> {
  const signer = new SignatureV4({
    service: 'appmesh',
    region: config.region,
    credentials: config.credentials,
    sha256: NodeSha256,
  });
  const query: Record<string, string[]> = {};
  for (const [key, value] of request.url.searchParams) (query[key] ??= []).push(value);
  const signed = await signer.sign(
    {
      method: request.method,
      protocol: request.url.protocol,
      hostname: request.url.hostname,
      port: request.url.port ? Number(request.url.port) : undefined,
      path: request.url.pathname,
      query,
      headers: { ...request.headers, host: request.url.host },
      body: request.body,
    },
    { signingDate },
  );
  const headers = { ...(signed.headers as Record<string, string>) };
  // fetch sets Host itself, from the same URL.
  delete headers.host;
  return headers;
}

/** SHA-256 and HMAC-SHA256 from node:crypto, in the shape the signer asks for. */
class NodeSha256 {
  private hash: Hash | Hmac;

  constructor(private readonly secret?: SourceData) {
    this.hash = NodeSha256.create(secret);
  }

  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }

  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }

  reset(): void {
    this.hash = NodeSha256.create(this.secret);
  }

  private static create(secret?: SourceData): Hash | Hmac {
    return secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
}

type SourceData = string | ArrayBuffer | ArrayBufferView;

function bytes(data: SourceData): string | Uint8Array {
  if (typeof data === 'string') return data;
  if (ArrayBuffer.isView(data))
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}
