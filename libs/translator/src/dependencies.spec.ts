import { messageTypeRegistry } from '../../envoy-api/generated/typeRegistry';
import '../../envoy-api/generated/register-all';
import { typeNameOf } from '../../envoy-api/src/any';
import type { ResourceKind } from '../../mesh-model/src/resource-kinds';
import { caseNames, readCase } from '../test/golden-cases';
import { dependenciesOf, recordingSnapshot } from './dependencies';
import { EnvoyMessageCache } from './envoy/message-cache';
import {
  meshSnapshot,
  meshSnapshot as snapshotOf,
  type MeshSnapshot,
  type StoredMeshResource,
} from './mesh-snapshot';
import { translate, type Translation } from './translate';

function asJson(translation: Translation): unknown {
  return {
    errors: translation.errors,
    resources: translation.resources.map((resource) => ({
      name: resource.name,
      message: messageTypeRegistry.get(typeNameOf(resource.typeUrl))!.toJSON(resource.message),
    })),
  };
}

/** The mesh as stored rows: what a change adds, updates or deletes. */
function rowsOf(mesh: MeshSnapshot): StoredMeshResource[] {
  const row = (kind: ResourceKind, parentName: string, name: string, spec: object) => ({
    kind,
    parentName,
    name,
    spec: spec as Record<string, unknown>,
  });
  return [
    row('mesh', '', mesh.meshName, mesh.spec),
    ...[...mesh.virtualNodes].map(([name, spec]) => row('virtualNode', '', name, spec)),
    ...[...mesh.virtualRouters].map(([name, spec]) => row('virtualRouter', '', name, spec)),
    ...[...mesh.routes].flatMap(([router, routes]) =>
      routes.map((route) => row('route', router, route.name, route.spec)),
    ),
    ...[...mesh.virtualServices].map(([name, spec]) => row('virtualService', '', name, spec)),
    ...[...mesh.virtualGateways].map(([name, spec]) => row('virtualGateway', '', name, spec)),
    ...[...mesh.gatewayRoutes].flatMap(([gateway, routes]) =>
      routes.map((route) => row('gatewayRoute', gateway, route.name, route.spec)),
    ),
    ...[...(mesh.routeHeaderRules ?? [])].flatMap(([router, rules]) =>
      rules.map((rule) => row('routeHeaderRule', router, rule.name, rule.spec)),
    ),
    ...[...(mesh.gatewayRouteHeaderRules ?? [])].flatMap(([gateway, rules]) =>
      rules.map((rule) => row('gatewayRouteHeaderRule', gateway, rule.name, rule.spec)),
    ),
  ];
}

describe.each(caseNames())('dependencies of golden case %s', (name) => {
  const goldenCase = readCase(name);
  const { mesh, proxy, registry } = goldenCase;
  // Certificates are not mesh rows: a snapshot rebuilt from rows keeps the case's store.
  const meshSnapshot = (contents: Parameters<typeof snapshotOf>[0]): MeshSnapshot => ({
    ...snapshotOf(contents),
    ...(mesh.certificates !== undefined && { certificates: mesh.certificates }),
  });
  const expected = asJson(translate(mesh, proxy, registry));
  const recorded = recordingSnapshot(mesh);
  const translation = translate(recorded.mesh, proxy, registry);
  const rows = rowsOf(mesh);

  it('translates through the recording snapshot as through the snapshot itself', () => {
    expect(asJson(translation)).toEqual(expected);
  });

  it('translates the same with shared messages', () => {
    const messages = new EnvoyMessageCache();
    translate(mesh, proxy, registry, messages);
    expect(asJson(translate(mesh, proxy, registry, messages))).toEqual(expected);
  });

  // The point of recording: whatever was not read can change without changing the result.
  const unread = rows.filter(
    (row) => !dependenciesOf(row).some((dependency) => recorded.dependencies.has(dependency)),
  );
  it('gives the same resources without any resource it did not read', () => {
    for (const removed of unread) {
      const without = meshSnapshot({
        meshName: mesh.meshName,
        revision: 2,
        resources: rows.filter((row) => row !== removed),
      });
      const what = `without ${removed.kind} ${removed.parentName}/${removed.name}`;
      expect({ what, ...(asJson(translate(without, proxy, registry)) as object) }).toEqual({
        what,
        ...(expected as object),
      });
    }
  });

  it('gives the same resources without any certificate it did not read', () => {
    for (const arn of mesh.certificates?.keys() ?? []) {
      if (recorded.dependencies.has(`certificate/${arn}`)) continue;
      const certificates = new Map(mesh.certificates);
      certificates.delete(arn);
      expect(asJson(translate({ ...mesh, certificates }, proxy, registry))).toEqual(expected);
    }
  });

  it.each(['virtualNode', 'virtualRouter', 'virtualService'] as const)(
    'gives the same resources with one more %s unless it read them all',
    (kind) => {
      const added = { kind, parentName: '', name: 'unrelated', spec: {} };
      if (dependenciesOf(added).some((dependency) => recorded.dependencies.has(dependency))) {
        return;
      }
      const withMore = meshSnapshot({
        meshName: mesh.meshName,
        revision: 2,
        resources: [...rows, added],
      });
      expect(asJson(translate(withMore, proxy, registry))).toEqual(expected);
    },
  );
});

