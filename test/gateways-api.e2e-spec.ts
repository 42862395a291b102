import {
  BadRequestException,
  ConflictException,
  CreateGatewayRouteCommand,
  CreateVirtualGatewayCommand,
  CreateVirtualRouterCommand,
  CreateVirtualServiceCommand,
  DeleteGatewayRouteCommand,
  DeleteVirtualGatewayCommand,
  DeleteVirtualServiceCommand,
  DescribeGatewayRouteCommand,
  DescribeVirtualGatewayCommand,
  ListGatewayRoutesCommand,
  ListTagsForResourceCommand,
  ListVirtualGatewaysCommand,
  NotFoundException,
  ResourceInUseException,
  UpdateGatewayRouteCommand,
  UpdateVirtualGatewayCommand,
  paginateListGatewayRoutes,
  type GatewayRouteSpec,
  type VirtualGatewaySpec,
} from '@aws-sdk/client-app-mesh';
import {
  startTestControlPlane,
  TEST_ACCOUNT_ID,
  TEST_REGION,
  uniqueMeshName,
  type TestControlPlane,
} from './support/control-plane';
import { createCanaryMesh, WEB_SERVICE } from './support/mesh';

const gatewaySpec: VirtualGatewaySpec = {
  listeners: [
    {
      portMapping: { port: 8080, protocol: 'http' },
      healthCheck: {
        protocol: 'http',
        path: '/ping',
        healthyThreshold: 2,
        unhealthyThreshold: 2,
        intervalMillis: 5000,
        timeoutMillis: 2000,
      },
      connectionPool: { http: { maxConnections: 100, maxPendingRequests: 10 } },
    },
    { portMapping: { port: 9090, protocol: 'grpc' } },
  ],
  backendDefaults: {
    clientPolicy: {
      tls: {
        enforce: true,
        ports: [443],
        validation: { trust: { file: { certificateChain: '/certs/ca.pem' } } },
      },
    },
  },
  logging: { accessLog: { file: { path: '/dev/stdout' } } },
};

const routeTo = (virtualServiceName: string, prefix = '/'): GatewayRouteSpec => ({
  priority: 10,
  httpRoute: {
    match: {
      prefix,
      hostname: { suffix: '.example.com' },
      headers: [{ name: 'x-tenant', match: { exact: 'acme' } }],
      queryParameters: [{ name: 'debug', match: { exact: 'true' } }],
      method: 'GET',
    },
    action: {
      target: { virtualService: { virtualServiceName } },
      rewrite: { prefix: { value: '/v2/' }, hostname: { defaultTargetHostname: 'DISABLED' } },
    },
  },
});

