import {
  changedMeshSnapshot,
  meshSnapshot,
  reloadedMeshSnapshot,
  type StoredMeshResource,
  type StoredResourceKey,
} from './mesh-snapshot';

const node = (hostname: string) => ({
  listeners: [{ portMapping: { port: 8080, protocol: 'http' } }],
  serviceDiscovery: { dns: { hostname } },
});
const route = (prefix: string) => ({
  httpRoute: {
    match: { prefix },
    action: { weightedTargets: [{ virtualNode: 'web', weight: 1 }] },
  },
});

const gatewayRoute = (prefix: string) => ({
  httpRoute: {
    match: { prefix },
    action: { target: { virtualService: { virtualServiceName: 'web.local' } } },
  },
});

const BEFORE: StoredMeshResource[] = [
  { kind: 'mesh', parentName: '', name: 'shop', spec: {} },
  { kind: 'virtualNode', parentName: '', name: 'web', spec: node('web.local') },
  { kind: 'virtualNode', parentName: '', name: 'front', spec: node('front.local') },
  {
    kind: 'virtualRouter',
    parentName: '',
    name: 'web',
    spec: { listeners: [{ portMapping: { port: 8080, protocol: 'http' } }] },
  },
  { kind: 'route', parentName: 'web', name: 'b', spec: route('/b') },
  { kind: 'route', parentName: 'web', name: 'a', spec: route('/a') },
  {
    kind: 'virtualService',
    parentName: '',
    name: 'web.local',
    spec: { provider: { virtualRouter: { virtualRouterName: 'web' } } },
  },
  {
    kind: 'virtualGateway',
    parentName: '',
    name: 'ingress',
    spec: { listeners: [{ portMapping: { port: 8080, protocol: 'http' } }] },
  },
  { kind: 'gatewayRoute', parentName: 'ingress', name: 'web', spec: gatewayRoute('/web/') },
];

const key = (resource: StoredResourceKey) =>
  `${resource.kind}/${resource.parentName}/${resource.name}`;

/** The rows after writing `written` and deleting `removed`. */
function after(written: StoredMeshResource[], removed: StoredResourceKey[]): StoredMeshResource[] {
  const rows = new Map(BEFORE.map((row) => [key(row), row]));
  for (const row of written) rows.set(key(row), row);
  for (const row of removed) rows.delete(key(row));
  return [...rows.values()];
}

describe('meshSnapshot', () => {
  it('lists the routes of a router by name, whatever order they were read in', () => {
    const snapshot = meshSnapshot({ meshName: 'shop', revision: 1, resources: BEFORE });
    expect(snapshot.routes.get('web')?.map((r) => r.name)).toEqual(['a', 'b']);
  });
});