describe('recorded dependencies', () => {
  const mesh = meshSnapshot({
    meshName: 'shop',
    revision: 1,
    resources: [
      { kind: 'mesh', parentName: '', name: 'shop', spec: {} },
      {
        kind: 'virtualNode',
        parentName: '',
        name: 'front',
        spec: {
          listeners: [{ portMapping: { port: 8080, protocol: 'http' } }],
          serviceDiscovery: { dns: { hostname: 'front.local' } },
          backends: [
            { virtualService: { virtualServiceName: 'cart.local' } },
            { virtualService: { virtualServiceName: 'missing.local' } },
          ],
        },
      },
      {
        kind: 'virtualNode',
        parentName: '',
        name: 'cart',
        spec: {
          listeners: [{ portMapping: { port: 8080, protocol: 'http' } }],
          serviceDiscovery: { dns: { hostname: 'cart.local' } },
        },
      },
      {
        kind: 'virtualRouter',
        parentName: '',
        name: 'cart',
        spec: { listeners: [{ portMapping: { port: 8080, protocol: 'http' } }] },
      },
      {
        kind: 'route',
        parentName: 'cart',
        name: 'all',
        spec: {
          httpRoute: {
            match: { prefix: '/' },
            action: { weightedTargets: [{ virtualNode: 'cart', weight: 1 }] },
          },
        },
      },
      {
        kind: 'virtualService',
        parentName: '',
        name: 'cart.local',
        spec: { provider: { virtualRouter: { virtualRouterName: 'cart' } } },
      },
    ],
  });
  const tracing = { enabled: false, daemonAddress: '127.0.0.1', daemonPort: 2000 };

  it.each([
    [
      'a sidecar: its node, the mesh spec, and the path to every backend, missing ones included',
      'sidecar' as const,
      'front',
      [
        'mesh',
        'route/cart',
        'virtualNode/cart',
        'virtualNode/front',
        'virtualRouter/cart',
        'virtualService/cart.local',
        'virtualService/missing.local',
      ],
    ],
    [
      'a proxyless client without backends: every virtual service',
      'proxyless' as const,
      'cart',
      [
        'mesh',
        'route/cart',
        'virtualNode/cart',
        'virtualRouter/cart',
        'virtualService/*',
        'virtualService/cart.local',
      ],
    ],
    [
      'a node that does not exist: that node only',
      'sidecar' as const,
      'gone',
      ['virtualNode/gone'],
    ],
  ])('%s', (_, kind, virtualNode, dependencies) => {
    const recorded = recordingSnapshot(mesh);
    translate(recorded.mesh, { kind, virtualNode, tracing });
    expect([...recorded.dependencies].sort()).toEqual(dependencies);
  });
});
