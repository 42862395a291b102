import {
  CreateGatewayRouteCommand,
  CreateMeshCommand,
  CreateRouteCommand,
  CreateVirtualGatewayCommand,
  CreateVirtualNodeCommand,
  CreateVirtualRouterCommand,
  CreateVirtualServiceCommand,
  DescribeGatewayRouteCommand,
  DescribeVirtualGatewayCommand,
  UpdateGatewayRouteCommand,
  type GatewayRouteSpec,
  type RouteSpec,
  type VirtualGatewaySpec,
  type VirtualNodeSpec,
  type VirtualRouterSpec,
} from '@aws-sdk/client-app-mesh';
import type { RouteConfiguration } from '../libs/envoy-api/generated/envoy/config/route/v3/route';
import type { Route } from '../libs/envoy-api/generated/envoy/config/route/v3/route_components';
import { trellis as trellisCli } from './support/cli';
import {
  meshRevision,
  startTestControlPlane,
  uniqueMeshName,
  type TestControlPlane,
} from './support/control-plane';
import {
  createCanaryMesh,
  envoyNode,
  proxiesWhen,
  routeWeights,
  SidecarProxy,
  WEB_SERVICE,
} from './support/mesh';
import { eventually } from './support/xds';

/**
 * Virtual gateways over xDS: the gateway and gateway route specs of AWS's App Mesh walkthroughs
 * (aws-app-mesh-examples, placeholders filled in), written through the AWS SDK, and what the
 * gateway's Envoy receives for them over ADS; then a gateway following UpdateGatewayRoute and a
 * weight change on its target's route, counted by `trellis weights set --wait`.
 */

const EGRESS_LISTENER = 'lds_egress_127.0.0.1_15001';
const EGRESS_ROUTES = 'rds_egress_self_redirect_15001';

/** One walkthrough's resources, created in dependency order. */
interface Walkthrough {
  virtualNodes: Record<string, VirtualNodeSpec>;
  virtualRouters?: Record<string, VirtualRouterSpec>;
  routes?: Record<string, Record<string, RouteSpec>>;
  /** Virtual service name (with `<mesh>` for the mesh name) → router or node providing it. */
  virtualServices: Record<string, { router: string } | { node: string }>;
  gateway: { name: string; spec: VirtualGatewaySpec };
  gatewayRoutes: Record<string, GatewayRouteSpec>;
  /** What the gateway's Envoy receives, names with `<mesh>` for the mesh name. */
  expected: {
    listeners: string[];
    /** Ingress route configuration → gateway route names in match order. */
    ingressRoutes: Record<string, string[]>;
    clusters: string[];
  };
}

const http = (port: number) => ({ portMapping: { port, protocol: 'http' as const } });
const dns = (hostname: string) => ({ dns: { hostname } });
const target = (virtualServiceName: string, port?: number) => ({
  virtualService: { virtualServiceName },
  ...(port !== undefined && { port }),
});
const weighted = (...targets: Array<[string, number, number?]>) =>
  targets.map(([virtualNode, weight, port]) => ({
    virtualNode,
    weight,
    ...(port !== undefined && { port }),
  }));
const pingHealthCheck = {
  protocol: 'http' as const,
  path: '/ping',
  healthyThreshold: 2,
  unhealthyThreshold: 2,
  timeoutMillis: 2000,
  intervalMillis: 5000,
};

