import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import type { Node } from '../../../libs/envoy-api/generated/envoy/config/core/v3/base';
import {
  nodeTracingOverrides,
  resolveTracing,
  type ResolvedTracing,
  type TracingOverrides,
} from '../../../libs/mesh-model/src/tracing';
import {
  foreignOwnerProblem,
  parseProxyIdentity,
  type ProxyIdentity,
} from '../../../libs/mesh-model/src/proxy-identity';
import { MeshChangeFeed } from '../../../libs/persistence/src/mesh-change-feed';
import type { MeshReader } from '../../../libs/persistence/src/mesh-reader';
import {
  cloudMapDependency,
  dnsDependency,
  recordingRegistry,
  recordingSnapshot,
  type MeshDependency,
} from '../../../libs/translator/src/dependencies';
import { EnvoyMessageCache } from '../../../libs/translator/src/envoy/message-cache';
import {
  changedMeshSnapshot,
  meshSnapshot,
  reloadedMeshSnapshot,
  type MeshSnapshot,
  type ProxyKind,
  type ProxyTarget,
} from '../../../libs/translator/src/mesh-snapshot';
import { translate } from '../../../libs/translator/src/translate';
import type {
  ConfigDiagnostic,
  ConfigSnapshot,
  ConfigSource,
} from '../../../libs/xds/src/config-source';
import type { XdsResource } from '../../../libs/xds-types/src/resource-types';
import type { ServedCertificates } from './served-certificates';
import type { EndpointRegistry } from '../../../libs/translator/src/mesh-snapshot';
import { HostnameResolutions } from './hostname-resolutions';
import type { RegistryEndpoints } from './registry-endpoints';

export interface MeshConfigSourceOptions {
  databaseUrl: string;
  /** Server-wide X-Ray defaults (TRELLIS_XRAY_*). */
  tracing: ResolvedTracing;
  /** How often revisions are compared with what was loaded, to repair missed notifications. */
  resyncMs: number;
  /** Certificates imported by ACM ARN, served over SDS; none when unset. */
  certificates?: ServedCertificates;
  /** Cloud Map instances for virtual nodes discovered through `awsCloudMap`. */
  registry?: RegistryEndpoints;
  /** TRELLIS_ACCOUNT_ID: a node id naming a mesh of another owner (`mesh/<m>@<owner>/…`) is refused. */
  accountId: string;
}

/** A proxy group: what decides a proxy's configuration. */
interface GroupKey {
  kind: ProxyKind;
  meshName: string;
  /** The virtual node or virtual gateway the proxy runs as. */
  name: string;
  overrides: TracingOverrides;
}

/** One mesh at one revision, and the groups translated from it so far. */
interface MeshState {
  revision: number;
  /** Undefined when the mesh does not exist. */
  snapshot?: MeshSnapshot;
  /** The mesh's tracing settings from the native API. */
  tracing?: Record<string, unknown>;
  translations: Map<string, GroupTranslation>;
}

/** A group's resources, and what of the mesh they were translated from. */
interface GroupTranslation {
  resources: readonly XdsResource[];
  diagnostics: readonly ConfigDiagnostic[];
  dependencies: ReadonlySet<MeshDependency>;
}

/**
 * The App Mesh resources in Postgres as the engine's configuration source. Proxy identity
 * is App Mesh's: `node.id` (or `node.cluster`) is `mesh/<mesh>/virtualNode/<name>` or its
 * ARN. Proxies whose user agent is a gRPC library get proxyless configuration.
 *
 * A mesh is read in full once; after a change only the rows the change log names are read, and
 * only the groups whose translation read something that changed are translated again. The others
 * keep their resources (the same objects, so the engine does not encode them again) at the new
 * revision.
 */
