import * as grpc from '@grpc/grpc-js';
import { UpdateRouteCommand } from '@aws-sdk/client-app-mesh';
import fc from 'fast-check';
import { Node } from '../libs/envoy-api/generated/envoy/config/core/v3/base';
import {
  DeltaDiscoveryRequest,
  DeltaDiscoveryResponse,
  DiscoveryRequest,
  DiscoveryResponse,
} from '../libs/envoy-api/generated/envoy/service/discovery/v3/discovery';
import {
  CLUSTER,
  CLUSTER_LOAD_ASSIGNMENT,
  LISTENER,
  ROUTE_CONFIGURATION,
  SECRET,
  isServedType,
} from '../libs/xds-types/src/resource-types';
import {
  ALLOW_ALL,
  AUTH_ENV,
  issueKey,
  signedAppMesh,
  type Credentials,
} from './support/access-keys';
import { TestCertificateAuthority, writePemFiles } from './support/certificates';
import {
  everyMeshContents,
  ownDatabase,
  TEST_ACCOUNT_ID,
  TEST_REGION,
  type OwnDatabase,
} from './support/control-plane';
import { envoyImageChannel } from './support/envoy-aws-iam';
import {
  createCanaryMesh,
  envoyNode,
  proxiesWhen,
  routeWeights,
  SidecarProxy,
  stopServerProcess,
  WEB_SERVICE,
  weightedHttpRoute,
  xdsPortOf,
} from './support/mesh';
import { startServerProcess, type ServerProcess } from './support/process';
import { decodedResources, deltaSummary, eventually } from './support/xds';

/**
 * Generated and mutated ADS streams against a running control plane with authentication on, as
 * the App Mesh Envoy image connects (TLS, SigV4-signed streams): DiscoveryRequests and
 * DeltaDiscoveryRequests with bad and unknown type URLs, huge and hostile resource name lists,
 * wrong nonces, NACKs with error details, node ids of every wrong form, `__proto__`, NUL and
 * huge strings, the other protocol's messages, bytes that are no message at all, unsigned and
 * wrongly signed streams, and streams cancelled or half-closed mid-flight. After every stream:
 * the process is up, it ended the stream with a documented gRPC status or answered with valid
 * responses (and never answered a stream it must refuse), two well-behaved proxies on their own
 * connections are still served, and no mesh changed (ADS never writes mesh data). Halfway, a
 * route changes, and the well-behaved proxies receive and acknowledge it.
 *
 * `npm test` runs TRELLIS_FUZZ_ADS_STREAMS (default 1,000) streams; the full run is
 * `TRELLIS_FUZZ_ADS_STREAMS=10000 npx jest test/fuzz-ads` (docs/operations.md). A failure
 * prints the stream and the run's seed; TRELLIS_FUZZ_SEED=<seed> replays the run.
 */
const STREAMS = Number(process.env.TRELLIS_FUZZ_ADS_STREAMS ?? 1000);
const SEED = Number(process.env.TRELLIS_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));

const MESH = 'fuzz';
const OTHER_MESH = 'other';
const MAX_REQUEST_BYTES = 256 * 1024;
const MAX_RESOURCE_NAMES = 1000;
/** How long a stream may take to settle before the test fails: a guard, not a sleep. */
const SETTLE_TIMEOUT_MS = 8000;
const ADS = '/envoy.service.discovery.v3.AggregatedDiscoveryService';

/** The statuses docs/operations.md and docs/security.md give a refused or ended stream. */
const DOCUMENTED = new Set([
  grpc.status.OK, // the client half-closed
  grpc.status.INVALID_ARGUMENT,
  grpc.status.RESOURCE_EXHAUSTED,
  grpc.status.PERMISSION_DENIED,
  grpc.status.UNAUTHENTICATED,
]);

// ---------------------------------------------------------------------------------------------
// What a stream sends.

type Protocol = 'sotw' | 'delta';

