import http from 'node:http';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { Client } from 'pg';
import { appMeshModel, type Operation } from '../libs/mesh-model/src/validation';
import { SCHEDULER_LOCK_KEY } from '../apps/admin-api/src/rollouts/rollout-scheduler';
import {
  everyMeshContents,
  ownDatabase,
  TEST_ACCOUNT_ID,
  TEST_REGION,
  type OwnDatabase,
} from './support/control-plane';
import { type RawAnswer, type RawRequest, sendRaw } from './support/http';
import { stopServerProcess, weightedHttpRoute } from './support/mesh';
import { startServerProcess, type ServerProcess } from './support/process';

/**
 * Generated and mutated requests against every REST operation of a running server: the App Mesh
 * API built from the model's shapes, and every /v1 route. No answer may be a 5xx other than the
 * documented 503, every refusal is in App Mesh's error format, the process stays up, and a
 * refused request changes no mesh.
 *
 * `npm test` sends TRELLIS_FUZZ_REQUESTS (default 1,500) requests; the full run is
 * `TRELLIS_FUZZ_REQUESTS=10000 npx jest test/fuzz-rest` (docs/operations.md). A failure prints the
 * request and the run's seed; TRELLIS_FUZZ_SEED=<seed> replays the run.
 */
const REQUESTS = Number(process.env.TRELLIS_FUZZ_REQUESTS ?? 1500);
/** Each operation's property runs with this plus its index, so one number replays a whole run. */
const SEED = Number(process.env.TRELLIS_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));

// ---------------------------------------------------------------------------------------------
// The world the requests are made in: two meshes with one resource of every kind and more.

const MESH = 'fuzz';
const NAMES: Record<string, readonly string[]> = {
  meshName: [MESH, 'other', 'ghost'],
  virtualNodeName: ['blue', 'green', 'red', 'ghost'],
  virtualRouterName: ['web', 'ghost'],
  routeName: ['main', 'canary', 'ghost'],
  virtualServiceName: ['web.fuzz.local', 'ghost.local'],
  virtualGatewayName: ['gateway'],
  gatewayRouteName: ['gateway-route'],
};
const LISTENER = { portMapping: { port: 8080, protocol: 'http' } };
const nodeSpec = (hostname: string) => ({
  listeners: [LISTENER],
  serviceDiscovery: { dns: { hostname } },
  backends: [{ virtualService: { virtualServiceName: 'web.fuzz.local' } }],
});
const arnOf = (path: string) => `arn:aws:appmesh:${TEST_REGION}:${TEST_ACCOUNT_ID}:${path}`;

/** Requests that build the world, in order; each must succeed. */
const FIXTURE: Array<[string, string, unknown]> = [
  ['PUT', '/v20190125/meshes', { meshName: MESH, tags: [{ key: 'team', value: 'fuzz' }] }],
  ['PUT', '/v20190125/meshes', { meshName: 'other', spec: { egressFilter: { type: 'DROP_ALL' } } }],
  ...['blue', 'green', 'red'].map((name): [string, string, unknown] => [
    'PUT',
    `/v20190125/meshes/${MESH}/virtualNodes`,
    { virtualNodeName: name, spec: nodeSpec(`${name}.internal`) },
  ]),
  ['PUT', '/v20190125/meshes/other/virtualNodes', { virtualNodeName: 'blue', spec: {} }],
  [
    'PUT',
    `/v20190125/meshes/${MESH}/virtualRouters`,
    { virtualRouterName: 'web', spec: { listeners: [LISTENER] } },
  ],
  // Three targets: no rollout can take this route (a rollout moves traffic between two).
  [
    'PUT',
    `/v20190125/meshes/${MESH}/virtualRouter/web/routes`,
    { routeName: 'main', spec: weightedHttpRoute({ blue: 50, green: 30, red: 20 }) },
  ],
  [
    'PUT',
    `/v20190125/meshes/${MESH}/virtualRouter/web/routes`,
    { routeName: 'canary', spec: { ...weightedHttpRoute({ blue: 100, green: 0 }), priority: 1 } },
  ],
  [
    'PUT',
    `/v20190125/meshes/${MESH}/virtualServices`,
    {
      virtualServiceName: 'web.fuzz.local',
      spec: { provider: { virtualRouter: { virtualRouterName: 'web' } } },
    },
  ],
  ['PUT', `/v1/meshes/${MESH}/tracing`, { enabled: true, samplingRate: 0.05 }],
  [
    'POST',
    `/v1/meshes/${MESH}/rollouts`,
    {
      route: { virtualRouter: 'web', route: 'canary' },
      from: 'blue',
      to: 'green',
      steps: [10, 50],
    },
  ],
];

