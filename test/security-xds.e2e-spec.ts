import * as grpc from '@grpc/grpc-js';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect, type PeerCertificate } from 'node:tls';
import {
  ALLOW_ALL,
  AUTH_ENV,
  issueKey,
  signedAppMesh,
  signedFetch,
  type Credentials,
} from './support/access-keys';
import { TestCertificateAuthority, writePemFiles } from './support/certificates';
import {
  startTestControlPlane,
  TEST_REGION,
  uniqueMeshName,
  type TestControlPlane,
} from './support/control-plane';
import { envoyImageChannel } from './support/envoy-aws-iam';
import { createCanaryMesh, envoyNode, SidecarProxy } from './support/mesh';
import { eventually, SotwAdsClient, type AdsChannel } from './support/xds';
import { CLUSTER, LISTENER } from '../libs/xds-types/src/resource-types';

/** Refusals counted in /metrics, by gRPC-facing error. */
async function refusals(trellis: TestControlPlane): Promise<string> {
  return (await (await fetch(`${trellis.httpUrl}/metrics`)).text())
    .split('\n')
    .filter((line) => line.startsWith('trellis_auth_refusals_total{surface="xds"'))
    .join('\n');
}

/** The status a refused stream ended with, and how many responses came before it. */
async function refusal(
  client: SotwAdsClient,
): Promise<{ code?: number; details?: string; responses: number }> {
  client.subscribe(CLUSTER, []);
  let responses = 0;
  // A guard against a stream that never ends, not a wait.
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await client.next();
      responses++;
    } catch (error) {
      const { code, details } = error as grpc.ServiceError;
      // The helper's wait for one response can end before the stream's status arrives.
      if (code !== undefined) return { code, details, responses };
      if (Date.now() > deadline) throw new Error('the stream got no status', { cause: error });
    }
  }
}