const WALKTHROUGHS: Record<string, Walkthrough> = {
  // walkthroughs/howto-ingress-gateway: colorteller white/blue/red behind a router, /color in.
  'howto-ingress-gateway': {
    virtualNodes: Object.fromEntries(
      ['white', 'blue', 'red'].map((color) => [
        `colorteller-${color}-vn`,
        {
          listeners: [{ ...http(9080), healthCheck: pingHealthCheck }],
          serviceDiscovery: dns(`colorteller-${color}.howto-ingress-gateway.local`),
        },
      ]),
    ),
    virtualRouters: { 'colorteller-vr': { listeners: [http(9080)] } },
    routes: {
      'colorteller-vr': {
        'colorteller-route': {
          httpRoute: {
            match: { prefix: '/' },
            action: {
              weightedTargets: weighted(
                ['colorteller-white-vn', 1],
                ['colorteller-blue-vn', 1],
                ['colorteller-red-vn', 1],
              ),
            },
          },
        },
      },
    },
    virtualServices: { 'colorteller.howto-ingress-gateway.local': { router: 'colorteller-vr' } },
    gateway: { name: 'colorgateway-vg', spec: { listeners: [http(9080)] } },
    gatewayRoutes: {
      'colorgateway-route': {
        httpRoute: {
          match: { prefix: '/color' },
          action: { target: target('colorteller.howto-ingress-gateway.local') },
        },
      },
    },
    expected: {
      listeners: [EGRESS_LISTENER, 'lds_ingress_0.0.0.0_9080'],
      ingressRoutes: { rds_ingress_http_9080: ['colorgateway-route'] },
      clusters: [
        'cds_egress_<mesh>_colorteller-blue-vn_http_9080',
        'cds_egress_<mesh>_colorteller-red-vn_http_9080',
        'cds_egress_<mesh>_colorteller-white-vn_http_9080',
        'cds_ingress_<mesh>_colorgateway-vg_self_redirect_http_15001',
      ],
    },
  },

  // walkthroughs/howto-match-and-rewrite-at-ingress: hostname, header, query and path matches,
  // each rewrite option, priorities.
  'howto-match-and-rewrite-at-ingress': {
    virtualNodes: Object.fromEntries(
      ['red', 'blue', 'green'].map((color) => [
        `color-${color}`,
        { listeners: [http(8080)], serviceDiscovery: dns(`color-${color}.howto-rewrite.local`) },
      ]),
    ),
    virtualRouters: { 'color-router': { listeners: [http(8080)] } },
    routes: {
      'color-router': {
        'paint-red': {
          httpRoute: {
            match: { prefix: '/paint/red' },
            action: { weightedTargets: weighted(['color-red', 1]) },
          },
        },
        'paint-blue': {
          httpRoute: {
            match: { prefix: '/paint/blue' },
            action: { weightedTargets: weighted(['color-blue', 1]) },
          },
        },
        'paint-any': {
          httpRoute: {
            match: { prefix: '/' },
            action: { weightedTargets: weighted(['color-green', 1]) },
          },
        },
      },
    },
    virtualServices: { 'color.howto-rewrite.local': { router: 'color-router' } },
    gateway: { name: 'ingress-gw', spec: { listeners: [http(8088)] } },
    gatewayRoutes: {
      'red-by-hostname': {
        priority: 0,
        httpRoute: {
          match: { prefix: '/red', hostname: { exact: 'www.example.com' } },
          action: {
            target: target('color.howto-rewrite.local'),
            rewrite: { prefix: { value: '/paint/red' } },
          },
        },
      },
      'blue-by-path': {
        priority: 1,
        httpRoute: {
          match: { path: { exact: '/blue' } },
          action: {
            target: target('color.howto-rewrite.local'),
            rewrite: { path: { exact: '/paint/blue' } },
          },
        },
      },
      'green-by-header': {
        priority: 2,
        httpRoute: {
          match: {
            prefix: '/',
            method: 'GET',
            headers: [{ name: 'color_header', match: { exact: 'green' } }],
            queryParameters: [{ name: 'color_type', match: { exact: 'green' } }],
          },
          action: {
            target: target('color.howto-rewrite.local'),
            rewrite: {
              prefix: { defaultPrefix: 'DISABLED' },
              hostname: { defaultTargetHostname: 'DISABLED' },
            },
          },
        },
      },
      'any-example-host': {
        httpRoute: {
          match: { prefix: '/', hostname: { suffix: '.example.com' } },
          action: { target: target('color.howto-rewrite.local') },
        },
      },
    },
    expected: {
      listeners: [EGRESS_LISTENER, 'lds_ingress_0.0.0.0_8088'],
      ingressRoutes: {
        rds_ingress_http_8088: [
          'red-by-hostname',
          'blue-by-path',
          'green-by-header',
          'any-example-host',
        ],
      },
      clusters: [
        'cds_egress_<mesh>_color-blue_http_8080',
        'cds_egress_<mesh>_color-green_http_8080',
        'cds_egress_<mesh>_color-red_http_8080',
        'cds_ingress_<mesh>_ingress-gw_self_redirect_http_15001',
      ],
    },
  },

  // walkthroughs/howto-multiple-listeners: two listeners on the gateway, the router and the node;
  // each gateway route names its match port and its target port.
  'howto-multiple-listeners': {
    virtualNodes: {
      'color-vn': {
        listeners: [http(8080), http(8090)],
        serviceDiscovery: dns('color.howto-multiple-listeners.local'),
      },
    },
    virtualRouters: { 'color-vr': { listeners: [http(8080), http(8090)] } },
    routes: {
      'color-vr': {
        'route-8080': {
          httpRoute: {
            match: { prefix: '/', port: 8080 },
            action: { weightedTargets: weighted(['color-vn', 1, 8080]) },
          },
        },
        'route-8090': {
          httpRoute: {
            match: { prefix: '/', port: 8090 },
            action: { weightedTargets: weighted(['color-vn', 1, 8090]) },
          },
        },
      },
    },
    virtualServices: { 'color.howto-multiple-listeners.local': { router: 'color-vr' } },
    gateway: { name: 'gateway-vg', spec: { listeners: [http(9080), http(9090)] } },
    gatewayRoutes: {
      'gateway-route-9080': {
        httpRoute: {
          match: { prefix: '/', port: 9080 },
          action: { target: target('color.howto-multiple-listeners.local', 8080) },
        },
      },
      'gateway-route-9090': {
        httpRoute: {
          match: { prefix: '/', port: 9090 },
          action: { target: target('color.howto-multiple-listeners.local', 8090) },
        },
      },
    },
    expected: {
      listeners: [EGRESS_LISTENER, 'lds_ingress_0.0.0.0_9080', 'lds_ingress_0.0.0.0_9090'],
      ingressRoutes: {
        rds_ingress_http_9080: ['gateway-route-9080'],
        rds_ingress_http_9090: ['gateway-route-9090'],
      },
      clusters: [
        'cds_egress_<mesh>_color-vn_http_8080',
        'cds_egress_<mesh>_color-vn_http_8090',
        'cds_ingress_<mesh>_gateway-vg_self_redirect_9080_http_15001',
        'cds_ingress_<mesh>_gateway-vg_self_redirect_9090_http_15001',
      ],
    },
  },

  // walkthroughs/howto-timeout-policy: a 60 s route timeout behind the gateway.
  'howto-timeout-policy': {
    virtualNodes: {
      'color-vn': {
        listeners: [
          {
            ...http(8080),
            timeout: {
              http: { perRequest: { unit: 's', value: 60 }, idle: { unit: 's', value: 600 } },
            },
          },
        ],
        serviceDiscovery: dns('color.howto-timeout-policy.local'),
      },
    },
    virtualRouters: { 'color-vr': { listeners: [http(8080)] } },
    routes: {
      'color-vr': {
        'color-route': {
          httpRoute: {
            match: { prefix: '/' },
            timeout: { perRequest: { unit: 's', value: 60 }, idle: { unit: 's', value: 600 } },
            action: { weightedTargets: weighted(['color-vn', 1]) },
          },
        },
      },
    },
    virtualServices: { 'color.howto-timeout-policy.local': { router: 'color-vr' } },
    gateway: { name: 'gateway-vg', spec: { listeners: [http(8080)] } },
    gatewayRoutes: {
      'gateway-route': {
        httpRoute: {
          match: { prefix: '/' },
          action: { target: target('color.howto-timeout-policy.local') },
        },
      },
    },
    expected: {
      listeners: [EGRESS_LISTENER, 'lds_ingress_0.0.0.0_8080'],
      ingressRoutes: { rds_ingress_http_8080: ['gateway-route'] },
      clusters: [
        'cds_egress_<mesh>_color-vn_http_8080',
        'cds_ingress_<mesh>_gateway-vg_self_redirect_http_15001',
      ],
    },
  },

  // walkthroughs/howto-mutual-tls-file-provided: the gateway presents its certificate to the
  // colorteller (mutual TLS from files) through its backend defaults.
  'howto-mutual-tls-file-provided': {
    virtualNodes: {
      'colorteller-white-vn': {
        listeners: [
          {
            ...http(9080),
            tls: {
              mode: 'STRICT',
              certificate: {
                file: {
                  certificateChain: '/keys/colorteller_white_cert_chain.pem',
                  privateKey: '/keys/colorteller_white_key.pem',
                },
              },
              validation: { trust: { file: { certificateChain: '/keys/ca_1_cert.pem' } } },
            },
          },
        ],
        serviceDiscovery: dns('colorteller-white.howto-mutual-tls-file-provided.local'),
      },
    },
    virtualServices: {
      'colorteller.howto-mutual-tls-file-provided.local': { node: 'colorteller-white-vn' },
    },
    gateway: {
      name: 'colorgateway-vg',
      spec: {
        listeners: [http(9080)],
        backendDefaults: {
          clientPolicy: {
            tls: {
              certificate: {
                file: {
                  certificateChain: '/keys/colorgateway_cert_chain.pem',
                  privateKey: '/keys/colorgateway_key.pem',
                },
              },
              validation: { trust: { file: { certificateChain: '/keys/ca_1_cert.pem' } } },
            },
          },
        },
        logging: { accessLog: { file: { path: '/dev/stdout' } } },
      },
    },
    gatewayRoutes: {
      'colorgateway-route': {
        httpRoute: {
          match: { prefix: '/' },
          action: { target: target('colorteller.howto-mutual-tls-file-provided.local') },
        },
      },
    },
    expected: {
      listeners: [EGRESS_LISTENER, 'lds_ingress_0.0.0.0_9080'],
      ingressRoutes: { rds_ingress_http_9080: ['colorgateway-route'] },
      clusters: [
        'cds_egress_<mesh>_colorteller-white-vn_http_9080',
        'cds_ingress_<mesh>_colorgateway-vg_self_redirect_http_15001',
      ],
    },
  },

  // walkthroughs/howto-circuit-breakers: connection pools on the gateway and the node, outlier
  // detection on the node.
  'howto-circuit-breakers': {
    virtualNodes: {
      'color-green-vn': {
        listeners: [
          {
            ...http(8080),
            connectionPool: { http: { maxConnections: 10, maxPendingRequests: 10 } },
            outlierDetection: {
              maxServerErrors: 5,
              maxEjectionPercent: 100,
              interval: { unit: 's', value: 10 },
              baseEjectionDuration: { unit: 's', value: 30 },
            },
          },
        ],
        serviceDiscovery: dns('color-green.howto-circuit-breakers.local'),
      },
    },
    virtualServices: { 'color.howto-circuit-breakers.local': { node: 'color-green-vn' } },
    gateway: {
      name: 'ingress-gw',
      spec: {
        listeners: [
          {
            ...http(8080),
            connectionPool: { http: { maxConnections: 100, maxPendingRequests: 50 } },
          },
        ],
      },
    },
    gatewayRoutes: {
      'color-route': {
        httpRoute: {
          match: { prefix: '/color' },
          action: { target: target('color.howto-circuit-breakers.local') },
        },
      },
    },
    expected: {
      listeners: [EGRESS_LISTENER, 'lds_ingress_0.0.0.0_8080'],
      ingressRoutes: { rds_ingress_http_8080: ['color-route'] },
      clusters: [
        'cds_egress_<mesh>_color-green-vn_http_8080',
        'cds_ingress_<mesh>_ingress-gw_self_redirect_http_15001',
      ],
    },
  },
};

