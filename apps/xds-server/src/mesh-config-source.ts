import type { Logger } from 'pino';
import type { Node } from '../../../libs/envoy-api/generated/envoy/config/core/v3/base';
import {
  nodeTracingOverrides,
  resolveTracing,
  type ResolvedTracing,
  type TracingOverrides,
} from '../../../libs/mesh-model/src/tracing';
import { MeshChangeFeed } from '../../../libs/persistence/src/mesh-change-feed';
import type { MeshContents, MeshReader } from '../../../libs/persistence/src/mesh-reader';
import { meshSnapshot, type ProxyTarget } from '../../../libs/translator/src/mesh-snapshot';
import { translate } from '../../../libs/translator/src/translate';
import type { ConfigSnapshot, ConfigSource } from '../../../libs/xds/src/config-source';

export interface MeshConfigSourceOptions {
  databaseUrl: string;
  /** Server-wide X-Ray defaults (TRELLIS_XRAY_*). */
  tracing: ResolvedTracing;
  /** How often revisions are compared with what was loaded, to repair missed notifications. */
  resyncMs: number;
}

/** A proxy group: what decides a proxy's configuration. */
interface GroupKey {
  kind: ProxyTarget['kind'];
  meshName: string;
  virtualNode: string;
  overrides: TracingOverrides;
}

/**
 * The App Mesh resources in Postgres as the engine's configuration source. Proxy identity
 * is App Mesh's: `node.id` (or `node.cluster`) is `mesh/<mesh>/virtualNode/<name>` or its
 * ARN. Proxies whose user agent is a gRPC library get proxyless configuration. A mesh is
 * read once per revision and translated once per group.
 */
export class MeshConfigSource implements ConfigSource {
  private readonly meshes = new Map<string, Promise<MeshContents | undefined>>();
  /** The revision each mesh was last seen at, from notifications, loads and resyncs. */
  private readonly revisions = new Map<string, number>();
  private readonly groupsByMesh = new Map<string, Set<string>>();
  private readonly listeners = new Set<(groups: readonly string[] | 'all') => void>();
  private readonly feed: MeshChangeFeed;
  private resyncTimer?: NodeJS.Timeout;

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
    );
  }

  async start(): Promise<void> {
    await this.feed.start();
    this.resyncTimer = setInterval(() => void this.resync(), this.options.resyncMs);
    this.resyncTimer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.resyncTimer);
    await this.feed.stop();
  }

  groupOf(node: Node): string | undefined {
    const identity = proxyIdentity(node);
    if (!identity) return undefined;
    const key: GroupKey = {
      kind: /^grpc/i.test(node.userAgentName ?? '') ? 'proxyless' : 'sidecar',
      ...identity,
      overrides: nodeTracingOverrides(node.metadata),
    };
    const group = JSON.stringify(key);
    let groups = this.groupsByMesh.get(identity.meshName);
    if (!groups) this.groupsByMesh.set(identity.meshName, (groups = new Set()));
    groups.add(group);
    return group;
  }

  meshOf(node: Node): string | undefined {
    return proxyIdentity(node)?.meshName;
  }

  async load(group: string): Promise<ConfigSnapshot | undefined> {
    const key = JSON.parse(group) as GroupKey;
    const contents = await this.mesh(key.meshName);
    if (!contents) return { resources: [] }; // no such mesh (any more): an empty configuration
    const tracing = resolveTracing(this.options.tracing, contents.tracing, key.overrides);
    const { resources, errors } = translate(meshSnapshot(contents), {
      kind: key.kind,
      virtualNode: key.virtualNode,
      tracing,
    });
    if (errors.length > 0) {
      this.logger.warn(
        { mesh: key.meshName, node: key.virtualNode, revision: contents.revision, errors },
        'translation errors',
      );
    }
    return { revision: contents.revision, resources };
  }

  onChange(listener: (groups: readonly string[] | 'all') => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private mesh(meshName: string): Promise<MeshContents | undefined> {
    let loading = this.meshes.get(meshName);
    if (!loading) {
      loading = this.reader.load(meshName).then(
        (contents) => {
          if (contents)
            this.revisions.set(
              meshName,
              Math.max(contents.revision, this.revisions.get(meshName) ?? 0),
            );
          return contents;
        },
        (error: unknown) => {
          this.meshes.delete(meshName); // retry on the next load
          throw error;
        },
      );
      this.meshes.set(meshName, loading);
    }
    return loading;
  }

  private meshChanged(meshName: string, revision: number): void {
    if ((this.revisions.get(meshName) ?? -1) >= revision && this.meshes.has(meshName)) return;
    this.revisions.set(meshName, revision);
    this.meshes.delete(meshName);
    const groups = this.groupsByMesh.get(meshName);
    if (!groups || groups.size === 0) return;
    this.logger.debug({ mesh: meshName, revision }, 'mesh changed');
    for (const listener of this.listeners) listener([...groups]);
  }

  /** Compares every mesh's revision with what was loaded: repairs missed notifications. */
  private async resync(): Promise<void> {
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

const IDENTITY = /^(?:arn:[^:]+:appmesh:[^:]*:[^:]*:)?mesh\/([^/]+)\/virtualNode\/([^/]+)$/;

/** Mesh and virtual node from a node id or cluster, in any form App Mesh's Envoy image sets. */
export function proxyIdentity(node: Node): { meshName: string; virtualNode: string } | undefined {
  for (const candidate of [node.id, node.cluster]) {
    const match = candidate ? IDENTITY.exec(candidate) : null;
    if (match) return { meshName: match[1]!, virtualNode: match[2]! };
  }
  return undefined;
}