export class MeshConfigSource implements ConfigSource {
  /** The latest state of each mesh; a change replaces it with a promise of the next one. */
  private readonly meshes = new Map<string, Promise<MeshState>>();
  /** The revision each mesh was last seen at, from notifications, loads and resyncs. */
  private readonly revisions = new Map<string, number>();
  /** The groups the engine has loaded and not released, by mesh. */
  private readonly groupsByMesh = new Map<string, Set<string>>();
  /**
   * The parsed key of every group the engine has loaded and not released: only their
   * translations are kept, and a mesh whose last group goes is forgotten.
   */
  private readonly active = new Map<string, GroupKey>();
  /**
   * Meshes found not to exist, most recently seen last: a proxy of a mesh nobody created costs
   * no database read. A change notification or resync naming the mesh removes it.
   */
  private readonly unknownMeshes = new Set<string>();
  private readonly listeners = new Set<(groups: readonly string[] | 'all') => void>();
  private readonly feed: MeshChangeFeed;
  private resyncTimer?: NodeJS.Timeout;
  private translated = 0;
  /** Shared by every group and mesh: equal resources are one message, encoded once by the engine. */
  private readonly messages = new EnvoyMessageCache();
  /** DNS names of DNS-discovered nodes, resolved for proxyless clients. */
  private readonly hostnames: HostnameResolutions;
  /** What translations read of the registry and of DNS. */
  private readonly endpoints: EndpointRegistry;

  constructor(
    private readonly reader: MeshReader,
    private readonly logger: Logger,
    private readonly options: MeshConfigSourceOptions,
  ) {
    this.feed = new MeshChangeFeed(
      options.databaseUrl,
      logger,
      (meshName, revision) => this.meshChanged(meshName, revision),
      () => void this.resync(),
      () => void this.refreshCertificates(),
    );
    this.hostnames = new HostnameResolutions(logger);
    const registry = options.registry;
    this.endpoints = {
      instances: (namespaceName, serviceName) => registry?.instances(namespaceName, serviceName),
      addresses: (hostname) => this.hostnames.addresses(hostname),
    };
  }

