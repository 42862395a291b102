import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import {
  Cluster,
  Cluster_DiscoveryType,
  Cluster_LbPolicy,
} from '../../libs/envoy-api/generated/envoy/config/cluster/v3/cluster';
import type { Node } from '../../libs/envoy-api/generated/envoy/config/core/v3/base';
import {
  ApiVersion,
  type ConfigSource as EnvoyConfigSource,
} from '../../libs/envoy-api/generated/envoy/config/core/v3/config_source';
import { ClusterLoadAssignment } from '../../libs/envoy-api/generated/envoy/config/endpoint/v3/endpoint';
import { Listener } from '../../libs/envoy-api/generated/envoy/config/listener/v3/listener';
import { RouteConfiguration } from '../../libs/envoy-api/generated/envoy/config/route/v3/route';
import { Router } from '../../libs/envoy-api/generated/envoy/extensions/filters/http/router/v3/router';
import {
  HttpConnectionManager,
  HttpConnectionManager_CodecType,
} from '../../libs/envoy-api/generated/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager';
import { AggregatedDiscoveryServiceClient } from '../../libs/envoy-api/generated/envoy/service/discovery/v3/ads';
import type {
  DeltaDiscoveryRequest,
  DeltaDiscoveryResponse,
  DiscoveryRequest,
  DiscoveryResponse,
} from '../../libs/envoy-api/generated/envoy/service/discovery/v3/discovery';
import { decodeAny, packAny } from '../../libs/envoy-api/src/any';
import { AdsServer } from '../../libs/xds/src/ads-server';
import type { ConfigSnapshot, ConfigSource } from '../../libs/xds/src/config-source';
import { ResourceEncoder, setVersion } from '../../libs/xds/src/encoded-resource';
import type { XdsResource } from '../../libs/xds-types/src/resource-types';
import {
  CLUSTER,
  CLUSTER_LOAD_ASSIGNMENT,
  isServedType,
  LISTENER,
  ROUTE_CONFIGURATION,
  TYPE_SHORT_NAMES,
  type TypeUrl,
} from '../../libs/xds-types/src/resource-types';
import { XdsEngine, type XdsEngineOptions } from '../../libs/xds/src/xds-engine';

// ---------------------------------------------------------------------------------------------
// Envoy resources: small builders of valid resources, in the shapes Envoy and gRPC accept.

/** Envoy config for one group of proxies, by xDS type. */
export interface EnvoyConfig {
  listeners?: Listener[];
  routes?: RouteConfiguration[];
  clusters?: Cluster[];
  endpoints?: ClusterLoadAssignment[];
}

const ads: EnvoyConfigSource = {
  resourceApiVersion: ApiVersion.V3,
  configSourceSpecifier: { $case: 'ads', value: {} },
};

/** A cluster whose endpoints come over ADS, under the cluster's own name. */
export function edsCluster(name: string, connectTimeoutSeconds = 1): Cluster {
  return {
    name,
    clusterDiscoveryType: { $case: 'type', value: Cluster_DiscoveryType.EDS },
    edsClusterConfig: { edsConfig: ads, serviceName: name },
    connectTimeout: { seconds: connectTimeoutSeconds, nanos: 0 },
    lbPolicy: Cluster_LbPolicy.ROUND_ROBIN,
  };
}

export interface SocketEndpoint {
  address: string;
  port: number;
}

/** The endpoints of a cluster, in one locality with a weight (gRPC skips localities without one). */
export function loadAssignment(
  clusterName: string,
  endpoints: readonly SocketEndpoint[],
): ClusterLoadAssignment {
  return {
    clusterName,
    endpoints: [
      {
        locality: { region: 'test-region', zone: 'test-zone', subZone: '' },
        loadBalancingWeight: 1,
        priority: 0,
        lbEndpoints: endpoints.map(({ address, port }) => ({
          hostIdentifier: {
            $case: 'endpoint',
            value: {
              address: {
                address: {
                  $case: 'socketAddress',
                  value: { address, portSpecifier: { $case: 'portValue', value: port } },
                },
              },
            },
          },
        })),
      },
    ],
  };
}

/**
 * A listener whose HTTP connection manager takes its routes from RDS over ADS. As an API
 * listener it is what a proxyless gRPC client resolving `xds:///<name>` asks for.
 */