describe('xDS over TLS with authenticated streams, as the App Mesh Envoy image connects', () => {
  const ca = new TestCertificateAuthority();
  const server = ca.server();
  const files = writePemFiles({
    'server.pem': server.cert,
    'server-key.pem': server.key,
    'client-ca.pem': ca.certificate.cert,
  });
  let trellis: TestControlPlane;
  let meshName: string;
  let otherMesh: string;
  let sidecarKey: Credentials;
  let sidecarAdmin: Credentials;

  beforeAll(async () => {
    trellis = await startTestControlPlane({
      ...AUTH_ENV,
      TRELLIS_XDS_TLS_CERT_FILE: files['server.pem']!,
      TRELLIS_XDS_TLS_KEY_FILE: files['server-key.pem']!,
      TRELLIS_XDS_TLS_CLIENT_CA_FILE: files['client-ca.pem']!,
      TRELLIS_XDS_SPIFFE_TRUST_DOMAIN: 'trellis.test',
    });
    const admin = await issueKey('xds-admin', ALLOW_ALL);
    sidecarAdmin = admin;
    const appMesh = signedAppMesh(trellis.httpUrl, admin);
    meshName = uniqueMeshName('tls');
    otherMesh = uniqueMeshName('tls-other');
    await createCanaryMesh(appMesh, meshName, { 'web-v1': 100, 'web-v2': 0 });
    await createCanaryMesh(appMesh, otherMesh, { 'web-v1': 100, 'web-v2': 0 });
    appMesh.destroy();
    sidecarKey = await issueKey('sidecar', {
      Statement: [
        {
          Effect: 'Allow',
          Action: 'appmesh:StreamAggregatedResources',
          Resource: `arn:aws:appmesh:*:*:mesh/${meshName}/virtualNode/*`,
        },
      ],
    });
  });

  afterAll(async () => {
    await trellis?.close();
  });

  function awsIamChannel(credentials: Credentials): AdsChannel {
    return envoyImageChannel(ca.certificate.cert, trellis.xds!.port, credentials);
  }

  function spiffeChannel(uri: string): AdsChannel {
    const client = ca.client(uri);
    return {
      host: 'localhost',
      credentials: grpc.credentials.createSsl(
        Buffer.from(ca.certificate.cert),
        Buffer.from(client.key),
        Buffer.from(client.cert),
      ),
    };
  }

  it('serves its node configuration to a proxy signing as Envoy aws_iam does', async () => {
    const proxy = new SidecarProxy('sotw', envoyNode(meshName, 'front'), awsIamChannel(sidecarKey));
    proxy.connect(trellis.xds!.port);
    await proxy.sync();
    expect([...proxy.listeners.keys()].sort()).toEqual([
      'lds_egress_0.0.0.0_15001',
      'lds_ingress_0.0.0.0_15000',
    ]);
    expect([...proxy.clusters.keys()]).toContain(`cds_egress_${meshName}_web-v1_http_8080`);
    proxy.close();
  });

  it('answers PERMISSION_DENIED and nothing else to a node outside the key policy, and counts it', async () => {
    const before = await refusals(trellis);
    const client = new SotwAdsClient(
      trellis.xds!.port,
      envoyNode(otherMesh, 'front'),
      awsIamChannel(sidecarKey),
    );
    const result = await refusal(client);
    client.close();
    expect(result).toEqual({
      code: grpc.status.PERMISSION_DENIED,
      details: `User: ${sidecarKey.keyName} is not authorized to perform: appmesh:StreamAggregatedResources on resource: arn:aws:appmesh:${TEST_REGION}:111122223333:mesh/${otherMesh}/virtualNode/front`,
      responses: 0,
    });
    expect(await refusals(trellis)).not.toEqual(before);
    expect(await refusals(trellis)).toContain('error="AccessDeniedException"');
  });

  it('refuses a wrong secret and an unsigned stream as UNAUTHENTICATED', async () => {
    const wrong = new SotwAdsClient(
      trellis.xds!.port,
      envoyNode(meshName, 'front'),
      awsIamChannel({ ...sidecarKey, secretAccessKey: 'wrong' }),
    );
    expect(await refusal(wrong)).toMatchObject({
      code: grpc.status.UNAUTHENTICATED,
      details: expect.stringContaining('InvalidSignatureException') as unknown,
      responses: 0,
    });
    wrong.close();
    const unsigned = new SotwAdsClient(trellis.xds!.port, envoyNode(meshName, 'front'), {
      host: 'localhost',
      credentials: grpc.credentials.createSsl(Buffer.from(ca.certificate.cert)),
    });
    expect(await refusal(unsigned)).toMatchObject({
      code: grpc.status.UNAUTHENTICATED,
      details: 'MissingAuthenticationTokenException: Missing Authentication Token',
      responses: 0,
    });
    unsigned.close();
  });

  it('serves a proxy whose client certificate carries its SPIFFE id, and only that proxy', async () => {
    const channel = spiffeChannel(`spiffe://trellis.test/mesh/${meshName}/virtualNode/web-v1`);
    const proxy = new SidecarProxy('sotw', envoyNode(meshName, 'web-v1'), channel);
    proxy.connect(trellis.xds!.port);
    await proxy.sync();
    expect([...proxy.listeners.keys()]).toContain('lds_ingress_0.0.0.0_15000');
    proxy.close();

    const impostor = new SotwAdsClient(trellis.xds!.port, envoyNode(meshName, 'front'), channel);
    expect(await refusal(impostor)).toEqual({
      code: grpc.status.PERMISSION_DENIED,
      details: `The client certificate may act as mesh/${meshName}/virtualNode/web-v1 only, not as mesh/${meshName}/virtualNode/front`,
      responses: 0,
    });
    impostor.close();

    const foreign = new SotwAdsClient(
      trellis.xds!.port,
      envoyNode(meshName, 'web-v1'),
      spiffeChannel(`spiffe://elsewhere.test/mesh/${meshName}/virtualNode/web-v1`),
    );
    expect(await refusal(foreign)).toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
      responses: 0,
    });
    foreign.close();
  });

  it('binds a stream to the node it was admitted for', async () => {
    const client = new SotwAdsClient(
      trellis.xds!.port,
      envoyNode(meshName, 'front'),
      awsIamChannel(sidecarKey),
    );
    client.subscribe(CLUSTER, []);
    const first = await client.next();
    expect(first.typeUrl).toBe(CLUSTER);
    client.send({ typeUrl: LISTENER, resourceNames: [], node: envoyNode(meshName, 'web-v2') });
    const ended = await refusal(client);
    expect(ended.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(ended.details).toBe(
      `this stream was admitted for node mesh/${meshName}/virtualNode/front; it cannot switch to mesh/${meshName}/virtualNode/web-v2`,
    );
    client.close();
  });

  it('answers node ids of 100,000 characters with a short status, and serves the next stream of the connection', async () => {
    // One channel: the streams share one HTTP/2 connection. A status echoing such an id was a
    // header the client could not decode (over HPACK's 64 KiB): it dropped the connection, and
    // a grpc-js client then waited on it for good.
    const channel = awsIamChannel(sidecarKey);
    const port = trellis.xds!.port;
    const huge = 'x'.repeat(100_000);
    for (const id of [huge, `mesh/${otherMesh}/virtualNode/${huge}`]) {
      const hostile = new SotwAdsClient(port, { id, userAgentName: 'envoy' }, channel);
      expect(await refusal(hostile)).toEqual({
        code: grpc.status.INVALID_ARGUMENT,
        details: `node.id is ${id.length} characters; an App Mesh proxy identity is at most 1024`,
        responses: 0,
      });
      hostile.close();
    }

    // A stream switching to such an id is refused with a status the client reads.
    const refused = `this stream was admitted for node mesh/${meshName}/virtualNode/front; it cannot switch to `;
    const switching = new SotwAdsClient(port, envoyNode(meshName, 'front'), channel);
    switching.subscribe(CLUSTER, []);
    await switching.next();
    switching.send({ typeUrl: LISTENER, resourceNames: [], node: { id: huge } });
    expect(await refusal(switching)).toEqual({
      code: grpc.status.PERMISSION_DENIED,
      details: `${refused}${'x'.repeat(1024 - refused.length - 1)}…`,
      responses: 0,
    });
    switching.close();

    const proxy = new SotwAdsClient(port, envoyNode(meshName, 'front'), channel);
    proxy.subscribe(CLUSTER, []);
    expect((await proxy.next()).typeUrl).toBe(CLUSTER);
    proxy.close();
  });

  it('emits TLS and aws_iam settings in generated bootstraps', async () => {
    const response = await signedFetch(
      `${trellis.httpUrl}/v1/meshes/${meshName}/virtualNodes/front/bootstrap?caFile=/etc/trellis/ca.pem`,
      sidecarAdmin,
    );
    expect(response.status).toBe(200);
    const bootstrap = (await response.json()) as any;
    expect(bootstrap.dynamic_resources.ads_config.grpc_services).toEqual([
      {
        google_grpc: {
          target_uri: `127.0.0.1:${trellis.xds!.port}`,
          stat_prefix: 'ads',
          channel_credentials: {
            ssl_credentials: { root_certs: { filename: '/etc/trellis/ca.pem' } },
          },
          credentials_factory_name: 'envoy.grpc_credentials.aws_iam',
          call_credentials: [
            {
              from_plugin: {
                name: 'envoy.grpc_credentials.aws_iam',
                typed_config: {
                  '@type': 'type.googleapis.com/envoy.config.grpc_credential.v3.AwsIamConfig',
                  service_name: 'appmesh',
                  region: TEST_REGION,
                },
              },
            },
          ],
        },
      },
    ]);
  });

  it('reloads the certificate when its files change', async () => {
    const peerSerial = () =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(
          {
            host: '127.0.0.1',
            port: trellis.xds!.port,
            servername: 'localhost',
            ca: ca.certificate.cert,
            ALPNProtocols: ['h2'],
          },
          () => {
            const certificate: PeerCertificate = socket.getPeerCertificate();
            socket.destroy();
            resolve(certificate.serialNumber);
          },
        );
        socket.on('error', reject);
      });
    const before = await peerSerial();
    const renewed = ca.server();
    writeFileSync(files['server-key.pem']!, renewed.key);
    writeFileSync(files['server.pem']!, renewed.cert);
    await eventually(async () => expect(await peerSerial()).not.toBe(before), 10_000);
    expect(readFileSync(files['server.pem']!, 'utf8')).toBe(renewed.cert);
  });
});