/** One message of a fuzzed stream, as data (printed when the run fails). */
type Message =
  | { kind: 'sotw'; request: DiscoveryRequest }
  | { kind: 'delta'; request: DeltaDiscoveryRequest }
  | { kind: 'bytes'; bytes: Uint8Array };

interface FuzzStream {
  protocol: Protocol;
  /** How the stream authenticates: the proxy key, a wrong secret, or not at all. */
  signing: 'signed' | 'wrong-secret' | 'unsigned';
  messages: Message[];
  /** After the messages: ask for something that is always answered, cancel, or half-close. */
  ending: 'sentinel' | 'cancel' | 'half-close';
}

const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty'];

const hostileString = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom(
    '',
    '*',
    '.',
    '..',
    'a\u0000b',
    '\u0000',
    '\u0001\u007f\u0085',
    '\ud800',
    'x\udc00y',
    '%00',
    '../../etc',
    ...PROTOTYPE_KEYS,
  ),
  fc.constantFrom(300, 5_000, 70_000).map((n) => 'x'.repeat(n)),
);

const arnOf = (path: string) => `arn:aws:appmesh:${TEST_REGION}:${TEST_ACCOUNT_ID}:${path}`;

/** Node ids and clusters: the proxies of the mesh, of another mesh, and every wrong form. */
const nodeName = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      `mesh/${MESH}/virtualNode/front`,
      `mesh/${MESH}/virtualNode/web-v1`,
      arnOf(`mesh/${MESH}/virtualNode/web-v2`),
      `mesh/${MESH}/virtualNode/ghost`,
      `mesh/${MESH}/virtualGateway/gateway`,
      `mesh/${OTHER_MESH}/virtualNode/front`,
      arnOf(`mesh/${OTHER_MESH}/virtualNode/front`),
    ),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '',
      `mesh/${MESH}`,
      `mesh/${MESH}/virtualNode/`,
      `mesh//virtualNode/front`,
      `mesh/${MESH}/virtualNode/front/extra`,
      `mesh/${MESH}/virtualRouter/web`,
      `mesh/${MESH}/virtualNode/fr\u0000ont`,
      `mesh/${MESH}/virtualNode/__proto__`,
      `mesh/__proto__/virtualNode/constructor`,
      `mesh/${MESH}/virtualNode/${'x'.repeat(256)}`,
      `mesh/${'m'.repeat(256)}/virtualNode/front`,
      `mesh/${MESH}/virtualNode/${'x'.repeat(100_000)}`,
      `arn:aws:s3:::mesh/${MESH}/virtualNode/front`,
      `spiffe://trellis.test/mesh/${MESH}/virtualNode/front`,
    ),
  },
  { weight: 1, arbitrary: hostileString },
  {
    weight: 1,
    arbitrary: fc
      .tuple(hostileString, hostileString)
      .map(([mesh, name]) => `mesh/${mesh}/virtualNode/${name}`),
  },
);

const nested = (depth: number): unknown => {
  let value: unknown = 1;
  for (let level = 0; level < depth; level++) value = level % 2 ? [value] : { a: value };
  return value;
};