export function apiListener(name: string, routeConfigName: string): Listener {
  const hcm: HttpConnectionManager = {
    statPrefix: name.replace(/[^a-zA-Z0-9_]/g, '_'),
    codecType: HttpConnectionManager_CodecType.AUTO,
    routeSpecifier: { $case: 'rds', value: { routeConfigName, configSource: ads } },
    httpFilters: [
      {
        name: 'envoy.filters.http.router',
        configType: { $case: 'typedConfig', value: packAny(Router, {}) },
      },
    ],
  };
  return { name, apiListener: { apiListener: packAny(HttpConnectionManager, hcm) } };
}

/** Cluster name → weight, in the order the route lists them. */
export type WeightedClusters = Record<string, number>;

/** One virtual host for `domains` whose only route splits all traffic between clusters by weight. */
export function routeConfiguration(
  name: string,
  weightedClusters: WeightedClusters,
  domains: string[] = ['*'],
): RouteConfiguration {
  return {
    name,
    virtualHosts: [
      {
        name: `${name}_vhost`,
        domains,
        routes: [
          {
            match: { pathSpecifier: { $case: 'prefix', value: '/' } },
            action: {
              $case: 'route',
              value: {
                clusterSpecifier: {
                  $case: 'weightedClusters',
                  value: {
                    clusters: Object.entries(weightedClusters).map(([clusterName, weight]) => ({
                      name: clusterName,
                      weight,
                    })),
                  },
                },
              },
            },
          },
        ],
      },
    ],
  };
}

/** The resources a configuration source hands the engine for `config`. */
export function xdsResources(config: EnvoyConfig): XdsResource[] {
  return [
    ...(config.listeners ?? []).map((message) => resource(LISTENER, message.name, message)),
    ...(config.routes ?? []).map((message) => resource(ROUTE_CONFIGURATION, message.name, message)),
    ...(config.clusters ?? []).map((message) => resource(CLUSTER, message.name, message)),
    ...(config.endpoints ?? []).map((message) =>
      resource(CLUSTER_LOAD_ASSIGNMENT, message.clusterName, message),
    ),
  ];
}

function resource(typeUrl: TypeUrl, name: string | undefined, message: object): XdsResource {
  return { typeUrl, name: name ?? '', message };
}

/** The version of one resource, as the engine computes it: a hash of its encoding. */
export function resourceVersion(typeUrl: TypeUrl, message: object, name = ''): string {
  return new ResourceEncoder().encode({ typeUrl, name, message }).version;
}

/** The `version_info` of a state-of-the-world response holding exactly `config`'s resources of one type. */
export function typeVersion(typeUrl: TypeUrl, config: EnvoyConfig): string {
  return setVersion(
    xdsResources(config)
      .filter((r) => r.typeUrl === typeUrl)
      .map((r) => ({ name: r.name, version: resourceVersion(typeUrl, r.message, r.name) })),
  );
}

// ---------------------------------------------------------------------------------------------
// A configuration source the test sets directly.

/** Groups proxies by `node.cluster` (or `node.id` when that is empty), like App Mesh virtual nodes. */
export class TestConfigSource implements ConfigSource {
  private readonly snapshots = new Map<string, ConfigSnapshot>();
  private readonly listeners = new Set<(groups: readonly string[]) => void>();
  /** How many times each group was loaded. */
  readonly loads = new Map<string, number>();
  /** Loads that fail before loads work again, as when the database is down. */
  failingLoads = 0;
  private held?: Array<() => void>;

  /** Sets a group's configuration and tells the engines; the same objects give the same versions. */
  publish(group: string, config: EnvoyConfig, revision?: number): void {
    this.snapshots.set(group, { revision, resources: xdsResources(config) });
    for (const listener of this.listeners) listener([group]);
  }

  groupOf(node: Node): string | undefined {
    return node.cluster || node.id || undefined;
  }

  meshOf(): string {
    return 'test-mesh';
  }

