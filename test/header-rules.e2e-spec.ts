import {
  CreateGatewayRouteCommand,
  CreateVirtualGatewayCommand,
  DeleteRouteCommand,
  DescribeRouteCommand,
} from '@aws-sdk/client-app-mesh';
import type { Route } from '../libs/envoy-api/generated/envoy/config/route/v3/route_components';
import {
  meshContents,
  meshRevision,
  startTestControlPlane,
  uniqueMeshName,
  type TestControlPlane,
} from './support/control-plane';
import { trellis as trellisCli } from './support/cli';
import { createCanaryMesh, envoyNode, SidecarProxy, WEB_SERVICE } from './support/mesh';

/**
 * Header rules through `/v1`, over real HTTP against the real control plane: what a user sets
 * is versioned, in the history, revertible and deleted with its route; the App Mesh route stays
 * exactly what the SDK wrote; bad and hostile input is refused in App Mesh's error format and
 * changes nothing; and a proxy receives the headers over ADS, and loses them.
 */

const RULE = {
  requestHeadersToAdd: [
    { name: 'x-customer', value: 'acme' },
    { name: 'x-forwarded-host', value: '%REQ(:authority)%' },
  ],
  requestHeadersToRemove: ['x-debug'],
  responseHeadersToAdd: [{ name: 'strict-transport-security', value: 'max-age=63072000' }],
  responseHeadersToRemove: ['server'],
};

interface RuleData {
  meshName: string;
  virtualRouterName?: string;
  routeName?: string;
  spec: unknown;
  metadata: { version: number; arn: string };
  status: { status: string };
}

