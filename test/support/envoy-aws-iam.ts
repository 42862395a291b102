import { createHash, createHmac } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { TEST_REGION } from './control-plane';
import type { AdsChannel } from './xds';

/**
 * gRPC call credentials that sign as Envoy's `envoy.grpc_credentials.aws_iam` does, written
 * from Envoy's source independently of the server's verifier (which uses @smithy/signature-v4):
 * `source/extensions/grpc_credentials/aws_iam/config.cc` builds a POST to
 * `<service_url>/<method>` (gRPC core's service URL: `https://<authority minus :443>/<service>`)
 * and signs it with `sign_body = false`; `source/extensions/common/aws/signer_impl.cc` then
 * sets `x-amz-content-sha256` to the empty payload's hash, adds `x-amz-date`, signs the
 * canonical headers (`utility.cc`: every non-pseudo header, plus `host` from `:authority`
 * without :80/:443) and sends every non-pseudo header as metadata.
 */
export function envoyAwsIamCredentials(options: {
  authority: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  service?: string;
  clock?: () => Date;
}): grpc.CallCredentials {
  const service = options.service ?? 'appmesh';
  return grpc.credentials.createFromMetadataGenerator((params, callback) => {
    // grpc-js passes the full method path; gRPC core passes Envoy the last segment.
    const method = (params as { method_name?: string }).method_name?.split('/').pop();
    const path = `/envoy.service.discovery.v3.AggregatedDiscoveryService/${method}`;
    const host = options.authority.replace(/:(80|443)$/, '');
    const longDate = (options.clock?.() ?? new Date())
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}/, '');
    const shortDate = longDate.slice(0, 8);
    const contentHash = sha256('');
    const headers: Record<string, string> = {
      host,
      'x-amz-content-sha256': contentHash,
      'x-amz-date': longDate,
    };
    const names = Object.keys(headers).sort();
    const canonicalRequest = [
      'POST',
      path,
      '',
      ...names.map((name) => `${name}:${headers[name]}`),
      '',
      names.join(';'),
      contentHash,
    ].join('\n');
    const scope = `${shortDate}/${options.region}/${service}/aws4_request`;
    const stringToSign = ['AWS4-HMAC-SHA256', longDate, scope, sha256(canonicalRequest)].join('\n');
    let key: Buffer = hmac(`AWS4${options.secretAccessKey}`, shortDate);
    for (const part of [options.region, service, 'aws4_request']) key = hmac(key, part);
    const signature = createHmac('sha256', key).update(stringToSign).digest('hex');
    const metadata = new grpc.Metadata();
    metadata.set('x-amz-content-sha256', contentHash);
    metadata.set('x-amz-date', longDate);
    metadata.set(
      'authorization',
      `AWS4-HMAC-SHA256 Credential=${options.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`,
    );
    callback(null, metadata);
  });
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

/**
 * How the App Mesh Envoy image reaches the xDS port on `port` of localhost: TLS trusting `caCert`
 * (the image's CA bundle) and every stream signed as aws_iam signs it with `credentials`.
 */
export function envoyImageChannel(
  caCert: string,
  port: number,
  credentials: { accessKeyId: string; secretAccessKey: string },
  options?: grpc.ChannelOptions,
): AdsChannel {
  return {
    host: 'localhost',
    credentials: grpc.credentials.combineChannelCredentials(
      grpc.credentials.createSsl(Buffer.from(caCert)),
      envoyAwsIamCredentials({
        authority: `localhost:${port}`,
        accessKeyId: credentials.accessKeyId,
        secretAccessKey: credentials.secretAccessKey,
        region: TEST_REGION,
      }),
    ),
    options,
  };
}