  async start(): Promise<void> {
    await this.refreshCertificates();
    this.hostnames.onChange((hostname) => this.registryChanged(dnsDependency(hostname)));
    const registry = this.options.registry;
    if (registry) {
      await registry.start();
      registry.onChange((namespaceName, serviceName) =>
        this.registryChanged(cloudMapDependency(namespaceName, serviceName)),
      );
    }
    await this.feed.start();
    this.resyncTimer = setInterval(() => void this.resync(), this.options.resyncMs);
    this.resyncTimer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.resyncTimer);
    await this.feed.stop();
    await this.options.registry?.stop();
    this.hostnames.stop();
  }

  /**
   * Refuses node ids longer than any App Mesh proxy identity, naming too long a mesh or node, or
   * naming a mesh of another account.
   */
  admit(node: Node): string | undefined {
    return identityProblem(node, this.options.accountId);
  }

  groupOf(node: Node): string | undefined {
    const identity = proxyIdentity(node);
    if (!identity) return undefined;
    const key: GroupKey = {
      kind: proxyKind(identity, node),
      meshName: identity.meshName,
      name: identity.name,
      overrides: nodeTracingOverrides(node.metadata),
    };
    return JSON.stringify(key);
  }

  meshOf(node: Node): string | undefined {
    return proxyIdentity(node)?.meshName;
  }

  async load(group: string): Promise<ConfigSnapshot | undefined> {
    let key = this.active.get(group);
    if (!key) {
      key = JSON.parse(group) as GroupKey;
      this.active.set(group, key);
      let groups = this.groupsByMesh.get(key.meshName);
      if (!groups) this.groupsByMesh.set(key.meshName, (groups = new Set()));
      groups.add(group);
    }
    const state = await this.mesh(key.meshName);
    if (!state.snapshot) return { resources: [] }; // no such mesh (any more): an empty configuration
    let translation = state.translations.get(group);
    if (!translation) {
      translation = this.translate(state, state.snapshot, key);
      state.translations.set(group, translation);
    }
    return {
      revision: state.revision,
      resources: translation.resources,
      diagnostics: translation.diagnostics,
    };
  }

  /**
   * The engine has no stream of `group` left: its translation goes (it is made again if needed),
   * and with the mesh's last group everything kept for the mesh goes too.
   */
  release(group: string): void {
    const meshName = this.active.get(group)?.meshName;
    if (meshName === undefined) return;
    this.active.delete(group);
    const groups = this.groupsByMesh.get(meshName);
    groups?.delete(group);
    if (!groups || groups.size === 0) {
      this.groupsByMesh.delete(meshName);
      this.meshes.delete(meshName);
      this.revisions.delete(meshName);
      return;
    }
    void this.meshes.get(meshName)?.then(
      (current) => {
        if (!this.active.has(group)) current.translations.delete(group);
      },
      () => undefined,
    );
  }

  /** What the source keeps, for tests: every count is 0 once every proxy has gone. */
  async kept(): Promise<{ groups: number; meshes: number; translations: number }> {
    return {
      groups: this.active.size,
      meshes: this.meshes.size,
      translations: await this.keptTranslations(),
    };
  }

  /** Translations kept now, over all meshes (tests read it). */
  async keptTranslations(): Promise<number> {
    const states = await Promise.allSettled(this.meshes.values());
    return states.reduce(
      (sum, state) => sum + (state.status === 'fulfilled' ? state.value.translations.size : 0),
      0,
    );
  }

  /** Group translations run so far (benchmarks and tests read it). */
  get translations(): number {
    return this.translated;
  }

  onChange(listener: (groups: readonly string[] | 'all') => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private translate(state: MeshState, snapshot: MeshSnapshot, key: GroupKey): GroupTranslation {
    this.translated += 1;
    const tracing = resolveTracing(this.options.tracing, state.tracing, key.overrides);
    const certificates = this.options.certificates?.current;
    const recorded = recordingSnapshot(certificates ? { ...snapshot, certificates } : snapshot);
    const { resources, errors } = translate(
      recorded.mesh,
      proxyTarget(key, tracing),
      recordingRegistry(this.endpoints, recorded.dependencies),
      this.messages,
    );
    if (errors.length > 0) {
      this.logger.warn(
        { mesh: key.meshName, node: key.name, revision: state.revision, errors },
        'translation errors',
      );
    }
    return {
      resources,
      diagnostics: errors.map(({ kind, path, message }) => ({ kind, resource: path, message })),
      dependencies: recorded.dependencies,
    };
  }

  private mesh(meshName: string): Promise<MeshState> {
    let state = this.meshes.get(meshName);
    if (!state) {
      state = this.unknownMeshes.has(meshName)
        ? Promise.resolve({ revision: 0, translations: new Map() })
        : this.read(meshName);
      this.meshes.set(meshName, state);
    }
    return state;
  }

  private rememberUnknown(meshName: string): void {
    this.unknownMeshes.delete(meshName);
    this.unknownMeshes.add(meshName);
    if (this.unknownMeshes.size > UNKNOWN_MESHES_KEPT) {
      for (const oldest of this.unknownMeshes) {
        this.unknownMeshes.delete(oldest);
        break;
      }
    }
  }

  /** Reads the whole mesh; forgets the attempt when it fails, so that the next load retries. */
  private read(meshName: string): Promise<MeshState> {
    const reading = this.reader.load(meshName).then(
      (contents): MeshState => {
        const revision = contents?.revision ?? 0;
        if (contents) this.seen(meshName, revision);
        else this.rememberUnknown(meshName);
        return {
          revision,
          snapshot: contents && meshSnapshot(contents),
          tracing: contents?.tracing,
          translations: new Map(),
        };
      },
      (error: unknown) => {
        if (this.meshes.get(meshName) === reading) this.meshes.delete(meshName);
        throw error;
      },
    );
    return reading;
  }

  private seen(meshName: string, revision: number): void {
    this.revisions.set(meshName, Math.max(revision, this.revisions.get(meshName) ?? 0));
  }

  private meshChanged(meshName: string, revision: number): void {
    if (this.unknownMeshes.delete(meshName)) this.meshes.delete(meshName);
    const current = this.meshes.get(meshName);
    if ((this.revisions.get(meshName) ?? -1) >= revision && current) return;
    this.revisions.set(meshName, revision);
    const groups = this.groupsByMesh.get(meshName);
    if (!current || !groups || groups.size === 0) {
      // Nothing translated, or nobody to tell: the next load reads the mesh afresh.
      this.meshes.delete(meshName);
      if (groups && groups.size > 0) this.announce(meshName, revision, [...groups]);
      return;
    }
    const next = current
      .then(async (state) => {
        const advanced = await this.advance(meshName, state);
        if (advanced === state) return state; // an earlier change already brought it here
        // Groups to translate again go first; the others only move to the new revision.
        const fresh: string[] = [];
        const kept: string[] = [];
        for (const group of this.groupsByMesh.get(meshName) ?? []) {
          (advanced.translations.has(group) ? kept : fresh).push(group);
        }
        this.announce(meshName, advanced.revision, [...fresh, ...kept]);
        return advanced;
      })
      .catch((error: unknown) => {
        this.logger.warn(
          { err: error, mesh: meshName },
          'reading a mesh change failed; serving the last good configuration',
        );
        // Forget what was seen, so that the next resync (or load) reads the mesh again.
        if (this.meshes.get(meshName) === next) this.meshes.delete(meshName);
        this.revisions.delete(meshName);
        throw error;
      });
    next.catch(() => undefined); // reported above; loads that await it see the failure
    this.meshes.set(meshName, next);
  }

  /**
   * The mesh at its current revision from `state`: the rows written since, or the whole mesh when
   * the change log cannot tell. Translations whose dependencies did not change are kept. Returns
   * `state` itself when it is already current.
   */
  private async advance(meshName: string, state: MeshState): Promise<MeshState> {
    if (state.revision >= (this.revisions.get(meshName) ?? 0)) return state; // an earlier advance read it
    const changes = state.snapshot && (await this.reader.changesSince(meshName, state.revision));
    if (changes && changes.revision === state.revision) return state;
    let next: { mesh: MeshSnapshot; changed: Set<MeshDependency> } | undefined;
    let tracing = state.tracing;
    if (state.snapshot && changes && !changes.removed.some((r) => r.kind === 'mesh')) {
      next = changedMeshSnapshot(state.snapshot, changes);
      if (changes.tracing) tracing = changes.tracing.settings;
    } else {
      const contents = await this.reader.load(meshName);
      if (!contents)
        return { revision: this.revisions.get(meshName) ?? 0, translations: new Map() };
      tracing = contents.tracing;
      next = state.snapshot
        ? reloadedMeshSnapshot(state.snapshot, contents)
        : { mesh: meshSnapshot(contents), changed: new Set(['mesh']) };
    }
    this.seen(meshName, next.mesh.revision);
    const everything = !state.snapshot || !isDeepStrictEqual(tracing, state.tracing);
    const changed = [...next.changed];
    const translations = new Map<string, GroupTranslation>();
    for (const [group, translation] of state.translations) {
      if (!this.active.has(group)) continue; // released meanwhile
      if (everything || changed.some((d) => translation.dependencies.has(d))) continue;
      translations.set(group, translation);
    }
    this.logger.debug(
      {
        mesh: meshName,
        revision: next.mesh.revision,
        changed,
        retranslate: state.translations.size - translations.size,
      },
      'mesh changed',
    );
    return { revision: next.mesh.revision, snapshot: next.mesh, tracing, translations };
  }

  /**
   * A registry service's endpoints (or a DNS name's addresses) changed: only the groups whose
   * translation read it are translated again, at the same mesh revision. Their listeners, routes and clusters come
   * out the same, so the engine sends them nothing but the changed endpoints.
   */
  private registryChanged(dependency: MeshDependency): void {
    for (const meshName of this.meshes.keys()) this.invalidate(meshName, dependency);
  }

  private invalidate(meshName: string, dependency: MeshDependency): void {
    const current = this.meshes.get(meshName);
    void current?.then(
      (state) => {
        const affected = [...state.translations]
          .filter(([, translation]) => translation.dependencies.has(dependency))
          .map(([group]) => group);
        for (const group of affected) state.translations.delete(group);
        if (affected.length > 0) this.announce(meshName, state.revision, affected);
        // A newer state may have copied the translations before they were dropped here.
        if (this.meshes.get(meshName) !== current) this.invalidate(meshName, dependency);
      },
      () => undefined,
    );
  }

  private announce(meshName: string, revision: number, groups: string[]): void {
    this.logger.debug({ mesh: meshName, revision, groups: groups.length }, 'mesh change announced');
    for (const listener of this.listeners) listener(groups);
  }

  /**
   * Re-reads the certificate store; the groups whose translation read a certificate that changed
   * are translated again (only their secrets differ, so only SDS is pushed).
   */
  private async refreshCertificates(): Promise<void> {
    let changed: string[];
    try {
      changed = (await this.options.certificates?.refresh()) ?? [];
    } catch (error) {
      this.logger.warn({ err: error }, 'reading certificates failed; serving the last good ones');
      return;
    }
    if (changed.length === 0) return;
    const dependencies = changed.map((arn) => `certificate/${arn}`);
    for (const [meshName, current] of this.meshes) {
      const next = current.then((state) => {
        const stale = [...state.translations]
          .filter(([, translation]) => dependencies.some((d) => translation.dependencies.has(d)))
          .map(([group]) => group);
        if (stale.length === 0) return state;
        const translations = new Map(state.translations);
        stale.forEach((group) => translations.delete(group));
        this.announce(meshName, state.revision, stale);
        return { ...state, translations };
      });
      next.catch(() => undefined); // a failed read is reported where it failed
      this.meshes.set(meshName, next);
    }
  }

  /** Compares every mesh's revision with what was loaded: repairs missed notifications. */
  private async resync(): Promise<void> {
    await this.refreshCertificates();
    try {
      const current = await this.reader.revisions();
      for (const [meshName, revision] of current) {
        if (revision !== this.revisions.get(meshName)) this.meshChanged(meshName, revision);
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'mesh resync failed; serving the last good configuration');
    }
  }
}

