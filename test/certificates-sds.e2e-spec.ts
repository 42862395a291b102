import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  CreateMeshCommand,
  CreateRouteCommand,
  CreateVirtualNodeCommand,
  CreateVirtualRouterCommand,
  CreateVirtualServiceCommand,
  type VirtualNodeSpec,
} from '@aws-sdk/client-app-mesh';
import { DownstreamTlsContext } from '../libs/envoy-api/generated/envoy/extensions/transport_sockets/tls/v3/tls';
import { unpackAny } from '../libs/envoy-api/src/any';
import {
  startTestControlPlane,
  TEST_ACCOUNT_ID,
  TEST_REGION,
  uniqueMeshName,
  type TestControlPlane,
} from './support/control-plane';
import { adsSecretNames, envoyNode, SidecarProxy } from './support/mesh';

/**
 * Certificates by ACM ARN, served over SDS: the ACM-based specs of AWS's howto-ingress-gateway
 * walkthrough (`colorteller-*-vn-tls.json`: listener TLS with an ACM certificate, client policy
 * trust by ACM Private CA ARN) work once the certificate and CA are imported into Trellis.
 */

const FIXTURES = path.join(__dirname, 'fixtures', 'certificates');
const fixture = (name: string) => readFileSync(path.join(FIXTURES, name), 'utf8');
const CERTIFICATE_ARN = `arn:aws:acm:${TEST_REGION}:${TEST_ACCOUNT_ID}:certificate/colorteller`;
const CA_ARN = `arn:aws:acm-pca:${TEST_REGION}:${TEST_ACCOUNT_ID}:certificate-authority/root`;
const MISSING_ARN = `arn:aws:acm:${TEST_REGION}:${TEST_ACCOUNT_ID}:certificate/never-imported`;
const INGRESS = 'lds_ingress_0.0.0.0_15000';
const MASTER_KEY = Buffer.alloc(32, 3).toString('base64');

/** A colorteller virtual node as `colorteller-<color>-vn-tls.json` writes it. */
function colortellerNode(meshName: string, color: string, certificateArn: string): VirtualNodeSpec {
  return {
    listeners: [
      {
        portMapping: { port: 9080, protocol: 'http' },
        healthCheck: {
          protocol: 'http',
          path: '/ping',
          healthyThreshold: 2,
          unhealthyThreshold: 2,
          timeoutMillis: 2000,
          intervalMillis: 5000,
        },
        tls: { mode: 'STRICT', certificate: { acm: { certificateArn } } },
      },
    ],
    serviceDiscovery: { dns: { hostname: `colorteller-${color}.${meshName}.local` } },
    backendDefaults: {
      clientPolicy: {
        tls: { validation: { trust: { acm: { certificateAuthorityArns: [CA_ARN] } } } },
      },
    },
  };
}