/** Node metadata (a protobuf Struct): App Mesh's keys, prototype keys, deep nesting. */
const metadata = fc.oneof(
  fc.constant(undefined),
  fc.dictionary(hostileString, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
  fc
    .array(fc.tuple(fc.constantFrom(...PROTOTYPE_KEYS), fc.jsonValue({ maxDepth: 2 })), {
      minLength: 1,
      maxLength: 2,
    })
    .map((entries) => Object.fromEntries(entries) as Record<string, unknown>),
  fc.constant({ deep: nested(40) }),
);

const node: fc.Arbitrary<Node> = fc.record(
  {
    id: nodeName,
    cluster: fc.oneof(fc.constant(undefined), fc.constant(''), nodeName),
    metadata,
    userAgentName: fc.oneof(fc.constant('envoy'), hostileString),
  },
  { requiredKeys: ['id'] },
);

/** Type URLs: every served type, near misses, unknown types and junk. */
function typeUrl(reserved: readonly string[]): fc.Arbitrary<string> {
  const served = [LISTENER, ROUTE_CONFIGURATION, CLUSTER, CLUSTER_LOAD_ASSIGNMENT, SECRET].filter(
    (type) => !reserved.includes(type),
  );
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...served) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        'type.googleapis.com/envoy.config.unknown.v3.Thing',
        'type.googleapis.com/envoy.api.v2.Listener',
        `${CLUSTER} `,
        CLUSTER.toUpperCase(),
        'envoy.config.cluster.v3.Cluster',
        'type.googleapis.com/',
        '',
      ),
    },
    { weight: 1, arbitrary: hostileString },
  );
}

/** Resource name lists: the mesh's names, hostile names, the limit and past it. */
function resourceNames(known: readonly string[]): fc.Arbitrary<string[]> {
  const name = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...known, '*') },
    { weight: 2, arbitrary: hostileString },
  );
  return fc.oneof(
    { weight: 6, arbitrary: fc.array(name, { maxLength: 4 }) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(MAX_RESOURCE_NAMES, MAX_RESOURCE_NAMES + 1, 5_000)
        .map((n) => Array.from({ length: n }, (_, i) => `name-${i}`)),
    },
  );
}

/** Nonces: none, the server's own (they count from 1 on each stream), and junk. */
const nonce = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom('', '1', '2', '3', '4', '0', '-1', '99999999999999999999'),
  hostileString,
);

/** A NACK's error detail (google.rpc.Status), with hostile messages and details. */
const errorDetail = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  {
    weight: 1,
    arbitrary: fc.record({
      code: fc.oneof(fc.integer({ min: 0, max: 16 }), fc.integer()),
      message: hostileString,
      details: fc.array(
        fc.record({
          typeUrl: fc.oneof(hostileString, fc.constant(CLUSTER)),
          value: fc.uint8Array({ maxLength: 64 }),
        }),
        { maxLength: 2 },
      ),
    }),
  },
);

function sotwRequest(known: readonly string[], reserved: readonly string[]) {
  return fc.record(
    {
      versionInfo: fc.oneof(fc.constantFrom('', '1', 'stale'), hostileString),
      node,
      resourceNames: resourceNames(known),
      typeUrl: typeUrl(reserved),
      responseNonce: nonce,
      errorDetail,
    },
    { requiredKeys: [] },
  );
}

function deltaRequest(known: readonly string[]) {
  return fc.record(
    {
      node,
      typeUrl: typeUrl([]),
      resourceNamesSubscribe: resourceNames(known),
      resourceNamesUnsubscribe: resourceNames(known),
      initialResourceVersions: fc.oneof(
        fc.dictionary(fc.oneof(fc.constantFrom(...known), hostileString), hostileString, {
          maxKeys: 3,
        }),
        fc
          .array(fc.tuple(fc.constantFrom(...PROTOTYPE_KEYS), hostileString), { maxLength: 2 })
          .map((entries) => Object.fromEntries(entries) as Record<string, string>),
      ),
      responseNonce: nonce,
      errorDetail,
    },
    { requiredKeys: [] },
  );
}

const encode = (message: Message): Uint8Array =>
  message.kind === 'bytes'
    ? message.bytes
    : message.kind === 'sotw'
      ? DiscoveryRequest.encode(message.request).finish()
      : DeltaDiscoveryRequest.encode(message.request).finish();

/** The header of a length-delimited protobuf field of `length` bytes. */
function fieldHeader(tag: number, length: number): Buffer {
  const bytes = [tag];
  for (; length > 0x7f; length >>>= 7) bytes.push((length & 0x7f) | 0x80);
  bytes.push(length);
  return Buffer.from(bytes);
}