/** App Mesh's ResourceName: 1 to 255 characters (reference/models, `ResourceName`). */
const MAX_NAME_LENGTH = 255;
/**
 * The longest node id or cluster accepted: an App Mesh ARN of the longest names
 * (`arn:<partition>:appmesh:<region>:<account>:mesh/<255>/virtualGateway/<255>`) fits with room.
 */
export const MAX_NODE_ID_LENGTH = 1024;
/** Unknown mesh names remembered (at most 255 characters each). */
const UNKNOWN_MESHES_KEPT = 10_000;

/** Why a node cannot be a proxy of any mesh served here, or undefined when it may connect. */
export function identityProblem(node: Node, accountId: string): string | undefined {
  for (const [field, value] of [
    ['node.id', node.id],
    ['node.cluster', node.cluster],
  ] as const) {
    if ((value?.length ?? 0) > MAX_NODE_ID_LENGTH) {
      return `${field} is ${value!.length} characters; an App Mesh proxy identity is at most ${MAX_NODE_ID_LENGTH}`;
    }
    const identity = parseProxyIdentity(value);
    if (!identity) continue;
    if (identity.meshName.length > MAX_NAME_LENGTH || identity.name.length > MAX_NAME_LENGTH) {
      return `${field} names a mesh, virtual node or gateway longer than ${MAX_NAME_LENGTH} characters, App Mesh's limit`;
    }
    const foreign = foreignOwnerProblem(identity, accountId);
    if (foreign !== undefined) return `${field}: ${foreign}`;
  }
  return undefined;
}

/**
 * Mesh and virtual node or gateway from a node id or cluster, in any form App Mesh's Envoy image
 * or the App Mesh controller for Kubernetes sets ({@link parseProxyIdentity}).
 */
export function proxyIdentity(node: Node): ProxyIdentity | undefined {
  return parseProxyIdentity(node.id) ?? parseProxyIdentity(node.cluster);
}

/** A virtual node's proxy is proxyless when its user agent is a gRPC library, else a sidecar. */
function proxyKind(identity: ProxyIdentity, node: Node): ProxyKind {
  switch (identity.kind) {
    case 'virtualNode':
      return /^grpc/i.test(node.userAgentName ?? '') ? 'proxyless' : 'sidecar';
    case 'virtualGateway':
      return 'gateway';
  }
}

function proxyTarget(key: GroupKey, tracing: ResolvedTracing): ProxyTarget {
  switch (key.kind) {
    case 'sidecar':
    case 'proxyless':
      return { kind: key.kind, virtualNode: key.name, tracing };
    case 'gateway':
      return { kind: key.kind, virtualGateway: key.name, tracing };
  }
}