describe('header rules', () => {
  let trellis: TestControlPlane;
  const proxies: SidecarProxy[] = [];
  beforeAll(async () => {
    trellis = await startTestControlPlane();
  });
  afterEach(() => {
    for (const proxy of proxies.splice(0)) proxy.close();
  });
  afterAll(() => trellis.close());

  async function canaryMesh(): Promise<string> {
    const meshName = uniqueMeshName('headers');
    await createCanaryMesh(trellis.appMesh, meshName, { 'web-v1': 100, 'web-v2': 0 });
    return meshName;
  }

  const rulePath = (meshName: string, route = 'canary') =>
    `${trellis.httpUrl}/v1/meshes/${meshName}/virtualRouters/web/routes/${route}/headers`;

  function send(
    url: string,
    method: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Response> {
    return fetch(url, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
  }

  async function expectError(response: Response, status: number, type: string, message: string) {
    expect([response.status, response.headers.get('x-amzn-errortype')]).toEqual([status, type]);
    expect(((await response.json()) as { message: string }).message).toContain(message);
  }

  const describeRoute = (meshName: string) =>
    trellis.appMesh.send(
      new DescribeRouteCommand({ meshName, virtualRouterName: 'web', routeName: 'canary' }),
    );

  it('is its own versioned resource: the route stays as the SDK wrote it, the history shows each change', async () => {
    const meshName = await canaryMesh();
    const routeBefore = await describeRoute(meshName);
    const revisionBefore = await meshRevision(trellis.db, meshName);

    const created = await send(rulePath(meshName), 'PUT', RULE);
    expect(created.status).toBe(200);
    expect(created.headers.get('etag')).toBe('"1"');
    expect(created.headers.get('x-trellis-mesh-revision')).toBe(String(revisionBefore + 1));
    const data = (await created.json()) as RuleData;
    expect(data).toMatchObject({
      meshName,
      virtualRouterName: 'web',
      routeName: 'canary',
      spec: RULE,
      metadata: { version: 1 },
      status: { status: 'ACTIVE' },
    });
    expect(data.metadata.arn).toBe(
      `arn:aws:trellis:eu-west-1:111122223333:mesh/${meshName}/virtualRouter/web/route/canary/headerRule`,
    );
    expect(await (await send(rulePath(meshName), 'GET')).json()).toEqual(data);

    // The App Mesh route: same spec, same version, same metadata.
    const routeAfter = await describeRoute(meshName);
    expect(routeAfter.route).toEqual(routeBefore.route);

    // The same rule again writes nothing; a changed one is version 2; a stale If-Match is refused.
    const again = await send(rulePath(meshName), 'PUT', RULE);
    expect(again.headers.get('x-trellis-mesh-revision')).toBe(String(revisionBefore + 1));
    const changed = { ...RULE, responseHeadersToRemove: ['server', 'x-powered-by'] };
    const updated = await send(rulePath(meshName), 'PUT', changed, { 'if-match': '"1"' });
    expect([updated.status, updated.headers.get('etag')]).toEqual([200, '"2"']);
    await expectError(
      await send(rulePath(meshName), 'PUT', RULE, { 'if-match': '"1"' }),
      412,
      'PreconditionFailedException',
      'is at version 2, not 1 (If-Match)',
    );

    const history = (await (
      await send(`${trellis.httpUrl}/v1/meshes/${meshName}/history?kind=routeHeaderRule`, 'GET')
    ).json()) as { changes: Array<{ operation: string; resource: string; after: unknown }> };
    expect(history.changes.map((change) => change.operation)).toEqual(['UPDATE', 'CREATE']);
    expect(history.changes[0]).toMatchObject({
      resource: `mesh/${meshName}/virtualRouter/web/route/canary/headerRule`,
      after: { spec: changed, version: 2 },
    });
  });

  it('is deleted with its route, and a revert brings both back', async () => {
    const meshName = await canaryMesh();
    await send(rulePath(meshName), 'PUT', RULE);
    const beforeDelete = await meshRevision(trellis.db, meshName);
    await trellis.appMesh.send(
      new DeleteRouteCommand({ meshName, virtualRouterName: 'web', routeName: 'canary' }),
    );
    await expectError(
      await send(rulePath(meshName), 'GET'),
      404,
      'NotFoundException',
      'Route with name canary is not present under virtual router web',
    );
    const history = (await (
      await send(`${trellis.httpUrl}/v1/meshes/${meshName}/history?limit=2`, 'GET')
    ).json()) as { changes: Array<{ kind: string; operation: string; reason: string | null }> };
    expect(history.changes).toMatchObject([
      { kind: 'route', operation: 'DELETE', reason: null },
      { kind: 'routeHeaderRule', operation: 'DELETE', reason: 'deleted with Route web/canary' },
    ]);

    const revert = await send(
      `${trellis.httpUrl}/v1/meshes/${meshName}/revisions/${beforeDelete}/revert`,
      'POST',
    );
    expect(revert.status).toBe(200);
    expect(((await (await send(rulePath(meshName), 'GET')).json()) as RuleData).spec).toEqual(RULE);
  });

  it('deletes a rule on its own, leaving the route', async () => {
    const meshName = await canaryMesh();
    await send(rulePath(meshName), 'PUT', RULE);
    await expectError(
      await send(rulePath(meshName), 'DELETE', undefined, { 'if-match': '"7"' }),
      412,
      'PreconditionFailedException',
      'is at version 1, not 7',
    );
    const deleted = await send(rulePath(meshName), 'DELETE', undefined, { 'if-match': '"1"' });
    expect(deleted.status).toBe(200);
    expect(((await deleted.json()) as RuleData).status).toEqual({ status: 'DELETED' });
    await expectError(
      await send(rulePath(meshName), 'GET'),
      404,
      'NotFoundException',
      `Route web/canary in mesh ${meshName} has no header rule`,
    );
    expect((await describeRoute(meshName)).route?.status?.status).toBe('ACTIVE');
  });

  it.each<[string, string, unknown, number, string, string]>([
    [
      'an empty rule',
      'canary',
      {},
      400,
      'BadRequestException',
      'adds or removes at least one header',
    ],
    [
      'a pseudo-header',
      'canary',
      { requestHeadersToRemove: [':authority'] },
      400,
      'BadRequestException',
      'requestHeadersToRemove[0]: :authority is a pseudo-header',
    ],
    [
      'host',
      'canary',
      { requestHeadersToAdd: [{ name: 'Host', value: 'x' }] },
      400,
      'BadRequestException',
      'requestHeadersToAdd[0].name: Envoy does not let a route add or remove host',
    ],
    [
      'an unknown formatter',
      'canary',
      { requestHeadersToAdd: [{ name: 'x-a', value: '%DYNAMIC_METADATA(a:b)%' }] },
      400,
      'BadRequestException',
      'requestHeadersToAdd[0].value: %DYNAMIC_METADATA(a:b)%: not a formatter Trellis accepts',
    ],
    [
      'a header injection',
      'canary',
      { requestHeadersToAdd: [{ name: 'x-a', value: 'a\r\nx-admin: yes' }] },
      400,
      'BadRequestException',
      'requestHeadersToAdd[0].value: must not contain line breaks',
    ],
    [
      'a __proto__ key',
      'canary',
      '{"__proto__": {"requestHeadersToRemove": ["x"]}}',
      400,
      'BadRequestException',
      '__proto__: unknown field',
    ],
    [
      'a NUL character',
      'canary',
      '{"requestHeadersToRemove": ["x-a\\u0000"]}',
      400,
      'BadRequestException',
      'NUL',
    ],
    [
      'a route that does not exist',
      'nope',
      RULE,
      404,
      'NotFoundException',
      'Route with name nope is not present under virtual router web',
    ],
  ])('refuses %s and changes nothing', async (_case, route, body, status, type, message) => {
    const meshName = await canaryMesh();
    const before = await meshContents(trellis.db, meshName);
    await expectError(await send(rulePath(meshName, route), 'PUT', body), status, type, message);
    expect(await meshContents(trellis.db, meshName)).toEqual(before);
  });

  it('refuses a huge body with 413 and stays up', async () => {
    const meshName = await canaryMesh();
    const huge = {
      requestHeadersToAdd: [{ name: 'x-a', value: 'v'.repeat(20 * 1024 * 1024) }],
    };
    const response = await send(rulePath(meshName), 'PUT', huge);
    expect(response.status).toBe(413);
    expect((await send(rulePath(meshName), 'PUT', RULE)).status).toBe(200);
  });

  it('keeps 50 concurrent writers consistent: each write is one version', async () => {
    const meshName = await canaryMesh();
    const revisionBefore = await meshRevision(trellis.db, meshName);
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, index) =>
        send(rulePath(meshName), 'PUT', {
          requestHeadersToAdd: [{ name: 'x-writer', value: String(index) }],
        }),
      ),
    );
    expect(answers.map((answer) => answer.status)).toEqual(Array(50).fill(200));
    const versions = answers.map((answer) => Number(answer.headers.get('etag')!.slice(1, -1)));
    expect([...versions].sort((a, b) => a - b)).toEqual(
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    expect(await meshRevision(trellis.db, meshName)).toBe(revisionBefore + 50);
    const final = (await (await send(rulePath(meshName), 'GET')).json()) as RuleData;
    expect(final.metadata.version).toBe(50);
  });

  it('trellis headers set, get and delete, and trellis history lists the changes', async () => {
    const meshName = await canaryMesh();
    const env = { TRELLIS_ENDPOINT: trellis.httpUrl };
    const target = ['--mesh', meshName, '--router', 'web', '--route', 'canary'];
    const set = await trellisCli(
      [
        'headers',
        'set',
        ...target,
        '--add',
        'x-customer=acme',
        '--append',
        'via=edge=1',
        '--remove',
        'x-debug',
        '--response-remove',
        'server',
      ],
      env,
    );
    expect(set).toMatchObject({ code: 0, stderr: '' });
    expect(set.stdout).toContain(
      `Route canary (virtual router web, mesh ${meshName}): header rule version 1`,
    );
    expect(((await (await send(rulePath(meshName), 'GET')).json()) as RuleData).spec).toEqual({
      requestHeadersToAdd: [
        { name: 'x-customer', value: 'acme' },
        { name: 'via', value: 'edge=1', append: true },
      ],
      requestHeadersToRemove: ['x-debug'],
      responseHeadersToRemove: ['server'],
    });

    const get = await trellisCli(['headers', 'get', ...target], env);
    expect(get.code).toBe(0);
    expect(get.stdout.split('\n')).toEqual(
      expect.arrayContaining([
        '  request  set    x-customer: acme',
        '  request  append via: edge=1',
        '  request  remove x-debug',
        '  response remove server',
      ]),
    );

    const refused = await trellisCli(['headers', 'set', ...target, '--add', 'host=evil'], env);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('Envoy does not let a route add or remove host');

    const deleted = await trellisCli(['headers', 'delete', ...target], env);
    expect(deleted).toMatchObject({ code: 0 });
    expect(deleted.stdout).toContain('header rule deleted');

    const history = await trellisCli(['history', '--mesh', meshName, '-o', 'json'], env);
    const changes = (
      JSON.parse(history.stdout) as { changes: Array<{ kind: string; operation: string }> }
    ).changes;
    expect(changes.slice(0, 2)).toMatchObject([
      { kind: 'routeHeaderRule', operation: 'DELETE' },
      { kind: 'routeHeaderRule', operation: 'CREATE' },
    ]);
    const text = await trellisCli(['history', '--mesh', meshName], env);
    expect(text.stdout).toMatch(/CREATE\s+routeHeaderRule web\/canary/);
  });

  describe('over ADS', () => {
    function egressRoute(proxy: SidecarProxy, name: string): Route | undefined {
      for (const config of proxy.routes.values()) {
        for (const host of config.virtualHosts ?? []) {
          const route = host.routes?.find((candidate) => candidate.name === name);
          if (route) return route;
        }
      }
      return undefined;
    }
    const added = (route: Route | undefined) =>
      (route?.requestHeadersToAdd ?? []).map((option) => [
        option.header?.key,
        option.header?.value,
      ]);

    it("a client's sidecar receives a route's headers after the rule is set and loses them after it is deleted", async () => {
      const meshName = await canaryMesh();
      const front = new SidecarProxy('delta', envoyNode(meshName, 'front'));
      proxies.push(front);
      await front.connect(trellis.xds!.port).sync();
      expect(egressRoute(front, 'canary')).toBeDefined();
      expect(added(egressRoute(front, 'canary'))).toEqual([]);

      await send(rulePath(meshName), 'PUT', RULE);
      await front.until(() => added(egressRoute(front, 'canary')).length > 0);
      const route = egressRoute(front, 'canary')!;
      expect(added(route)).toEqual([
        ['x-customer', 'acme'],
        ['x-forwarded-host', '%REQ(:authority)%'],
      ]);
      expect(route.requestHeadersToRemove).toEqual(['x-debug']);
      expect(route.responseHeadersToRemove).toEqual(['server']);

      await send(rulePath(meshName), 'DELETE');
      await front.until(() => added(egressRoute(front, 'canary')).length === 0);
      expect(egressRoute(front, 'canary')?.responseHeadersToRemove ?? []).toEqual([]);
    });

    it("per-tenant hostnames: the gateway's ingress route adds each tenant's x-customer", async () => {
      const meshName = await canaryMesh();
      await trellis.appMesh.send(
        new CreateVirtualGatewayCommand({
          meshName,
          virtualGatewayName: 'ingress',
          spec: { listeners: [{ portMapping: { port: 8088, protocol: 'http' } }] },
        }),
      );
      for (const tenant of ['acme', 'globex']) {
        await trellis.appMesh.send(
          new CreateGatewayRouteCommand({
            meshName,
            virtualGatewayName: 'ingress',
            gatewayRouteName: tenant,
            spec: {
              httpRoute: {
                match: { prefix: '/', hostname: { exact: `${tenant}.api.example.com` } },
                action: { target: { virtualService: { virtualServiceName: WEB_SERVICE } } },
              },
            },
          }),
        );
      }
      const gateway = new SidecarProxy(
        'sotw',
        envoyNode(meshName, 'ingress', undefined, 'virtualGateway'),
      );
      proxies.push(gateway);
      await gateway.connect(trellis.xds!.port).sync();
      for (const tenant of ['acme', 'globex']) {
        const response = await send(
          `${trellis.httpUrl}/v1/meshes/${meshName}/virtualGateways/ingress/gatewayRoutes/${tenant}/headers`,
          'PUT',
          { requestHeadersToAdd: [{ name: 'x-customer', value: tenant }] },
        );
        expect(response.status).toBe(200);
      }
      await gateway.until(() =>
        ['acme', 'globex'].every((tenant) =>
          added(egressRoute(gateway, tenant)).some(([key]) => key === 'x-customer'),
        ),
      );
      for (const tenant of ['acme', 'globex']) {
        expect(added(egressRoute(gateway, tenant))).toContainEqual(['x-customer', tenant]);
      }
    });
  });
});