describe('changedMeshSnapshot', () => {
  const previous = meshSnapshot({ meshName: 'shop', revision: 1, resources: BEFORE });

  it.each<[string, StoredMeshResource[], StoredResourceKey[], string[]]>([
    [
      'an updated route: its router routes',
      [{ kind: 'route', parentName: 'web', name: 'a', spec: route('/a2') }],
      [],
      ['route/*', 'route/web'],
    ],
    [
      'a route in a router that had none',
      [{ kind: 'route', parentName: 'api', name: 'x', spec: route('/x') }],
      [],
      ['route/*', 'route/api'],
    ],
    [
      'a deleted route',
      [],
      [{ kind: 'route', parentName: 'web', name: 'b' }],
      ['route/*', 'route/web'],
    ],
    [
      'a router whose routes are all deleted',
      [],
      [
        { kind: 'route', parentName: 'web', name: 'a' },
        { kind: 'route', parentName: 'web', name: 'b' },
      ],
      ['route/*', 'route/web'],
    ],
    [
      'an updated gateway route: its gateway routes',
      [{ kind: 'gatewayRoute', parentName: 'ingress', name: 'web', spec: gatewayRoute('/w/') }],
      [],
      ['gatewayRoute/*', 'gatewayRoute/ingress'],
    ],
    [
      'a gateway whose gateway routes are all deleted',
      [],
      [{ kind: 'gatewayRoute', parentName: 'ingress', name: 'web' }],
      ['gatewayRoute/*', 'gatewayRoute/ingress'],
    ],
    [
      'an updated gateway',
      [
        {
          kind: 'virtualGateway',
          parentName: '',
          name: 'ingress',
          spec: { listeners: [{ portMapping: { port: 9090, protocol: 'http' } }] },
        },
      ],
      [],
      ['virtualGateway/*', 'virtualGateway/ingress'],
    ],
    [
      'a created node',
      [{ kind: 'virtualNode', parentName: '', name: 'api', spec: node('api.local') }],
      [],
      ['virtualNode/*', 'virtualNode/api'],
    ],
    [
      'an updated node',
      [{ kind: 'virtualNode', parentName: '', name: 'web', spec: node('web2.local') }],
      [],
      ['virtualNode/*', 'virtualNode/web'],
    ],
    [
      'a deleted node',
      [],
      [{ kind: 'virtualNode', parentName: '', name: 'front' }],
      ['virtualNode/*', 'virtualNode/front'],
    ],
    [
      'an updated router',
      [
        {
          kind: 'virtualRouter',
          parentName: '',
          name: 'web',
          spec: { listeners: [{ portMapping: { port: 9090, protocol: 'http' } }] },
        },
      ],
      [],
      ['virtualRouter/*', 'virtualRouter/web'],
    ],
    [
      'a deleted service',
      [],
      [{ kind: 'virtualService', parentName: '', name: 'web.local' }],
      ['virtualService/*', 'virtualService/web.local'],
    ],
    [
      'the mesh spec',
      [
        {
          kind: 'mesh',
          parentName: '',
          name: 'shop',
          spec: { egressFilter: { type: 'ALLOW_ALL' } },
        },
      ],
      [],
      ['mesh'],
    ],
    [
      'rows written again with equal specs (a tag change): nothing',
      [
        { kind: 'virtualNode', parentName: '', name: 'web', spec: node('web.local') },
        { kind: 'route', parentName: 'web', name: 'a', spec: route('/a') },
        { kind: 'mesh', parentName: '', name: 'shop', spec: {} },
      ],
      [],
      [],
    ],
    [
      'a resource deleted that was never there: nothing',
      [],
      [{ kind: 'virtualNode', parentName: '', name: 'ghost' }],
      [],
    ],
  ])('%s', (_, resources, removed, changed) => {
    const result = changedMeshSnapshot(previous, { revision: 2, resources, removed });
    expect(result.mesh).toEqual(
      meshSnapshot({ meshName: 'shop', revision: 2, resources: after(resources, removed) }),
    );
    expect([...result.changed].sort()).toEqual(changed);
  });

  it('keeps the maps nothing changed in, and leaves the previous snapshot as it was', () => {
    const before = meshSnapshot({ meshName: 'shop', revision: 1, resources: BEFORE });
    const { mesh } = changedMeshSnapshot(before, {
      revision: 2,
      resources: [{ kind: 'route', parentName: 'web', name: 'a', spec: route('/a2') }],
      removed: [{ kind: 'virtualNode', parentName: '', name: 'front' }],
    });
    expect(mesh.virtualRouters).toBe(before.virtualRouters);
    expect(mesh.virtualServices).toBe(before.virtualServices);
    expect(mesh.virtualGateways).toBe(before.virtualGateways);
    expect(mesh.gatewayRoutes).toBe(before.gatewayRoutes);
    expect(before).toEqual(previous);
  });
});

describe('reloadedMeshSnapshot', () => {
  it('finds what differs between two full reads', () => {
    const previous = meshSnapshot({ meshName: 'shop', revision: 1, resources: BEFORE });
    const rows = after(
      [{ kind: 'virtualNode', parentName: '', name: 'api', spec: node('api.local') }],
      [{ kind: 'route', parentName: 'web', name: 'b' }],
    );
    const result = reloadedMeshSnapshot(previous, { revision: 3, resources: rows });
    expect(result.mesh).toEqual(meshSnapshot({ meshName: 'shop', revision: 3, resources: rows }));
    expect([...result.changed].sort()).toEqual([
      'route/*',
      'route/web',
      'virtualNode/*',
      'virtualNode/api',
    ]);
  });
});