const field = (tag: number, bytes: Uint8Array) =>
  Buffer.concat([fieldHeader(tag, bytes.length), bytes]);

/**
 * A request for clusters whose node metadata nests lists `depth` deep, written as bytes (the
 * generated encoder recurses, and overflows the stack first).
 */
function deeplyNested(protocol: Protocol, depth: number): Message {
  // Value { number_value: 1 }, then Value { list_value: ListValue { values: [inner] } } per level.
  const innermost = Buffer.from([0x11, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]);
  const headers: Buffer[] = [];
  let size = innermost.length;
  for (let level = 0; level < depth; level++) {
    const list = fieldHeader(0x0a, size);
    size += list.length;
    const value = fieldHeader(0x32, size);
    size += value.length;
    headers.push(list, value);
  }
  const value = Buffer.concat([...headers.reverse(), innermost]);
  // Struct { fields: { "deep": value } }, as Node.metadata (field 3).
  const metadata = field(
    0x0a,
    Buffer.concat([field(0x0a, Buffer.from('deep')), field(0x12, value)]),
  );
  const node = Buffer.concat([
    Node.encode(envoyNode(MESH, 'front')).finish(),
    field(0x1a, metadata),
  ]);
  // DiscoveryRequest: node 2, type_url 4; DeltaDiscoveryRequest: node 1, type_url 2.
  const bytes =
    protocol === 'sotw'
      ? Buffer.concat([field(0x12, node), field(0x22, Buffer.from(CLUSTER))])
      : Buffer.concat([field(0x0a, node), field(0x12, Buffer.from(CLUSTER))]);
  return { kind: 'bytes', bytes };
}

/** Bytes that are no request, or a request damaged on the way. */
function garbage(protocol: Protocol, valid: fc.Arbitrary<Message>): fc.Arbitrary<Message> {
  const damaged = fc
    .tuple(valid, fc.nat(), fc.nat({ max: 255 }), fc.boolean())
    .map(([message, at, byte, truncate]): Message => {
      const bytes = Uint8Array.from(encode(message));
      if (bytes.length === 0) return { kind: 'bytes', bytes: Uint8Array.of(byte) };
      if (truncate) return { kind: 'bytes', bytes: bytes.subarray(0, at % bytes.length) };
      bytes[at % bytes.length] = byte;
      return { kind: 'bytes', bytes };
    });
  return fc.oneof(
    fc.uint8Array({ maxLength: 200 }).map((bytes): Message => ({ kind: 'bytes', bytes })),
    damaged,
    fc
      .constantFrom(
        Uint8Array.of(0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f), // a length far past the end
        Uint8Array.of(0x12, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01),
        Uint8Array.of(0x0f), // wire type 7
        new Uint8Array(MAX_REQUEST_BYTES + 1), // over TRELLIS_XDS_MAX_REQUEST_BYTES
      )
      .map((bytes): Message => ({ kind: 'bytes', bytes })),
    fc.constantFrom(100, 3_000, 30_000).map((depth) => deeplyNested(protocol, depth)),
  );
}

function fuzzStream(known: readonly string[]): fc.Arbitrary<FuzzStream> {
  return fc.constantFrom<Protocol>('sotw', 'delta').chain((protocol) => {
    // A state-of-the-world stream's listeners are the sentinel's: the fuzz never asks for them.
    const own: fc.Arbitrary<Message> =
      protocol === 'sotw'
        ? sotwRequest(known, [LISTENER]).map((request) => ({ kind: 'sotw', request }))
        : deltaRequest(known).map((request) => ({ kind: 'delta', request }));
    const other: fc.Arbitrary<Message> =
      protocol === 'sotw'
        ? deltaRequest(known).map((request) => ({ kind: 'delta', request }))
        : sotwRequest(known, []).map((request) => ({ kind: 'sotw', request }));
    const message = fc.oneof(
      { weight: 6, arbitrary: own },
      { weight: 1, arbitrary: other },
      { weight: 2, arbitrary: garbage(protocol, own) },
    );
    return fc.record({
      protocol: fc.constant(protocol),
      signing: fc.oneof(
        { weight: 8, arbitrary: fc.constant('signed' as const) },
        { weight: 1, arbitrary: fc.constantFrom('wrong-secret' as const, 'unsigned' as const) },
      ),
      messages: fc.array(message, { maxLength: 4 }),
      ending: fc.oneof(
        { weight: 6, arbitrary: fc.constant('sentinel' as const) },
        { weight: 1, arbitrary: fc.constantFrom('cancel' as const, 'half-close' as const) },
      ),
    });
  });
}