/** Valid bodies of the App Mesh operations Trellis serves, the seeds that mutations start from. */
const VALID_BODIES: Record<string, unknown> = {
  CreateMesh: {
    meshName: 'fresh',
    spec: { egressFilter: { type: 'ALLOW_ALL' } },
    tags: [{ key: 'k', value: 'v' }],
    clientToken: 'token-1',
  },
  UpdateMesh: { spec: { serviceDiscovery: { ipPreference: 'IPv4_ONLY' } }, clientToken: 'token-2' },
  CreateVirtualNode: { virtualNodeName: 'fresh', spec: nodeSpec('fresh.internal') },
  UpdateVirtualNode: { spec: nodeSpec('moved.internal'), clientToken: 'token-3' },
  CreateVirtualRouter: { virtualRouterName: 'fresh', spec: { listeners: [LISTENER] } },
  UpdateVirtualRouter: { spec: { listeners: [{ portMapping: { port: 9090, protocol: 'http' } }] } },
  CreateRoute: { routeName: 'fresh', spec: weightedHttpRoute({ blue: 60, red: 40 }) },
  UpdateRoute: { spec: weightedHttpRoute({ blue: 40, green: 40, red: 20 }) },
  CreateVirtualService: {
    virtualServiceName: 'fresh.fuzz.local',
    spec: { provider: { virtualNode: { virtualNodeName: 'blue' } } },
  },
  UpdateVirtualService: { spec: { provider: { virtualRouter: { virtualRouterName: 'web' } } } },
  TagResource: { tags: [{ key: 'owner', value: 'fuzz' }] },
  UntagResource: { tagKeys: ['team'] },
};

// ---------------------------------------------------------------------------------------------
// Values: model-shaped, and hostile.

const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty'];

const nested = (depth: number): unknown => {
  let value: unknown = 1;
  for (let level = 0; level < depth; level++) value = level % 2 ? [value] : { a: value };
  return value;
};

/** Objects built from entries, so `__proto__` is an own key that JSON.stringify writes. */
const objectOf = (entries: Array<[string, unknown]>) => Object.fromEntries(entries);

const hostileString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '',
    '.',
    '..',
    'a\u0000b',
    '\u0001\u007f\u0085',
    '\ud800',
    'x\udc00y',
    '%00',
    '../../etc',
    'arn:aws:appmesh:eu-west-1:111122223333:mesh/fuzz',
    ...PROTOTYPE_KEYS,
  ),
  fc.oneof(fc.nat({ max: 300 }), fc.constantFrom(70_000, 1_100_000)).map((n) => 'x'.repeat(n)),
);

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  fc.constantFrom(null, true, false, 0, -1, -0, 1.5, 1e308, 2 ** 53 + 1, -(2 ** 63), 65536),
  fc.integer(),
  fc.double(),
  fc.constantFrom({}, [], [[]], [null]),
  fc.oneof(fc.nat({ max: 60 }), fc.constant(1_000)).map(nested),
  fc.jsonValue({ maxDepth: 3 }),
  fc
    .array(fc.tuple(fc.constantFrom(...PROTOTYPE_KEYS), fc.jsonValue({ maxDepth: 2 })), {
      minLength: 1,
      maxLength: 3,
    })
    .map(objectOf),
);