describe('certificates by ACM ARN over SDS', () => {
  let trellis: TestControlPlane;
  const proxies: SidecarProxy[] = [];

  beforeAll(async () => {
    trellis = await startTestControlPlane({ TRELLIS_MASTER_KEY: MASTER_KEY });
  });
  afterEach(() => {
    for (const proxy of proxies.splice(0)) proxy.close();
  });
  afterAll(() => trellis.close());

  const api = (method: string, pathname: string, body?: unknown) =>
    fetch(`${trellis.httpUrl}${pathname}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
  const importCertificate = (certificate: string, privateKey: string) =>
    api('POST', '/v1/certificates', { certificateArn: CERTIFICATE_ARN, certificate, privateKey });
  const sidecar = (meshName: string, node: string) => {
    const proxy = new SidecarProxy('delta', envoyNode(meshName, node));
    proxies.push(proxy);
    return proxy.connect(trellis.xds!.port);
  };

  it('serves imported certificates to the walkthrough specs over SDS, and a replaced one over SDS only', async () => {
    // Import: the key is sealed at rest and never answered.
    const imported = await importCertificate(
      fixture('colorteller.pem'),
      fixture('colorteller.key'),
    );
    expect([200, 201]).toContain(imported.status);
    const info = (await imported.json()) as Record<string, unknown>;
    expect(info).toMatchObject({ arn: CERTIFICATE_ARN, kind: 'certificate' });
    expect(new Date(info.notAfter as string).getUTCFullYear()).toBeGreaterThan(2100);
    expect(JSON.stringify(info)).not.toContain('PRIVATE KEY');
    const ca = await api('POST', '/v1/certificates', {
      certificateAuthorityArn: CA_ARN,
      certificate: fixture('ca.pem'),
    });
    expect([200, 201]).toContain(ca.status);
    const stored = await trellis.db.query<{ sealed: string }>(
      'SELECT private_key_sealed AS sealed FROM certificate WHERE arn = $1',
      [CERTIFICATE_ARN],
    );
    expect(stored.rows[0]!.sealed).toMatch(/^v1:/);
    expect(stored.rows[0]!.sealed).not.toContain('PRIVATE');
    const listed = await (await api('GET', '/v1/certificates')).text();
    expect(listed).toContain(CERTIFICATE_ARN);
    expect(listed).not.toContain('PRIVATE KEY');

    const meshName = uniqueMeshName('howto-ingress-gateway');
    await trellis.appMesh.send(new CreateMeshCommand({ meshName }));
    for (const color of ['white', 'black']) {
      await trellis.appMesh.send(
        new CreateVirtualNodeCommand({
          meshName,
          virtualNodeName: `colorteller-${color}-vn`,
          spec: colortellerNode(meshName, color, CERTIFICATE_ARN),
        }),
      );
    }
    // The gateway's part: a client of colorteller with the same ACM PCA trust.
    const service = `colorteller.${meshName}.local`;
    await trellis.appMesh.send(
      new CreateVirtualRouterCommand({
        meshName,
        virtualRouterName: 'colorteller-vr',
        spec: { listeners: [{ portMapping: { port: 9080, protocol: 'http' } }] },
      }),
    );
    await trellis.appMesh.send(
      new CreateRouteCommand({
        meshName,
        virtualRouterName: 'colorteller-vr',
        routeName: 'colorteller-route',
        spec: {
          httpRoute: {
            match: { prefix: '/' },
            action: {
              weightedTargets: [
                { virtualNode: 'colorteller-white-vn', weight: 1 },
                { virtualNode: 'colorteller-black-vn', weight: 1 },
              ],
            },
          },
        },
      }),
    );
    await trellis.appMesh.send(
      new CreateVirtualServiceCommand({
        meshName,
        virtualServiceName: service,
        spec: { provider: { virtualRouter: { virtualRouterName: 'colorteller-vr' } } },
      }),
    );
    await trellis.appMesh.send(
      new CreateVirtualNodeCommand({
        meshName,
        virtualNodeName: 'gateway-vn',
        spec: {
          serviceDiscovery: { dns: { hostname: `gateway.${meshName}.local` } },
          backends: [{ virtualService: { virtualServiceName: service } }],
          backendDefaults: colortellerNode(meshName, 'gateway', CERTIFICATE_ARN).backendDefaults,
        },
      }),
    );

    // The colorteller sidecar: the listener names the certificate, the secret comes over SDS.
    const white = sidecar(meshName, 'colorteller-white-vn');
    await white.sync();
    const chain = white.listeners.get(INGRESS)!.filterChains![0]!;
    expect(adsSecretNames([chain.transportSocket])).toEqual([CERTIFICATE_ARN]);
    const context = unpackAny(
      (chain.transportSocket!.configType as { value: Parameters<typeof unpackAny>[0] }).value,
      DownstreamTlsContext,
    );
    expect(JSON.stringify(context)).not.toContain('PRIVATE KEY');
    const served = white.secrets.get(CERTIFICATE_ARN)!;
    expect(served.type?.$case).toBe('tlsCertificate');
    const tlsCertificate = served.type?.$case === 'tlsCertificate' ? served.type.value : undefined;
    expect(tlsCertificate?.certificateChain?.specifier?.value).toContain(
      fixture('colorteller.pem').trim(),
    );
    expect(tlsCertificate?.privateKey?.specifier?.value).toContain('PRIVATE KEY');

    // The gateway's sidecar: clusters to colorteller verify it with the CA bundle over SDS.
    const gateway = sidecar(meshName, 'gateway-vn');
    await gateway.sync();
    const tlsClusters = [...gateway.clusters.values()].filter((c) => c.transportSocket);
    expect(tlsClusters.map((c) => adsSecretNames([c.transportSocket]))).toEqual([
      [CA_ARN],
      [CA_ARN],
    ]);
    const trust = gateway.secrets.get(CA_ARN)!;
    expect(trust.type?.$case).toBe('validationContext');

    // Replacing the certificate: the colorteller proxy receives the new secret and nothing else.
    const replaced = await importCertificate(
      fixture('colorteller-renewed.pem'),
      fixture('colorteller-renewed.key'),
    );
    expect(replaced.status).toBe(200);
    const renewed = fixture('colorteller-renewed.pem').trim();
    const updates = await white.until(() => {
      const secret = white.secrets.get(CERTIFICATE_ARN)?.type;
      return (
        secret?.$case === 'tlsCertificate' &&
        (secret.value.certificateChain?.specifier?.value as string).includes(renewed)
      );
    });
    expect(updates).toEqual([{ type: 'SDS', names: [CERTIFICATE_ARN], removed: [] }]);
  });

  it('reports an ARN that is not imported and serves no dead listener', async () => {
    const meshName = uniqueMeshName('acm-missing');
    await trellis.appMesh.send(new CreateMeshCommand({ meshName }));
    const response = await fetch(`${trellis.httpUrl}/v20190125/meshes/${meshName}/virtualNodes`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        virtualNodeName: 'colorteller-red-vn',
        spec: colortellerNode(meshName, 'red', MISSING_ARN),
      }),
    });
    // The write succeeds, as in App Mesh, and points at the diagnostics of its revision.
    expect(response.status).toBe(200);
    const link = response.headers.get('x-trellis-diagnostics');
    expect(link).toBe(
      `/v1/meshes/${meshName}/diagnostics?revision=${response.headers.get('x-trellis-mesh-revision')}`,
    );
    const diagnostics = (await (await fetch(`${trellis.httpUrl}${link}`)).json()) as {
      status: string;
      diagnostics: Array<{ kind: string; resource: string }>;
    };
    expect(diagnostics.status).toBe('COMPUTED');
    expect(diagnostics.diagnostics).toEqual([
      expect.objectContaining({
        kind: 'certificate-not-imported',
        resource:
          'virtualNode/colorteller-red-vn.spec.listeners[0].tls.certificate.acm.certificateArn',
      }),
    ]);

    const red = sidecar(meshName, 'colorteller-red-vn');
    await red.sync();
    // The only listener port is not served rather than served without TLS: no listener at all.
    expect(red.listeners.has(INGRESS)).toBe(false);
    expect(red.secrets.size).toBe(0);
  });
});