function routeNames(config: RouteConfiguration | undefined): string[] {
  return (config?.virtualHosts ?? []).flatMap((host) =>
    (host.routes ?? []).map((route) => route.name ?? ''),
  );
}

function routeAction(route: Route | undefined) {
  if (route?.action?.$case !== 'route') throw new Error(`route ${route?.name} does not route`);
  return route.action.value;
}

describe('virtual gateways over xDS', () => {
  let trellis: TestControlPlane;
  const proxies: SidecarProxy[] = [];
  beforeAll(async () => {
    trellis = await startTestControlPlane();
  });
  afterEach(() => {
    for (const proxy of proxies.splice(0)) proxy.close();
  });
  afterAll(() => trellis.close());

  function gatewayProxy(meshName: string, gateway: string): SidecarProxy {
    const proxy = new SidecarProxy(
      'sotw',
      envoyNode(meshName, gateway, undefined, 'virtualGateway'),
    );
    proxies.push(proxy);
    return proxy.connect(trellis.xds!.port);
  }

  async function createWalkthrough(meshName: string, walkthrough: Walkthrough): Promise<void> {
    const { appMesh } = trellis;
    await appMesh.send(new CreateMeshCommand({ meshName }));
    for (const [virtualNodeName, spec] of Object.entries(walkthrough.virtualNodes)) {
      await appMesh.send(new CreateVirtualNodeCommand({ meshName, virtualNodeName, spec }));
    }
    for (const [virtualRouterName, spec] of Object.entries(walkthrough.virtualRouters ?? {})) {
      await appMesh.send(new CreateVirtualRouterCommand({ meshName, virtualRouterName, spec }));
    }
    for (const [virtualRouterName, routes] of Object.entries(walkthrough.routes ?? {})) {
      for (const [routeName, spec] of Object.entries(routes)) {
        await appMesh.send(
          new CreateRouteCommand({ meshName, virtualRouterName, routeName, spec }),
        );
      }
    }
    for (const [virtualServiceName, provider] of Object.entries(walkthrough.virtualServices)) {
      await appMesh.send(
        new CreateVirtualServiceCommand({
          meshName,
          virtualServiceName,
          spec: {
            provider:
              'router' in provider
                ? { virtualRouter: { virtualRouterName: provider.router } }
                : { virtualNode: { virtualNodeName: provider.node } },
          },
        }),
      );
    }
    const { name: virtualGatewayName, spec } = walkthrough.gateway;
    await appMesh.send(new CreateVirtualGatewayCommand({ meshName, virtualGatewayName, spec }));
    for (const [gatewayRouteName, routeSpec] of Object.entries(walkthrough.gatewayRoutes)) {
      await appMesh.send(
        new CreateGatewayRouteCommand({
          meshName,
          virtualGatewayName,
          gatewayRouteName,
          spec: routeSpec,
        }),
      );
    }
  }

  it.each(Object.keys(WALKTHROUGHS))(
    'accepts the %s gateway specs verbatim and serves the gateway its listeners, routes and clusters',
    async (name) => {
      const walkthrough = WALKTHROUGHS[name]!;
      const meshName = uniqueMeshName(name.slice('howto-'.length, 'howto-'.length + 12));
      await createWalkthrough(meshName, walkthrough);
      const { appMesh } = trellis;
      const virtualGatewayName = walkthrough.gateway.name;

      const described = await appMesh.send(
        new DescribeVirtualGatewayCommand({ meshName, virtualGatewayName }),
      );
      expect(described.virtualGateway?.spec).toEqual(walkthrough.gateway.spec);
      for (const [gatewayRouteName, spec] of Object.entries(walkthrough.gatewayRoutes)) {
        const route = await appMesh.send(
          new DescribeGatewayRouteCommand({ meshName, virtualGatewayName, gatewayRouteName }),
        );
        expect(route.gatewayRoute?.spec).toEqual(spec);
      }

      const gateway = gatewayProxy(meshName, virtualGatewayName);
      await gateway.sync();
      const named = (names: string[]) => names.map((n) => n.replaceAll('<mesh>', meshName));
      expect([...gateway.listeners.keys()].sort()).toEqual(named(walkthrough.expected.listeners));
      expect([...gateway.clusters.keys()].sort()).toEqual(named(walkthrough.expected.clusters));
      const ingress = walkthrough.expected.ingressRoutes;
      expect([...gateway.routes.keys()].sort()).toEqual([EGRESS_ROUTES, ...Object.keys(ingress)]);
      for (const [config, names] of Object.entries(ingress)) {
        expect(routeNames(gateway.routes.get(config))).toEqual(names);
      }
      // Every target's provider routes are in the egress route configuration.
      const providerRoutes = Object.values(walkthrough.routes ?? {}).flatMap(Object.keys);
      expect(routeNames(gateway.routes.get(EGRESS_ROUTES)).sort()).toEqual(
        (providerRoutes.length > 0
          ? providerRoutes
          : Object.values(walkthrough.virtualServices).map((p) => ('node' in p ? p.node : ''))
        ).sort(),
      );
      // The gateway has no diagnostics for a walkthrough (it is served as written).
      const [status] = await proxiesWhen(trellis.httpUrl, meshName, (rows) =>
        rows.some((row) => row.state === 'SYNCED'),
      );
      expect(status).toMatchObject({
        nodeId: `mesh/${meshName}/virtualGateway/${virtualGatewayName}`,
        state: 'SYNCED',
      });
    },
  );

  it('serves the timeout walkthrough’s 60 s route timeout on the egress hop, none on the gateway hop', async () => {
    const meshName = uniqueMeshName('gw-timeout');
    await createWalkthrough(meshName, WALKTHROUGHS['howto-timeout-policy']!);
    const gateway = gatewayProxy(meshName, 'gateway-vg');
    await gateway.sync();
    const ingress = gateway.routes.get('rds_ingress_http_8080')?.virtualHosts?.[0]?.routes?.[0];
    expect(routeAction(ingress).timeout).toEqual({ seconds: 0, nanos: 0 });
    const egress = gateway.routes.get(EGRESS_ROUTES)?.virtualHosts?.[0]?.routes?.[0];
    expect(routeAction(egress).timeout).toEqual({ seconds: 60, nanos: 0 });
  });

  it('follows UpdateGatewayRoute and a weight change on its target, and trellis weights set --wait counts it', async () => {
    const meshName = uniqueMeshName('gw-e2e');
    const { appMesh } = trellis;
    await createCanaryMesh(appMesh, meshName, { 'web-v1': 100, 'web-v2': 0 });
    await appMesh.send(
      new CreateVirtualGatewayCommand({
        meshName,
        virtualGatewayName: 'ingress',
        spec: { listeners: [http(8080)] },
      }),
    );
    const routeSpec = (prefix: string): GatewayRouteSpec => ({
      httpRoute: { match: { prefix }, action: { target: target(WEB_SERVICE) } },
    });
    await appMesh.send(
      new CreateGatewayRouteCommand({
        meshName,
        virtualGatewayName: 'ingress',
        gatewayRouteName: 'web',
        spec: routeSpec('/web'),
      }),
    );
    const gateway = gatewayProxy(meshName, 'ingress');
    await gateway.sync();
    const ingressPrefix = () => {
      const route = gateway.routes.get('rds_ingress_http_8080')?.virtualHosts?.[0]?.routes?.[0];
      const path = route?.match?.pathSpecifier;
      return path?.$case === 'prefix' ? path.value : undefined;
    };
    // One virtual host for every target (domain *): the canary route is its only route.
    const egressWeights = () => routeWeights(gateway.routes.get(EGRESS_ROUTES), '*')[0];
    const v1 = `cds_egress_${meshName}_web-v1_http_8080`;
    const v2 = `cds_egress_${meshName}_web-v2_http_8080`;
    expect(ingressPrefix()).toBe('/web');
    expect(egressWeights()).toEqual({ [v1]: 100, [v2]: 0 });

    // UpdateGatewayRoute: the gateway gets and acknowledges the new route configuration.
    await appMesh.send(
      new UpdateGatewayRouteCommand({
        meshName,
        virtualGatewayName: 'ingress',
        gatewayRouteName: 'web',
        spec: routeSpec('/shop'),
      }),
    );
    await gateway.until(() => ingressPrefix() === '/shop');
    const revision = await meshRevision(trellis.db, meshName);
    await eventually(async () => {
      const response = await fetch(`${trellis.httpUrl}/v1/meshes/${meshName}/propagation`);
      expect(await response.json()).toMatchObject({ revision, proxies: 1, acked: 1 });
    }, 5000);

    // A weight change the gateway does not take yet: --wait times out naming the gateway.
    const setWeights = (weights: string[], timeout: string) =>
      trellisCli(
        [
          'weights',
          'set',
          ...['--mesh', meshName, '--router', 'web', '--route', 'canary', ...weights],
          ...['--wait', '--timeout', timeout],
        ],
        { TRELLIS_ENDPOINT: trellis.httpUrl },
      );
    const stalled = await setWeights(['web-v1=90', 'web-v2=10'], '2s');
    expect(stalled.code).toBe(2);
    expect(stalled.stderr).toContain('0/1 proxies acked');
    expect(stalled.stderr).toContain(`mesh/${meshName}/virtualGateway/ingress`);

    // The gateway catches up; the next change reaches it and --wait returns once it has.
    await gateway.until(() => egressWeights()?.[v2] === 10);
    const [run] = await Promise.all([
      setWeights(['web-v1=50', 'web-v2=50'], '30s'),
      gateway.until(() => egressWeights()?.[v2] === 50),
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('reached the connected proxy');
    expect(egressWeights()).toEqual({ [v1]: 50, [v2]: 50 });
  });
});
