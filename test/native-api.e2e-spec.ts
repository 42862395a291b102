import { CreateMeshCommand, CreateVirtualNodeCommand } from '@aws-sdk/client-app-mesh';
import { parse } from 'yaml';
import {
  meshContents,
  meshRevision,
  startTestControlPlane,
  uniqueMeshName,
  type TestControlPlane,
} from './support/control-plane';

describe('Trellis native API', () => {
  let trellis: TestControlPlane;
  beforeAll(async () => {
    trellis = await startTestControlPlane();
  });
  afterAll(() => trellis.close());

  const put = (path: string, body: unknown) =>
    fetch(`${trellis.httpUrl}${path}`, {
      method: 'PUT',
      headers: {
        'content-type': 'application/json',
        authorization:
          'AWS4-HMAC-SHA256 Credential=AKIDTRACER/20261127/us-east-1/appmesh/aws4_request',
      },
      body: JSON.stringify(body),
    });

  it('stores a mesh’s X-Ray settings as a mesh write: new revision and a change-log row', async () => {
    const meshName = uniqueMeshName('tracing');
    await trellis.appMesh.send(new CreateMeshCommand({ meshName }));
    expect(await (await fetch(`${trellis.httpUrl}/v1/meshes/${meshName}/tracing`)).json()).toEqual({
      meshName,
      tracing: {},
    });

    const response = await put(`/v1/meshes/${meshName}/tracing`, {
      enabled: false,
      samplingRate: 0.25,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-trellis-mesh-revision')).toBe('2');
    expect(await response.json()).toEqual({
      meshName,
      tracing: { enabled: false, samplingRate: 0.25 },
    });
    expect(await (await fetch(`${trellis.httpUrl}/v1/meshes/${meshName}/tracing`)).json()).toEqual({
      meshName,
      tracing: { enabled: false, samplingRate: 0.25 },
    });
    const change = await trellis.db.query<{ operation: string; actor: string; after: string }>(
      `SELECT operation, actor, after::text FROM change_log WHERE mesh_name = $1 AND revision = 2`,
      [meshName],
    );
    expect(change.rows[0]).toEqual({
      operation: 'TRACING',
      actor: 'AKIDTRACER',
      after: JSON.stringify({ enabled: false, samplingRate: 0.25 }),
    });
  });

  it.each([
    [{ enabled: 'yes' }, 'enabled: must be a boolean'],
    [{ samplingRate: 2 }, 'samplingRate: must be a number from 0 to 1'],
    [{ daemonPort: 0 }, 'daemonPort: must be an integer from 1 to 65535'],
    [{ colour: 'red' }, 'colour: unknown field'],
  ])('rejects tracing settings %j with "%s" and changes nothing', async (body, message) => {
    const meshName = uniqueMeshName('tracing');
    await trellis.appMesh.send(new CreateMeshCommand({ meshName }));
    const before = await meshContents(trellis.db, meshName);
    const response = await put(`/v1/meshes/${meshName}/tracing`, body);
    expect(response.status).toBe(400);
    expect(response.headers.get('x-amzn-errortype')).toBe('BadRequestException');
    expect(((await response.json()) as { message: string }).message).toBe(message);
    expect(await meshContents(trellis.db, meshName)).toEqual(before);
  });

  it('answers NotFoundException for the tracing of a mesh that does not exist', async () => {
    const response = await put('/v1/meshes/no-such-mesh/tracing', { enabled: true });
    expect(response.status).toBe(404);
    expect(response.headers.get('x-amzn-errortype')).toBe('NotFoundException');
    expect(await meshRevision(trellis.db, 'no-such-mesh')).toBe(0);
  });

  it('generates an Envoy bootstrap for a virtual node, as YAML or JSON', async () => {
    const meshName = uniqueMeshName('bootstrap');
    await trellis.appMesh.send(new CreateMeshCommand({ meshName }));
    await trellis.appMesh.send(
      new CreateVirtualNodeCommand({ meshName, virtualNodeName: 'web', spec: {} }),
    );
    const url = `${trellis.httpUrl}/v1/meshes/${meshName}/virtualNodes/web/bootstrap`;

    const yamlResponse = await fetch(`${url}?adminPort=9902`);
    expect(yamlResponse.headers.get('content-type')).toContain('application/yaml');
    const bootstrap = parse(await yamlResponse.text()) as Record<string, any>;
    expect(bootstrap.node).toEqual({
      id: `mesh/${meshName}/virtualNode/web`,
      cluster: `mesh/${meshName}/virtualNode/web`,
    });
    expect(bootstrap.admin.address.socket_address.port_value).toBe(9902);
    expect(bootstrap.dynamic_resources.lds_config).toEqual({ ads: {}, resource_api_version: 'V3' });
    expect(bootstrap.dynamic_resources.cds_config).toEqual({ ads: {}, resource_api_version: 'V3' });
    const xdsEndpoint =
      bootstrap.static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint
        .address.socket_address;
    expect(xdsEndpoint).toEqual({ address: '127.0.0.1', port_value: trellis.xds!.port });

    const json = await fetch(url, { headers: { accept: 'application/json' } });
    expect(((await json.json()) as { node: unknown }).node).toEqual(bootstrap.node);

    const missing = await fetch(
      `${trellis.httpUrl}/v1/meshes/${meshName}/virtualNodes/nope/bootstrap`,
    );
    expect(missing.status).toBe(404);
  });

  it('serves Prometheus metrics', async () => {
    const response = await fetch(`${trellis.httpUrl}/metrics`);
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toContain('trellis_xds_connected_proxies');
    expect(text).toContain('trellis_process_cpu_seconds_total');
  });
});