/** The fuzz stream for printing: long strings and byte arrays shortened. */
function described(stream: FuzzStream): string {
  return JSON.stringify(stream, (_key, value: unknown) => {
    if (value instanceof Uint8Array)
      return `<${value.length} bytes ${Buffer.from(value.subarray(0, 32)).toString('hex')}>`;
    if (typeof value === 'string' && value.length > 80)
      return `${value.slice(0, 40)}…<${value.length} chars>`;
    if (Array.isArray(value) && value.length > 8)
      return [...(value as unknown[]).slice(0, 4), `…${value.length}`];
    return value;
  }).slice(0, 4000);
}

// ---------------------------------------------------------------------------------------------
// Oracles.

const PROXY_PATH =
  /^(?:arn:[^:]+:appmesh[^:]*:[^:]*:[^:]*:)?(mesh\/([^/]+)\/(?:virtualNode|virtualGateway)\/[^/]+)$/;

/**
 * Whether a stream whose first request carries `first` may be answered at all: signed by the
 * proxy key, whose policy covers the mesh `fuzz` only, for a node naming one proxy of it.
 */
function mayBeServed(stream: FuzzStream): boolean {
  if (stream.signing !== 'signed') return false;
  const first = stream.messages[0];
  if (!first || first.kind === 'bytes' || first.kind !== stream.protocol) return true; // unknown
  const requestNode = first.request.node;
  if (!requestNode) return false;
  const named = [requestNode.id, requestNode.cluster]
    .map((candidate) => (candidate ? PROXY_PATH.exec(candidate) : null))
    .filter((match) => match !== null);
  return (
    named.length > 0 && named.every((match) => match[1] === named[0]![1]) && named[0]![2] === MESH
  );
}

/** Throws unless `bytes` is a response of `protocol` whose resources decode as its type. */
function validResponse(
  protocol: Protocol,
  bytes: Buffer,
): DiscoveryResponse | DeltaDiscoveryResponse {
  if (protocol === 'sotw') {
    const response = DiscoveryResponse.decode(bytes);
    if (!isServedType(response.typeUrl ?? '')) throw new Error(`response of ${response.typeUrl}`);
    decodedResources(response);
    return response;
  }
  const response = DeltaDiscoveryResponse.decode(bytes);
  if (!isServedType(response.typeUrl ?? '')) throw new Error(`response of ${response.typeUrl}`);
  deltaSummary(response);
  return response;
}

// ---------------------------------------------------------------------------------------------
// A raw ADS stream: bytes out, bytes in, so that anything can be sent.

class RawAdsStream {
  readonly responses: Buffer[] = [];
  status?: grpc.StatusObject;
  private readonly call: grpc.ClientDuplexStream<Uint8Array, Buffer>;
  private readonly listeners = new Set<() => void>();

  constructor(client: grpc.Client, protocol: Protocol) {
    const method = protocol === 'sotw' ? 'StreamAggregatedResources' : 'DeltaAggregatedResources';
    this.call = client.makeBidiStreamRequest(
      `${ADS}/${method}`,
      (bytes: Uint8Array) => Buffer.from(bytes),
      (bytes: Buffer) => bytes,
    );
    this.call.on('data', (bytes: Buffer) => this.changed(() => this.responses.push(bytes)));
    this.call.on('status', (status: grpc.StatusObject) =>
      this.changed(() => (this.status = status)),
    );
    this.call.on('error', () => undefined); // the status says it
  }