/** A value of a model shape; names are mostly the world's, so references often resolve. */
function shapeValue(shapeName: string, memberName = '', depth = 0): fc.Arbitrary<unknown> {
  const shape = appMeshModel.shapes[shapeName]!;
  const names =
    NAMES[memberName] ?? (memberName === 'virtualNode' ? NAMES.virtualNodeName : undefined);
  switch (shape.type) {
    case 'structure': {
      const members = Object.entries(shape.members ?? {}).filter(([, ref]) => !ref.location);
      if (depth > 12 || members.length === 0) return fc.constant({});
      if (shape.union) {
        return fc.oneof(
          ...members.map(([name, ref]) =>
            shapeValue(ref.shape, name, depth + 1).map((value) => ({ [name]: value })),
          ),
        );
      }
      const required = new Set(shape.required ?? []);
      return fc.record(
        Object.fromEntries(
          members.map(([name, ref]) => [name, shapeValue(ref.shape, name, depth + 1)]),
        ),
        { requiredKeys: members.map(([name]) => name).filter((name) => required.has(name)) },
      );
    }
    case 'list':
      return fc.array(shapeValue(shape.member!.shape, memberName, depth + 1), {
        minLength: shape.min ?? 0,
        maxLength: Math.min(shape.max ?? 3, 3),
      });
    case 'string':
      if (shape.enum) return fc.constantFrom(...shape.enum);
      return names
        ? fc.oneof(fc.constantFrom(...names), fc.string({ minLength: 1, maxLength: 12 }))
        : fc.string({ minLength: shape.min ?? 0, maxLength: Math.min(shape.max ?? 24, 24) });
    case 'integer':
    case 'long':
      return fc.integer({ min: shape.min ?? 0, max: Math.min(shape.max ?? 100_000, 100_000) });
    case 'boolean':
      return fc.boolean();
    case 'timestamp':
      return fc.integer();
    case 'map':
      return fc.constant({});
  }
}

/** Every place in a JSON value, as the list of keys leading to it. */
function placesIn(
  value: unknown,
  path: Array<string | number> = [],
): Array<Array<string | number>> {
  const places = [path];
  if (Array.isArray(value))
    value.forEach((item, i) => places.push(...placesIn(item, [...path, i])));
  else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) places.push(...placesIn(item, [...path, key]));
  }
  return places;
}

function clone(value: unknown): unknown {
  return value === undefined ? undefined : (JSON.parse(JSON.stringify(value)) as unknown);
}

/** `value` with the place `path` replaced (`replacement` undefined: removed). */
function replaced(value: unknown, path: Array<string | number>, replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const copy = clone(value) as Record<string | number, unknown>;
  let parent = copy;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  // defineProperty: a plain assignment to `__proto__` would set the prototype instead.
  if (replacement !== undefined) {
    Object.defineProperty(parent, last, {
      value: replacement,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else if (Array.isArray(parent)) parent.splice(last as number, 1);
  else delete parent[last];
  return copy;
}

/** A valid value mutated the ways a hostile client would. */
function mutated(value: unknown): fc.Arbitrary<unknown> {
  const places = placesIn(value);
  const place = fc.constantFrom(...places);
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant(value) },
    { weight: 4, arbitrary: fc.tuple(place, hostileValue).map(([p, v]) => replaced(value, p, v)) },
    { weight: 2, arbitrary: place.map((p) => replaced(value, p, undefined)) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(place, fc.oneof(fc.constantFrom(...PROTOTYPE_KEYS), fc.string()), hostileValue)
        .map(([p, key, v]) => {
          const target = p.reduce<unknown>(
            (node, k) => (node as Record<string, unknown>)[k],
            value,
          );
          if (typeof target !== 'object' || target === null || Array.isArray(target)) return value;
          return replaced(value, p, objectOf([...Object.entries(target), [key, v]]));
        }),
    },
  );
}

// ---------------------------------------------------------------------------------------------
// Requests.

const hostileSegment = fc.oneof(
  fc.string({ minLength: 1, maxLength: 30 }).map(encodeURIComponent),
  fc.constantFrom(
    '..',
    '.',
    '%2e%2e',
    '%00',
    'a%00b',
    '%',
    '%zz',
    '%ED%A0%80',
    '%C0%80',
    '%2F',
    'a%2Fb',
    '%0A',
    '%7F',
    '__proto__',
    'constructor',
    'x'.repeat(300),
    'x'.repeat(9_000),
  ),
);

const segmentFor = (label: string) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...(NAMES[label] ?? ['x'])).map(encodeURIComponent) },
    { weight: 1, arbitrary: hostileSegment },
  );