describe('virtual gateways and gateway routes through @aws-sdk/client-app-mesh', () => {
  let trellis: TestControlPlane;
  beforeAll(async () => {
    trellis = await startTestControlPlane();
  });
  afterAll(() => trellis.close());

  /** The canary mesh of test/support/mesh.ts: `web.local` provided by the router `web`. */
  async function meshWithService(prefix: string): Promise<string> {
    const meshName = uniqueMeshName(prefix);
    await createCanaryMesh(trellis.appMesh, meshName, { 'web-v1': 100, 'web-v2': 0 });
    return meshName;
  }

  it('creates, describes, updates, lists and deletes a gateway and its routes with App Mesh shapes', async () => {
    const { appMesh } = trellis;
    const meshName = await meshWithService('gateway');
    const gatewayArn = `arn:aws:appmesh:${TEST_REGION}:${TEST_ACCOUNT_ID}:mesh/${meshName}/virtualGateway/ingress`;

    const created = await appMesh.send(
      new CreateVirtualGatewayCommand({
        meshName,
        virtualGatewayName: 'ingress',
        spec: gatewaySpec,
        tags: [{ key: 'team', value: 'edge' }],
      }),
    );
    expect(created.virtualGateway).toMatchObject({
      meshName,
      virtualGatewayName: 'ingress',
      spec: gatewaySpec,
      status: { status: 'ACTIVE' },
      metadata: {
        arn: gatewayArn,
        version: 1,
        meshOwner: TEST_ACCOUNT_ID,
        resourceOwner: TEST_ACCOUNT_ID,
      },
    });
    expect(created.virtualGateway?.metadata?.createdAt).toBeInstanceOf(Date);

    const described = await appMesh.send(
      new DescribeVirtualGatewayCommand({ meshName, virtualGatewayName: 'ingress' }),
    );
    // The spec comes back verbatim.
    expect(described.virtualGateway?.spec).toEqual(gatewaySpec);
    expect(
      (await appMesh.send(new ListTagsForResourceCommand({ resourceArn: gatewayArn }))).tags,
    ).toEqual([{ key: 'team', value: 'edge' }]);

    const route = await appMesh.send(
      new CreateGatewayRouteCommand({
        meshName,
        virtualGatewayName: 'ingress',
        gatewayRouteName: 'web',
        spec: routeTo(WEB_SERVICE, '/web/'),
      }),
    );
    expect(route.gatewayRoute).toMatchObject({
      meshName,
      virtualGatewayName: 'ingress',
      gatewayRouteName: 'web',
      spec: routeTo(WEB_SERVICE, '/web/'),
      metadata: { arn: `${gatewayArn}/gatewayRoute/web`, version: 1 },
      status: { status: 'ACTIVE' },
    });
    const grpc: GatewayRouteSpec = {
      grpcRoute: {
        match: { serviceName: 'shop.Catalog', metadata: [{ name: 'x-tenant', invert: true }] },
        action: { target: { virtualService: { virtualServiceName: WEB_SERVICE } } },
      },
    };
    await appMesh.send(
      new CreateGatewayRouteCommand({
        meshName,
        virtualGatewayName: 'ingress',
        gatewayRouteName: 'catalog',
        spec: grpc,
      }),
    );

    const updated = await appMesh.send(
      new UpdateGatewayRouteCommand({
        meshName,
        virtualGatewayName: 'ingress',
        gatewayRouteName: 'web',
        spec: routeTo(WEB_SERVICE, '/shop/'),
      }),
    );
    expect(updated.gatewayRoute?.metadata?.version).toBe(2);
    expect(
      (
        await appMesh.send(
          new DescribeGatewayRouteCommand({
            meshName,
            virtualGatewayName: 'ingress',
            gatewayRouteName: 'web',
          }),
        )
      ).gatewayRoute?.spec,
    ).toEqual(routeTo(WEB_SERVICE, '/shop/'));

    const gatewayUpdate = await appMesh.send(
      new UpdateVirtualGatewayCommand({
        meshName,
        virtualGatewayName: 'ingress',
        spec: { ...gatewaySpec, logging: undefined },
      }),
    );
    expect(gatewayUpdate.virtualGateway?.metadata?.version).toBe(2);
    expect(gatewayUpdate.virtualGateway?.spec?.logging).toBeUndefined();

    expect(
      (await appMesh.send(new ListVirtualGatewaysCommand({ meshName }))).virtualGateways,
    ).toEqual([
      expect.objectContaining({
        meshName,
        virtualGatewayName: 'ingress',
        arn: gatewayArn,
        version: 2,
        meshOwner: TEST_ACCOUNT_ID,
        resourceOwner: TEST_ACCOUNT_ID,
      }),
    ]);
    const listed = await appMesh.send(
      new ListGatewayRoutesCommand({ meshName, virtualGatewayName: 'ingress' }),
    );
    expect(listed.gatewayRoutes?.map((r) => [r.gatewayRouteName, r.version])).toEqual(
      expect.arrayContaining([
        ['catalog', 1],
        ['web', 2],
      ]),
    );

    // Rules between resources: a targeted service and a gateway with routes stay.
    await expect(
      appMesh.send(new DeleteVirtualServiceCommand({ meshName, virtualServiceName: WEB_SERVICE })),
    ).rejects.toBeInstanceOf(ResourceInUseException);
    await expect(
      appMesh.send(new DeleteVirtualGatewayCommand({ meshName, virtualGatewayName: 'ingress' })),
    ).rejects.toBeInstanceOf(ResourceInUseException);

    for (const gatewayRouteName of ['web', 'catalog']) {
      const deleted = await appMesh.send(
        new DeleteGatewayRouteCommand({
          meshName,
          virtualGatewayName: 'ingress',
          gatewayRouteName,
        }),
      );
      expect(deleted.gatewayRoute?.status?.status).toBe('DELETED');
    }
    const deletedGateway = await appMesh.send(
      new DeleteVirtualGatewayCommand({ meshName, virtualGatewayName: 'ingress' }),
    );
    expect(deletedGateway.virtualGateway).toMatchObject({
      virtualGatewayName: 'ingress',
      status: { status: 'DELETED' },
    });
    await expect(
      appMesh.send(new DescribeVirtualGatewayCommand({ meshName, virtualGatewayName: 'ingress' })),
    ).rejects.toBeInstanceOf(NotFoundException);
    await appMesh.send(
      new DeleteVirtualServiceCommand({ meshName, virtualServiceName: WEB_SERVICE }),
    );

    // Every write is in the mesh's change log, gateways included.
    const history = (await (
      await fetch(`${trellis.httpUrl}/v1/meshes/${meshName}/history?kind=gatewayRoute`)
    ).json()) as { changes: Array<{ operation: string; name: string; resource: string }> };
    expect(history.changes.map((c) => [c.operation, c.name])).toEqual([
      ['DELETE', 'catalog'],
      ['DELETE', 'web'],
      ['UPDATE', 'web'],
      ['CREATE', 'catalog'],
      ['CREATE', 'web'],
    ]);
    expect(history.changes[0]!.resource).toBe(
      `mesh/${meshName}/virtualGateway/ingress/gatewayRoute/catalog`,
    );
  });

  it('pages gateway routes, answers a repeated clientToken with the same resource and enforces the rules', async () => {
    const { appMesh } = trellis;
    const meshName = await meshWithService('gateway-pages');
    await appMesh.send(
      new CreateVirtualGatewayCommand({ meshName, virtualGatewayName: 'edge', spec: gatewaySpec }),
    );
    for (let i = 0; i < 5; i += 1) {
      await appMesh.send(
        new CreateGatewayRouteCommand({
          meshName,
          virtualGatewayName: 'edge',
          gatewayRouteName: `r${i}`,
          spec: routeTo(WEB_SERVICE, `/p${i}/`),
        }),
      );
    }
    const names: string[] = [];
    let pages = 0;
    for await (const page of paginateListGatewayRoutes(
      { client: appMesh, pageSize: 2 },
      { meshName, virtualGatewayName: 'edge' },
    )) {
      pages += 1;
      names.push(...(page.gatewayRoutes ?? []).map((r) => r.gatewayRouteName!));
    }
    expect(pages).toBe(3);
    expect(names.sort()).toEqual(['r0', 'r1', 'r2', 'r3', 'r4']);

    const request = {
      meshName,
      virtualGatewayName: 'edge',
      gatewayRouteName: 'once',
      spec: routeTo(WEB_SERVICE, '/once/'),
      clientToken: `token-${meshName}`,
    };
    const first = await appMesh.send(new CreateGatewayRouteCommand(request));
    const again = await appMesh.send(new CreateGatewayRouteCommand(request));
    expect(again.gatewayRoute?.metadata?.uid).toBe(first.gatewayRoute?.metadata?.uid);
    await expect(
      appMesh.send(new CreateGatewayRouteCommand({ ...request, clientToken: undefined })),
    ).rejects.toBeInstanceOf(ConflictException);

    // The target's provider with two listeners needs a target port, one of its ports.
    await appMesh.send(
      new CreateVirtualRouterCommand({
        meshName,
        virtualRouterName: 'multi',
        spec: {
          listeners: [
            { portMapping: { port: 80, protocol: 'http' } },
            { portMapping: { port: 81, protocol: 'http' } },
          ],
        },
      }),
    );
    await appMesh.send(
      new CreateVirtualServiceCommand({
        meshName,
        virtualServiceName: 'multi.internal',
        spec: { provider: { virtualRouter: { virtualRouterName: 'multi' } } },
      }),
    );
    const toMulti = (port?: number): GatewayRouteSpec => ({
      httpRoute: {
        match: { prefix: '/multi/' },
        action: {
          target: { virtualService: { virtualServiceName: 'multi.internal' }, port },
        },
      },
    });
    const multi = { meshName, virtualGatewayName: 'edge', gatewayRouteName: 'multi' };
    await expect(
      appMesh.send(new CreateGatewayRouteCommand({ ...multi, spec: toMulti() })),
    ).rejects.toThrow(/spec\.httpRoute\.action\.target\.port: is required/);
    await expect(
      appMesh.send(new CreateGatewayRouteCommand({ ...multi, spec: toMulti(82) })),
    ).rejects.toBeInstanceOf(BadRequestException);
    const accepted = await appMesh.send(
      new CreateGatewayRouteCommand({ ...multi, spec: toMulti(81) }),
    );
    expect(accepted.gatewayRoute?.spec).toEqual(toMulti(81));

    await expect(
      appMesh.send(
        new CreateGatewayRouteCommand({
          ...multi,
          gatewayRouteName: 'reserved',
          spec: {
            ...toMulti(81),
            httpRoute: { ...toMulti(81).httpRoute!, match: { prefix: '/aws-appmesh/x' } },
          },
        }),
      ),
    ).rejects.toThrow(/reserved/);
  });
});