  write(bytes: Uint8Array): void {
    this.call.write(bytes);
  }

  halfClose(): void {
    this.call.end();
  }

  cancel(): void {
    this.call.cancel();
  }

  /** Resolves once the stream has ended or `done(responses)` holds. */
  until(done: (responses: readonly Buffer[]) => boolean, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.status === undefined && !done(this.responses)) return;
        clearTimeout(timer);
        this.listeners.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        reject(new Error(`neither ${what} nor a status within ${SETTLE_TIMEOUT_MS} ms`));
      }, SETTLE_TIMEOUT_MS);
      this.listeners.add(check);
      check();
    });
  }

  private changed(update: () => void): void {
    update();
    for (const listener of [...this.listeners]) listener();
  }
}

// ---------------------------------------------------------------------------------------------

describe('fuzzing the ADS server', () => {
  const ca = new TestCertificateAuthority();
  const certificate = ca.server();
  const files = writePemFiles({
    'server.pem': certificate.cert,
    'server-key.pem': certificate.key,
  });
  let database: OwnDatabase | undefined;
  let server: ServerProcess | undefined;
  let port: number;
  let admin: Credentials;
  let proxyKey: Credentials;
  const proxies: SidecarProxy[] = [];
  const clients: grpc.Client[] = [];

  beforeAll(async () => {
    database = await ownDatabase('trellis_fuzz_ads');
    server = await startServerProcess({
      ...AUTH_ENV,
      DATABASE_URL: database.url,
      TRELLIS_ACCOUNT_ID: TEST_ACCOUNT_ID,
      TRELLIS_REGION: TEST_REGION,
      TRELLIS_XDS_TLS_CERT_FILE: files['server.pem']!,
      TRELLIS_XDS_TLS_KEY_FILE: files['server-key.pem']!,
      TRELLIS_XDS_MAX_REQUEST_BYTES: String(MAX_REQUEST_BYTES),
      TRELLIS_XDS_MAX_RESOURCE_NAMES: String(MAX_RESOURCE_NAMES),
      TRELLIS_PROXY_STATUS_INTERVAL_MS: '50',
    });
    port = xdsPortOf(server);
    admin = await issueKey('fuzz-admin', ALLOW_ALL, { databaseUrl: database.url });
    proxyKey = await issueKey(
      'fuzz-proxy',
      {
        Statement: [
          {
            Effect: 'Allow',
            Action: 'appmesh:StreamAggregatedResources',
            Resource: `arn:aws:appmesh:*:*:mesh/${MESH}/*`,
          },
        ],
      },
      { databaseUrl: database.url },
    );
    const appMesh = signedAppMesh(server.httpUrl, admin);
    await createCanaryMesh(appMesh, MESH, { 'web-v1': 90, 'web-v2': 10 });
    await createCanaryMesh(appMesh, OTHER_MESH, { 'web-v1': 100, 'web-v2': 0 });
    appMesh.destroy();
  }, 120_000);

  afterAll(async () => {
    for (const proxy of proxies) proxy.close();
    for (const client of clients) client.close();
    await stopServerProcess(server);
    await database?.drop();
  });

  it(`survives ${STREAMS} malformed ADS streams, ending each with a documented status, serving its proxies and writing no mesh data`, async () => {
    const { db } = database!;
    // Well-behaved proxies, each on a connection of its own.
    const own = { 'grpc.use_local_subchannel_pool': 1 };
    const front = new SidecarProxy(
      'sotw',
      envoyNode(MESH, 'front'),
      envoyImageChannel(ca.certificate.cert, port, proxyKey, own),
    );
    const frontDelta = new SidecarProxy(
      'delta',
      envoyNode(MESH, 'front'),
      envoyImageChannel(ca.certificate.cert, port, proxyKey, own),
    );
    proxies.push(front, frontDelta);
    for (const proxy of proxies) {
      proxy.connect(port);
      await proxy.sync();
    }
    const known = [
      ...front.listeners.keys(),
      ...front.routes.keys(),
      ...front.clusters.keys(),
      ...front.endpoints.keys(),
    ];
    // The fuzzed streams share one connection per way of signing.
    const channels = {
      signed: envoyImageChannel(ca.certificate.cert, port, proxyKey),
      'wrong-secret': envoyImageChannel(ca.certificate.cert, port, {
        ...proxyKey,
        secretAccessKey: 'wrong',
      }),
      unsigned: {
        host: 'localhost',
        credentials: grpc.credentials.createSsl(Buffer.from(ca.certificate.cert)),
      },
    };
    const clientOf = Object.fromEntries(
      Object.entries(channels).map(([signing, channel]) => {
        const client = new grpc.Client(`${channel.host}:${port}`, channel.credentials);
        clients.push(client);
        return [signing, client];
      }),
    ) as Record<FuzzStream['signing'], grpc.Client>;

    let snapshot = await everyMeshContents(db);
    const statuses = new Map<string, number>();
    let streams = 0;
    let messages = 0;
    let responses = 0;
    let changed = false;

    /** Halfway: a route changes; both proxies receive it and acknowledge it. */
    const changeRoute = async () => {
      const appMesh = signedAppMesh(server!.httpUrl, admin);
      await appMesh.send(
        new UpdateRouteCommand({
          meshName: MESH,
          virtualRouterName: 'web',
          routeName: 'canary',
          spec: weightedHttpRoute({ 'web-v1': 60, 'web-v2': 40 }),
        }),
      );
      appMesh.destroy();
      const v1 = `cds_egress_${MESH}_web-v1_http_8080`;
      const v2 = `cds_egress_${MESH}_web-v2_http_8080`;
      for (const proxy of proxies) {
        await proxy.until(() => {
          const routes = proxy.routes.get('rds_egress_http_8080');
          return (
            JSON.stringify(routes && routeWeights(routes, WEB_SERVICE)) ===
            JSON.stringify([{ [v1]: 60, [v2]: 40 }])
          );
        });
      }
      const revision = Number(
        (
          await db.query<{ revision: string }>(
            'SELECT revision FROM mesh_revision WHERE mesh_name = $1',
            [MESH],
          )
        ).rows[0]!.revision,
      );
      // The server took the ACKs: both proxies are synced at the new revision.
      await proxiesWhen(
        server!.httpUrl,
        MESH,
        (rows) =>
          rows.filter(
            (row) =>
              row.nodeId === front.node.id && row.connected && row.syncedRevision === revision,
          ).length === 2,
        10_000,
        admin,
      );
      snapshot = await everyMeshContents(db);
      changed = true;
    };

    const property = fc.asyncProperty(fuzzStream(known), async (fuzz) => {
      if (streams === Math.floor(STREAMS / 2)) await changeRoute();
      streams++;
      const stream = new RawAdsStream(clientOf[fuzz.signing], fuzz.protocol);
      const sentinelName = `sentinel-${streams}`;
      try {
        for (const message of fuzz.messages) {
          stream.write(encode(message));
          messages++;
        }
        if (fuzz.ending === 'cancel') {
          // Cancelled once the call is under way. grpc-js (1.14) still starts a call cancelled in
          // the tick it was made, on an HTTP/2 stream it then never resets: the client holds that
          // stream open (and the server with it) until the connection closes.
          await new Promise(setImmediate);
          stream.cancel();
        } else if (fuzz.ending === 'half-close') {
          stream.halfClose();
          await stream.until(() => false, 'the end of the stream');
        } else {
          // Always answered (and only by this request), so when it comes every message before
          // it was handled: SotW listeners (which no fuzzed message asks for) with a new name;
          // delta route configurations with a new name, answered as removed.
          const sentinelNode = fuzz.messages.length === 0 ? envoyNode(MESH, 'front') : undefined;
          stream.write(
            fuzz.protocol === 'sotw'
              ? DiscoveryRequest.encode({
                  node: sentinelNode,
                  typeUrl: LISTENER,
                  resourceNames: ['*', sentinelName],
                }).finish()
              : DeltaDiscoveryRequest.encode({
                  node: sentinelNode,
                  typeUrl: ROUTE_CONFIGURATION,
                  resourceNamesSubscribe: [sentinelName],
                }).finish(),
          );
          await stream.until(
            (received) =>
              received.some((bytes) => {
                let response: DiscoveryResponse | DeltaDiscoveryResponse;
                try {
                  response = validResponse(fuzz.protocol, bytes);
                } catch {
                  return true; // stop waiting: the check below names what is wrong
                }
                return fuzz.protocol === 'sotw'
                  ? response.typeUrl === LISTENER
                  : (response as DeltaDiscoveryResponse).removedResources?.includes(sentinelName);
              }),
            'the sentinel response',
          );
        }
        const code = stream.status?.code;
        const outcome = code === undefined ? 'answered' : grpc.status[code];
        statuses.set(outcome ?? String(code), (statuses.get(outcome ?? String(code)) ?? 0) + 1);
        if (code !== undefined && !DOCUMENTED.has(code) && fuzz.ending !== 'cancel') {
          throw new Error(`status ${outcome}: ${stream.status?.details}`);
        }
        for (const bytes of stream.responses) validResponse(fuzz.protocol, bytes);
        responses += stream.responses.length;
        if (stream.responses.length > 0 && !mayBeServed(fuzz)) {
          throw new Error(`${stream.responses.length} responses to a stream that must be refused`);
        }
      } finally {
        stream.cancel();
      }
      if (server!.child.exitCode !== null) throw new Error('the server process exited');
      // The well-behaved proxies are still served on their own connections.
      for (const proxy of proxies) await proxy.probe();
      expect(await everyMeshContents(db)).toEqual(snapshot);
    });
    const details = await fc.check(property, { numRuns: STREAMS, endOnFailure: true, seed: SEED });
    if (details.failed) {
      const cause = details.errorInstance;
      const counterexample = details.counterexample?.[0];
      throw new Error(
        `${cause instanceof Error ? cause.message : String(cause)}\n` +
          `Stream: ${counterexample ? described(counterexample) : '?'}\n` +
          `Server's last log lines: ${server!.logs
            .slice(-5)
            .map((line) => JSON.stringify(line).slice(0, 500))
            .join('\n')}\n` +
          `Replay the run with TRELLIS_FUZZ_SEED=${SEED}`,
        { cause },
      );
    }

    expect(streams).toBeGreaterThanOrEqual(STREAMS);
    expect(changed).toBe(true);
    // Every fuzzed stream is gone from the server: only the two proxies are connected.
    await eventually(async () => {
      const metrics = await (await fetch(`${server!.httpUrl}/metrics`)).text();
      const connected = [...metrics.matchAll(/^trellis_xds_connected_proxies\{[^}]*\} (\d+)/gm)];
      if (connected.reduce((sum, match) => sum + Number(match[1]), 0) !== 2) {
        throw new Error(
          `still connected: ${connected.map((match) => match[0]).join(', ')}; ` +
            `replay the run with TRELLIS_FUZZ_SEED=${SEED}`,
        );
      }
    }, 10_000);
    expect(server!.child.exitCode).toBeNull();
    process.stdout.write(
      `fuzz-ads: ${streams} streams, ${messages} messages, ${responses} responses; ` +
        `outcomes ${JSON.stringify(Object.fromEntries(statuses))}\n`,
    );
  }, 900_000);
});