const queryValue = (valid: fc.Arbitrary<string>) =>
  fc.oneof(
    { weight: 3, arbitrary: valid.map(encodeURIComponent) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '',
        '0',
        '-1',
        '1e3',
        '101',
        'abc',
        '%00',
        '%zz',
        'x'.repeat(5000),
      ),
    },
  );

const QUERY_VALUES: Record<string, fc.Arbitrary<string>> = {
  limit: fc.integer({ min: 1, max: 100 }).map(String),
  nextToken: fc.base64String({ maxLength: 40 }),
  meshOwner: fc.constantFrom(TEST_ACCOUNT_ID, '999999999999', '12'),
  resourceArn: fc.constantFrom(
    arnOf(`mesh/${MESH}`),
    arnOf(`mesh/${MESH}/virtualNode/blue`),
    arnOf(`mesh/${MESH}/virtualRouter/web/route/main`),
    arnOf('mesh/ghost'),
    'arn:aws:s3:::bucket',
  ),
};

/** `?a=1&b=2` from optional parameters, sometimes one repeated or an unknown one added. */
const queryString = (
  names: readonly string[],
  extra: Record<string, fc.Arbitrary<string>> = {},
) => {
  const all = { ...Object.fromEntries(names.map((n) => [n, QUERY_VALUES[n]!])), ...extra };
  return fc
    .tuple(
      fc.subarray(Object.keys(all)),
      fc.array(fc.tuple(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 })), {
        maxLength: 1,
      }),
      fc.boolean(),
    )
    .chain(([chosen, unknown, repeat]) =>
      fc
        .tuple(...chosen.map((name) => queryValue(all[name]!).map((v) => `${name}=${v}`)))
        .map((pairs) => {
          const all2 = [
            ...pairs,
            ...unknown.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`),
          ];
          if (repeat && pairs[0] !== undefined) all2.push(pairs[0]);
          return all2.length === 0 ? '' : `?${all2.join('&')}`;
        }),
    );
};

/** How a body goes on the wire: mostly JSON as the SDK sends it, sometimes not. */
function encoded(
  body: unknown,
): fc.Arbitrary<{ headers: Record<string, string>; body?: string | Buffer }> {
  const text = body === undefined ? undefined : JSON.stringify(body);
  const json = { 'content-type': 'application/json' };
  if (text === undefined) return fc.constant({ headers: {} });
  return fc.oneof(
    { weight: 12, arbitrary: fc.constant({ headers: json, body: text }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        { headers: { 'content-type': 'application/json; charset=utf-8' }, body: text },
        { headers: { 'content-type': 'application/json; charset=latin1' }, body: text },
        { headers: { 'content-type': 'text/plain' }, body: text },
        { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=b' },
        { headers: {}, body: text },
        { headers: { 'content-type': 'application/x-amz-json-1.1' }, body: text },
        { headers: { ...json, 'content-encoding': 'gzip' }, body: gzipSync(text) },
        { headers: { ...json, 'content-encoding': 'gzip' }, body: gzipSync(text).subarray(0, 12) },
        { headers: { ...json, 'content-encoding': 'snappy' }, body: text },
        { headers: json, body: text.slice(0, Math.floor(text.length / 2)) },
        { headers: json, body: '' },
        { headers: json, body: `${text}${text}` },
        { headers: json, body: `{"a":${'['.repeat(20_000)}${']'.repeat(20_000)}}` },
        { headers: { ...json, origin: 'http://evil.example' }, body: text },
        { headers: { ...json, 'sec-fetch-site': 'cross-site' }, body: text },
      ),
    },
  );
}

interface FuzzRequest extends RawRequest {
  operation: string;
}

/** An App Mesh operation: its URI labels filled, its query and body valid or mutated. */
function appMeshRequest(operation: Operation): fc.Arbitrary<FuzzRequest> {
  const input = appMeshModel.shapes[operation.input]!;
  const members = Object.entries(input.members ?? {});
  const labels = members.filter(([, ref]) => ref.location === 'uri').map(([name]) => name);
  const query = members
    .filter(([, ref]) => ref.location === 'querystring')
    .map(([name, ref]) => ref.locationName ?? name);
  const bodyMembers = members.filter(([, ref]) => !ref.location);
  const validBody = VALID_BODIES[operation.name];
  const generatedBody =
    bodyMembers.length === 0
      ? fc.constant(undefined)
      : fc.record(
          Object.fromEntries(bodyMembers.map(([name, ref]) => [name, shapeValue(ref.shape, name)])),
          {
            requiredKeys: (input.required ?? []).filter((name) =>
              bodyMembers.some(([member]) => member === name),
            ),
          },
        );
  const body = (
    validBody === undefined ? generatedBody : fc.oneof(fc.constant(validBody), generatedBody)
  ).chain((value) => (value === undefined ? fc.constant(undefined) : mutated(value)));
  return fc
    .tuple(fc.tuple(...labels.map(segmentFor)), queryString(query), body.chain(encoded))
    .map(([segments, queryText, wire]) => {
      let path = operation.requestUri;
      labels.forEach((label, index) => (path = path.replace(`{${label}}`, segments[index]!)));
      return {
        operation: operation.name,
        method: operation.method,
        path: `${path}${queryText}`,
        ...wire,
      };
    });
}

/** Trellis' own routes under /v1, and the probes, by a name for each. */
function v1Requests(rolloutIds: readonly string[]): Record<string, fc.Arbitrary<FuzzRequest>> {
  const mesh = segmentFor('meshName');
  const id = fc.oneof(fc.constantFrom(...rolloutIds), fc.uuid().map(String), hostileSegment);
  const request = (
    method: string,
    path: fc.Arbitrary<string>,
    body?: unknown,
    headers: fc.Arbitrary<Record<string, string>> = fc.constant({}),
  ): fc.Arbitrary<FuzzRequest> =>
    fc
      .tuple(path, body === undefined ? fc.constant(undefined) : mutated(body), headers)
      .chain(([p, value, extra]) =>
        encoded(value).map((wire) => ({
          operation: '',
          method,
          path: p,
          ...wire,
          headers: { ...wire.headers, ...extra },
        })),
      );
  const rollout = {
    route: { virtualRouter: 'web', route: 'canary' },
    from: 'blue',
    to: 'green',
    steps: [10, 50],
    interval: '1m',
    gates: [{ url: 'http://127.0.0.1:9/gate', timeout: '1s' }],
    onAbort: 'stepped',
  };
  const weightsPath = fc
    .tuple(
      mesh,
      segmentFor('virtualRouterName'),
      segmentFor('routeName'),
      fc.constantFrom(
        '',
        '?dryRun=true',
        '?dryRun=false',
        '?dryRun=maybe',
        '?dryRun=true&dryRun=true',
      ),
    )
    .map(([m, r, route, q]) => `/v1/meshes/${m}/virtualRouters/${r}/routes/${route}/weights${q}`);
  const ifMatch = fc.oneof(
    fc.constant({}),
    fc
      .constantFrom('"1"', '*', 'W/"2"', 'nope', '"99999999999999999999"')
      .map((v) => ({ 'if-match': v })),
  );
  const requests = {
    CreateRollout: request(
      'POST',
      mesh.map((m) => `/v1/meshes/${m}/rollouts`),
      rollout,
    ),
    ListRollouts: request(
      'GET',
      fc
        .tuple(mesh, queryString([], { state: fc.constantFrom('Pending', 'Succeeded', 'nope') }))
        .map(([m, q]) => `/v1/meshes/${m}/rollouts${q}`),
    ),
    GetRollout: request(
      'GET',
      fc.tuple(mesh, id).map(([m, i]) => `/v1/meshes/${m}/rollouts/${i}`),
    ),
    RolloutAction: request(
      'POST',
      fc
        .tuple(
          mesh,
          id,
          fc.oneof(fc.constantFrom('pause', 'resume', 'promote', 'abort'), hostileSegment),
        )
        .map(([m, i, a]) => `/v1/meshes/${m}/rollouts/${i}/${a}`),
      { reason: 'fuzz' },
    ),
    PutWeights: request(
      'PUT',
      weightsPath,
      { targets: { blue: 90, green: 10 }, reason: 'fuzz' },
      ifMatch,
    ),
    History: request(
      'GET',
      fc
        .tuple(
          mesh,
          queryString(['limit', 'nextToken'], {
            kind: fc.constantFrom('route', 'virtualNode', 'mesh', 'nope'),
            parent: fc.constantFrom('web', ''),
            name: fc.constantFrom('main', 'blue'),
            rolloutId: fc.constantFrom(...rolloutIds, 'nope'),
          }),
        )
        .map(([m, q]) => `/v1/meshes/${m}/history${q}`),
    ),
    Revert: request(
      'POST',
      fc
        .tuple(
          mesh,
          fc.oneof(
            fc.nat({ max: 30 }).map(String),
            hostileSegment,
            fc.constant('99999999999999999999'),
          ),
        )
        .map(([m, n]) => `/v1/meshes/${m}/revisions/${n}/revert`),
    ),
    Propagation: request(
      'GET',
      fc
        .tuple(
          mesh,
          queryString([], {
            revision: fc.oneof(
              fc.nat().map(String),
              fc.constantFrom('-1', '1.5', '99999999999999999999'),
            ),
          }),
        )
        .map(([m, q]) => `/v1/meshes/${m}/propagation${q}`),
    ),
    ListProxies: request(
      'GET',
      queryString([], { mesh: fc.constantFrom(MESH, 'ghost') }).map((q) => `/v1/proxies${q}`),
    ),
    ProxiesOfNode: request(
      'GET',
      fc
        .oneof(fc.constant(encodeURIComponent(`mesh/${MESH}/virtualNode/blue`)), hostileSegment)
        .map((n) => `/v1/proxies/${n}`),
    ),
    GetTracing: request(
      'GET',
      mesh.map((m) => `/v1/meshes/${m}/tracing`),
    ),
    PutTracing: request(
      'PUT',
      mesh.map((m) => `/v1/meshes/${m}/tracing`),
      { enabled: true, daemonPort: 2000, samplingRate: 0.1 },
    ),
    Bootstrap: request(
      'GET',
      fc
        .tuple(
          mesh,
          segmentFor('virtualNodeName'),
          queryString([], {
            adminPort: fc.oneof(fc.nat({ max: 70_000 }).map(String), fc.constant('x')),
          }),
        )
        .map(([m, n, q]) => `/v1/meshes/${m}/virtualNodes/${n}/bootstrap${q}`),
      undefined,
      fc.constantFrom<Record<string, string>>({}, { accept: 'application/json' }),
    ),
    Probes: request(
      'GET',
      fc.constantFrom('/healthz', '/readyz', '/metrics', '/', '/v1', '/v20190125'),
    ),
  };
  return Object.fromEntries(
    Object.entries(requests).map(([operation, arbitrary]) => [
      operation,
      arbitrary.map((built) => ({ ...built, operation })),
    ]),
  );
}

// ---------------------------------------------------------------------------------------------

describe('fuzzing every REST operation', () => {
  let database: OwnDatabase | undefined;
  let db: Client;
  let server: ServerProcess | undefined;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let rolloutIds: string[] = [];

  beforeAll(async () => {
    database = await ownDatabase('trellis_fuzz');
    db = database.db;
    // Holding the rollout scheduler's lock, as another replica would, keeps rollouts from
    // moving in the background: every change in this database is a request's.
    await db.query('SELECT pg_advisory_lock($1)', [SCHEDULER_LOCK_KEY]);
    server = await startServerProcess({
      DATABASE_URL: database.url,
      TRELLIS_ROLES: 'admin',
      TRELLIS_ACCOUNT_ID: TEST_ACCOUNT_ID,
      TRELLIS_REGION: TEST_REGION,
      TRELLIS_LIMIT_MESHES: '20',
      TRELLIS_LIMIT_VIRTUAL_NODES_PER_MESH: '20',
      TRELLIS_LIMIT_VIRTUAL_ROUTERS_PER_MESH: '20',
      TRELLIS_LIMIT_ROUTES_PER_VIRTUAL_ROUTER: '20',
      TRELLIS_LIMIT_VIRTUAL_SERVICES_PER_MESH: '20',
    });
    for (const [method, path, body] of FIXTURE) {
      const answer = await sendRaw(server.httpUrl, {
        method,
        path,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (answer.status >= 300)
        throw new Error(`${method} ${path}: ${answer.status} ${answer.body}`);
      if (path.endsWith('/rollouts')) rolloutIds = [(JSON.parse(answer.body) as { id: string }).id];
    }
  }, 120_000);

  afterAll(async () => {
    agent.destroy();
    await stopServerProcess(server);
    await database?.drop();
  });

  it(`answers ${REQUESTS} generated requests without a 5xx, refusing in App Mesh's format and changing nothing when it refuses`, async () => {
    const operations: Record<string, fc.Arbitrary<FuzzRequest>> = {
      ...Object.fromEntries(
        Object.values(appMeshModel.operations).map((operation) => [
          operation.name,
          appMeshRequest(operation),
        ]),
      ),
      ...v1Requests(rolloutIds),
    };
    // The same share for every operation, so each is exercised whatever the total.
    const perOperation = Math.ceil(REQUESTS / Object.keys(operations).length);
    const statuses = new Map<number, number>();
    const time = { requests: 0, snapshots: 0 };
    let sent = 0;
    let snapshot = await everyMeshContents(db);

    for (const [index, [name, arbitrary]] of Object.entries(operations).entries()) {
      const property = fc.asyncProperty(arbitrary, async (request) => {
        const started = performance.now();
        const answer: RawAnswer = await sendRaw(server!.httpUrl, request, agent);
        const answered = performance.now();
        sent++;
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        const errorType = answer.headers['x-amzn-errortype'];
        const described = `${name}: ${request.method} ${request.path.slice(0, 300)} → ${answer.status} ${String(errorType)} ${answer.body.slice(0, 300)}`;
        if (
          answer.status >= 500 &&
          !(answer.status === 503 && errorType === 'ServiceUnavailableException')
        ) {
          throw new Error(`5xx: ${described}`);
        }
        const after = await everyMeshContents(db);
        time.requests += answered - started;
        time.snapshots += performance.now() - answered;
        if (answer.status >= 400) {
          if (typeof errorType !== 'string') throw new Error(`no x-amzn-ErrorType: ${described}`);
          const payload = JSON.parse(answer.body) as Record<string, unknown>;
          if (Object.keys(payload).join() !== 'message' || typeof payload.message !== 'string') {
            throw new Error(`not App Mesh's error body: ${described}`);
          }
          expect({ refused: described, contents: after }).toEqual({
            refused: described,
            contents: snapshot,
          });
        }
        snapshot = after;
      });
      // No shrinking: each request changes the state the next one meets.
      const details = await fc.check(property, {
        numRuns: perOperation,
        endOnFailure: true,
        seed: SEED + index,
      });
      if (details.failed) {
        // The counterexample may be a megabyte of generated body: the report is cut, and the
        // property's own error (status, body, what changed) is named.
        const cause = details.errorInstance;
        throw new Error(
          `${(fc.defaultReportMessage(details) ?? '').slice(0, 4000)}\n` +
            `Cause: ${cause instanceof Error ? cause.message : String(cause)}\n` +
            `Replay the run with TRELLIS_FUZZ_SEED=${SEED}`,
          { cause },
        );
      }
    }

    expect(sent).toBeGreaterThanOrEqual(REQUESTS);
    expect(server!.child.exitCode).toBeNull();
    expect((await sendRaw(server!.httpUrl, { method: 'GET', path: '/readyz' })).status).toBe(200);
    process.stdout.write(
      `fuzz: ${sent} requests (${Math.round(time.requests)} ms answering, ${Math.round(time.snapshots)} ms comparing); ` +
        `statuses ${JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b)))}\n`,
    );
  }, 900_000);
});