  load(group: string): Promise<ConfigSnapshot | undefined> {
    this.loads.set(group, (this.loads.get(group) ?? 0) + 1);
    if (this.failingLoads > 0) {
      this.failingLoads--;
      return Promise.reject(new Error('the database is unavailable'));
    }
    // A load answers with the snapshot as it is when asked, however late the answer comes.
    const snapshot = this.snapshots.get(group);
    const held = this.held;
    if (!held) return Promise.resolve(snapshot);
    return new Promise((resolve) => held.push(() => resolve(snapshot)));
  }

  /** Makes loads wait until `releaseLoads()`, like queries to a slow database. */
  holdLoads(): void {
    this.held = [];
  }

  /** Answers the waiting loads, the latest first (the worst order), and stops holding. */
  releaseLoads(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const answer of held.reverse()) answer();
  }

  onChange(listener: (groups: readonly string[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/**
 * Retries an assertion until it holds, for what has no event to await: the server answers
 * an ACK or NACK with nothing, so proxy status changes without a response to wait for.
 */
export async function eventually(
  assertion: () => void | Promise<void>,
  timeoutMs = 2000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await assertion();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

// ---------------------------------------------------------------------------------------------
// An xDS server for tests: engine and ADS service on a free port.

export interface TestXdsServer {
  engine: XdsEngine;
  port: number;
  close(): Promise<void>;
}

export async function startXdsServer(
  source: ConfigSource,
  options: XdsEngineOptions = { debounceMs: 5, maxWaitMs: 50 },
): Promise<TestXdsServer> {
  const logger = pino({ level: process.env.TRELLIS_TEST_LOG_LEVEL ?? 'silent' });
  const engine = new XdsEngine(source, logger, options);
  engine.start();
  const server = new AdsServer(engine, logger);
  const port = await server.listen('127.0.0.1', 0);
  return {
    engine,
    port,
    close: async () => {
      engine.stop();
      await server.close(0);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// ADS clients over a real socket, for asserting exactly what a proxy receives.

/** Responses as they arrive, for `await next()`; fails waiting tests when the stream ends. */
class ResponseQueue<T> {
  private readonly arrived: T[] = [];
  private readonly waiting: Array<{ resolve(item: T): void; reject(error: Error): void }> = [];
  private failure?: Error;

  push(item: T): void {
    const waiter = this.waiting.shift();
    if (waiter) waiter.resolve(item);
    else this.arrived.push(item);
  }

  fail(error: Error): void {
    this.failure ??= error;
    for (const waiter of this.waiting.splice(0)) waiter.reject(error);
  }

  /** The next response; rejects when none arrives within `timeoutMs` (a failure guard, not a sleep). */
  next(timeoutMs: number): Promise<T> {
    const item = this.arrived.shift();
    if (item !== undefined) return Promise.resolve(item);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<T>((resolve, reject) => {
      const waiter = {
        resolve: (value: T) => {
          clearTimeout(timer);
          resolve(value);
        },
        reject: (error: Error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        this.waiting.splice(this.waiting.indexOf(waiter), 1);
        reject(new Error(`no xDS response within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.push(waiter);
    });
  }
}

/**
 * How long a test client waits for a response before it fails: a guard, not a sleep, so it costs
 * nothing when the response comes. Long enough for a TLS handshake and a first load on a loaded
 * CI machine (3 s was not, in the SPIFFE test).
 */
const RESPONSE_TIMEOUT_MS = 8000;

/** A test node: `group` is the node's cluster, which TestConfigSource groups by. */
export function testNode(id: string, group: string): Node {
  return {
    id,
    cluster: group,
    userAgentName: 'trellis-test',
    userAgentVersionType: { $case: 'userAgentVersion', value: '1.2.3' },
  };
}

/** A state-of-the-world response as a test reads it. */
export interface SotwSummary {
  type: string;
  version: string;
  nonce: string;
  /** Resource names in the order the response lists them. */
  names: string[];
}

/** The name a resource carries inside its message (ClusterLoadAssignment calls it cluster_name). */
function nameOf(message: unknown): string {
  const named = message as { name?: string; clusterName?: string };
  return named.name ?? named.clusterName ?? '';
}

export function shortType(typeUrl: string | undefined): string {
  return typeUrl && isServedType(typeUrl) ? TYPE_SHORT_NAMES[typeUrl] : `${typeUrl}`;
}

/** The resources of a state-of-the-world response, decoded. */
export function decodedResources(response: DiscoveryResponse): unknown[] {
  return (response.resources ?? []).map((any) => {
    if (any.typeUrl !== response.typeUrl)
      throw new Error(`resource of ${any.typeUrl} in a ${response.typeUrl} response`);
    const decoded = decodeAny(any);
    if (!decoded) throw new Error(`no generated type for ${any.typeUrl}`);
    return decoded.message;
  });
}

export function sotwSummary(response: DiscoveryResponse): SotwSummary {
  return {
    type: shortType(response.typeUrl),
    version: response.versionInfo ?? '',
    nonce: response.nonce ?? '',
    names: decodedResources(response).map(nameOf),
  };
}

/**
 * A state-of-the-world ADS client that behaves like Envoy: per type it remembers its
 * subscription, the last version it accepted and the last nonce it saw, and sends them
 * with every request. The node goes on the first request only.
 */
/** How a test client reaches the xDS port; by default plaintext to 127.0.0.1. */
export interface AdsChannel {
  /** Host name to dial (and to present as the authority); default 127.0.0.1. */
  host?: string;
  credentials: grpc.ChannelCredentials;
  /**
   * Channel options. Clients with equal address, credentials and options share one HTTP/2
   * connection (grpc-js' global subchannel pool); `grpc.use_local_subchannel_pool` gives one its own.
   */
  options?: grpc.ChannelOptions;
  /**
   * Sent with each stream even over plaintext (grpc-js composes call credentials only with TLS
   * channel credentials): SigV4 metadata, as Envoy's aws_iam sends it, to a loopback server.
   */
  callCredentials?: grpc.CallCredentials;
}

function adsClient(port: number, channel?: AdsChannel): AggregatedDiscoveryServiceClient {
  return new AggregatedDiscoveryServiceClient(
    `${channel?.host ?? '127.0.0.1'}:${port}`,
    channel?.credentials ?? grpc.credentials.createInsecure(),
    channel?.options,
  );
}

export class SotwAdsClient {
  private readonly client: AggregatedDiscoveryServiceClient;
  private readonly call: grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;
  private readonly responses = new ResponseQueue<DiscoveryResponse>();
  private nodeSent = false;
  private closing = false;
  /** Per type: subscribed names, accepted version, latest nonce seen. */
  readonly state = new Map<string, { names: string[]; version: string; nonce: string }>();

  /** `node` undefined: a client that never identifies itself. */
  constructor(
    port: number,
    readonly node: Node | undefined,
    channel?: AdsChannel,
  ) {
    this.client = adsClient(port, channel);
    this.call = this.client.streamAggregatedResources({ credentials: channel?.callCredentials });
    this.call.on('data', (response: DiscoveryResponse) => this.responses.push(response));
    this.call.on('error', (error: Error) => {
      if (!this.closing) this.responses.fail(error);
    });
    this.call.on('end', () => this.responses.fail(new Error('the server ended the stream')));
  }

  /** Sends a request as given (plus the node on the first); for stale nonces and other oddities. */
  send(request: DiscoveryRequest): void {
    this.call.write(this.nodeSent || !this.node ? request : { ...request, node: this.node });
    this.nodeSent = true;
  }

  /**
   * Subscribes to `names` of a type (`[]` on a first request is the legacy wildcard), with the
   * version this client has and the latest nonce it saw, as Envoy does.
   */
  subscribe(typeUrl: TypeUrl, names: string[], versionInfo?: string): void {
    const state = this.typeState(typeUrl);
    state.names = names;
    if (versionInfo !== undefined) state.version = versionInfo;
    this.send({
      typeUrl,
      resourceNames: names,
      versionInfo: state.version,
      responseNonce: state.nonce,
    });
  }

  /** The next response; the client now knows its nonce. */
  async next(): Promise<DiscoveryResponse> {
    const response = await this.responses.next(RESPONSE_TIMEOUT_MS);
    this.typeState(response.typeUrl ?? '').nonce = response.nonce ?? '';
    return response;
  }

  async nextSummary(): Promise<SotwSummary> {
    return sotwSummary(await this.next());
  }

  /** Accepts a response: its version becomes the client's. */
  ack(response: DiscoveryResponse): void {
    const state = this.typeState(response.typeUrl ?? '');
    state.version = response.versionInfo ?? '';
    this.send({
      typeUrl: response.typeUrl,
      resourceNames: state.names,
      versionInfo: state.version,
      responseNonce: response.nonce,
    });
  }

  /** Rejects a response: the client keeps its version and says why. */
  nack(response: DiscoveryResponse, message: string): void {
    const state = this.typeState(response.typeUrl ?? '');
    this.send({
      typeUrl: response.typeUrl,
      resourceNames: state.names,
      versionInfo: state.version,
      responseNonce: response.nonce,
      errorDetail: { code: grpc.status.INVALID_ARGUMENT, message, details: [] },
    });
  }

  /** Receives the next response, checks its type and accepts it. */
  async nextAcked(): Promise<SotwSummary> {
    const response = await this.next();
    this.ack(response);
    return sotwSummary(response);
  }

  close(): void {
    this.closing = true;
    this.call.cancel();
    this.client.close();
  }

  private typeState(typeUrl: string) {
    let state = this.state.get(typeUrl);
    if (!state) this.state.set(typeUrl, (state = { names: [], version: '', nonce: '' }));
    return state;
  }
}

/** A delta response as a test reads it. */
export interface DeltaSummary {
  type: string;
  nonce: string;
  /** Name → version of the resources sent, in the order the response lists them. */
  resources: Record<string, string>;
  removed: string[];
}

export function deltaSummary(response: DeltaDiscoveryResponse): DeltaSummary {
  const resources: Record<string, string> = {};
  for (const resource of response.resources ?? []) {
    const decoded = resource.resource && decodeAny(resource.resource);
    if (!decoded || nameOf(decoded.message) !== resource.name)
      throw new Error(`resource ${resource.name} does not hold a message of that name`);
    resources[resource.name ?? ''] = resource.version ?? '';
  }
  return {
    type: shortType(response.typeUrl),
    nonce: response.nonce ?? '',
    resources,
    removed: response.removedResources ?? [],
  };
}

/** An incremental ADS client: requests are sent as given, with the node on the first. */
export class DeltaAdsClient {
  private readonly client: AggregatedDiscoveryServiceClient;
  private readonly call: grpc.ClientDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;
  private readonly responses = new ResponseQueue<DeltaDiscoveryResponse>();
  private nodeSent = false;
  private closing = false;

  constructor(
    port: number,
    readonly node: Node,
    channel?: AdsChannel,
  ) {
    this.client = adsClient(port, channel);
    this.call = this.client.deltaAggregatedResources();
    this.call.on('data', (response: DeltaDiscoveryResponse) => this.responses.push(response));
    this.call.on('error', (error: Error) => {
      if (!this.closing) this.responses.fail(error);
    });
    this.call.on('end', () => this.responses.fail(new Error('the server ended the stream')));
  }

  send(request: DeltaDiscoveryRequest): void {
    this.call.write(this.nodeSent ? request : { ...request, node: this.node });
    this.nodeSent = true;
  }

  subscribe(
    typeUrl: TypeUrl,
    subscribe: string[],
    initialResourceVersions?: Record<string, string>,
  ): void {
    this.send({ typeUrl, resourceNamesSubscribe: subscribe, initialResourceVersions });
  }

  unsubscribe(typeUrl: TypeUrl, names: string[]): void {
    this.send({ typeUrl, resourceNamesUnsubscribe: names });
  }

  next(): Promise<DeltaDiscoveryResponse> {
    return this.responses.next(RESPONSE_TIMEOUT_MS);
  }

  async nextSummary(): Promise<DeltaSummary> {
    return deltaSummary(await this.next());
  }

  ack(response: DeltaDiscoveryResponse): void {
    this.send({ typeUrl: response.typeUrl, responseNonce: response.nonce });
  }

  nack(response: DeltaDiscoveryResponse, message: string): void {
    this.send({
      typeUrl: response.typeUrl,
      responseNonce: response.nonce,
      errorDetail: { code: grpc.status.INVALID_ARGUMENT, message, details: [] },
    });
  }

  async nextAcked(): Promise<DeltaSummary> {
    const response = await this.next();
    this.ack(response);
    return deltaSummary(response);
  }

  close(): void {
    this.closing = true;
    this.call.cancel();
    this.client.close();
  }
}
