import type { Node } from '../../envoy-api/generated/envoy/config/core/v3/base';
import type { EncodedResource } from './encoded-resource';
import type { XdsResource } from '../../xds-types/src/resource-types';
import type { TypeUrl } from '../../xds-types/src/resource-types';

/** A problem the source met building a group's configuration, shown in proxy status. */
export interface ConfigDiagnostic {
  /** One of the kinds the source defines (App Mesh: libs/mesh-model diagnostics.ts). */
  kind: string;
  /** What it belongs to, e.g. `virtualNode/web.spec.listeners[0]`. */
  resource: string;
  message: string;
}

/** What a configuration source wants a group of proxies to have. */
export interface ConfigSnapshot {
  /** The mesh revision the snapshot was built from, if the source has one. */
  revision?: number;
  resources: readonly XdsResource[];
  /** What could not be put in `resources` as the source describes it. */
  diagnostics?: readonly ConfigDiagnostic[];
}

/**
 * Where the engine gets configuration. Proxies that need the same configuration form a
 * group (for App Mesh: a virtual node and its tracing settings); the engine loads, encodes
 * and validates each group's snapshot once and shares it among the group's streams.
 */
export interface ConfigSource {
  /**
   * Checked before anything is kept for a stream: why the node may not connect (a node id
   * beyond the source's limits, say), or undefined when it may.
   */
  admit?(node: Node): string | undefined;
  /** The group of a proxy, from its node; undefined when the node names nothing this source knows. */
  groupOf(node: Node): string | undefined;
  load(group: string): Promise<ConfigSnapshot | undefined>;
  /** The mesh a proxy belongs to, for status and metrics labels. */
  meshOf?(node: Node): string | undefined;
  /** Starts watching for changes (called before the engine subscribes), and stops. */
  start?(): Promise<void>;
  stop?(): Promise<void>;
  /** No stream of `group` is left: the source may forget what it keeps for it. */
  release?(group: string): void;
  /** Calls `listener` with the groups whose snapshots may have changed. Returns an unsubscribe. */
  onChange(listener: (groups: readonly string[] | 'all') => void): () => void;
}

/** A group's snapshot after encoding and validation. */
export interface EncodedSnapshot {
  revision?: number;
  /** `performance.now()` when the source published it: push latency is measured from here. */
  publishedAt: number;
  /** The valid resources by type and name. */
  resources: ReadonlyMap<TypeUrl, ReadonlyMap<string, EncodedResource>>;
  /** Resources withheld because they break Envoy's validation rules. */
  rejected: readonly EncodedResource[];
  diagnostics?: readonly ConfigDiagnostic[];
}

export const EMPTY_SNAPSHOT: EncodedSnapshot = {
  publishedAt: 0,
  resources: new Map(),
  rejected: [],
};
