import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Node } from '../../envoy-api/generated/envoy/config/core/v3/base';
import type {
  DeltaDiscoveryRequest,
  DiscoveryRequest,
} from '../../envoy-api/generated/envoy/service/discovery/v3/discovery';
import {
  EMPTY_SNAPSHOT,
  type ConfigSnapshot,
  type ConfigSource,
  type EncodedSnapshot,
} from './config-source';
import { DeltaProtocol } from './delta-stream';
import { ResourceEncoder, type EncodedResource } from './encoded-resource';
import { overallState, type ProxyStatus } from './proxy-status';
import { isServedType, TYPE_SHORT_NAMES, type TypeUrl } from '../../xds-types/src/resource-types';
import { SotwProtocol, type OutgoingResponse } from './sotw-stream';
import type { AnswerListener, SentResponse } from './type-status';
import { XdsMetrics } from './xds-metrics';

export interface XdsEngineOptions {
  /** Quiet time after a change before pushing (coalesces bursts of writes). */
  debounceMs: number;
  /** Longest a change waits while changes keep arriving. */
  maxWaitMs: number;
}

export const DEFAULT_ENGINE_OPTIONS: XdsEngineOptions = { debounceMs: 10, maxWaitMs: 100 };

/** A stream the engine will not serve; the gRPC layer ends it with INVALID_ARGUMENT and `message`. */
export class StreamRefused extends Error {}

/** Where a stream's responses go; the gRPC layer writes them to the call. */
export type ResponseSink = (bytes: Buffer) => void;

/** Distinct unserved type URLs a stream's status lists (each at most 200 characters). */
const MAX_UNKNOWN_TYPES = 16;

/** Groups loaded at once when a change reaches many. */
const REFRESH_BATCH = 256;

interface Group {
  snapshot: EncodedSnapshot;
  /** The source's resource list `snapshot` was encoded from. */
  encodedFrom?: ConfigSnapshot['resources'];
  streams: Set<ProxyStream>;
  loaded?: Promise<void>;
}

/**
 * The xDS engine: one encoded snapshot per proxy group, shared by the group's streams;
 * changes from the source are coalesced and pushed only to streams whose resources changed.
 */
export class XdsEngine {
  readonly metrics: XdsMetrics;
  private readonly encoder = new ResourceEncoder();
  private readonly groups = new Map<string, Group>();
  private readonly streams = new Set<ProxyStream>();
  private readonly loggedRejections = new Set<string>();
  private pending: Set<string> | 'all' = new Set();
  private debounceTimer?: NodeJS.Timeout;
  private maxWaitTimer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  private unsubscribe?: () => void;
  private nextStreamId = 1;
  /** Streams whose status changed, and streams closed, since the last takeStatusChanges(). */
  private statusChanged = new Set<ProxyStream>();
  private closedSinceTaken: number[] = [];
  private openedSinceTaken = 0;

  constructor(
    private readonly source: ConfigSource,
    private readonly logger: Logger,
    private readonly options: XdsEngineOptions = DEFAULT_ENGINE_OPTIONS,
  ) {
    this.metrics = new XdsMetrics(() => this.connectedByMesh());
  }

  start(): void {
    this.unsubscribe = this.source.onChange((groups) => this.changed(groups));
  }

  stop(): void {
    this.unsubscribe?.();
    clearTimeout(this.debounceTimer);
    clearTimeout(this.maxWaitTimer);
  }

  /** Throws StreamRefused when `node` cannot be a proxy of any mesh (the source's limits). */
  admit(node: Node): void {
    const refusal = this.source.admit?.(node);
    if (refusal !== undefined) {
      this.metrics.refusedStreams.inc({ reason: 'node' });
      throw new StreamRefused(refusal);
    }
  }

  /** Opens a stream for a proxy whose first request carried `node`. */
  async open(node: Node, protocol: 'sotw' | 'delta', sink: ResponseSink): Promise<ProxyStream> {
    this.admit(node);
    const groupKey = this.source.groupOf(node);
    const group = groupKey === undefined ? undefined : await this.group(groupKey);
    const stream = new ProxyStream(
      this.nextStreamId++,
      node,
      protocol,
      group?.snapshot ?? EMPTY_SNAPSHOT,
      sink,
      this,
      this.source.meshOf?.(node),
    );
    if (group) group.streams.add(stream);
    stream.groupKey = groupKey;
    this.streams.add(stream);
    this.statusChanged.add(stream);
    this.openedSinceTaken++;
    this.logger.debug({ node: stream.nodeId, group: groupKey, protocol }, 'proxy connected');
    return stream;
  }

  close(stream: ProxyStream): void {
    if (!this.streams.delete(stream)) return;
    this.statusChanged.delete(stream);
    this.closedSinceTaken.push(stream.id);
    if (stream.groupKey !== undefined) {
      const group = this.groups.get(stream.groupKey);
      group?.streams.delete(stream);
      if (group && group.streams.size === 0) {
        this.groups.delete(stream.groupKey);
        this.source.release?.(stream.groupKey);
      }
    }
    this.logger.debug({ node: stream.nodeId }, 'proxy disconnected');
  }

  /**
   * Streams whose status changed, ids of streams closed, and how many streams opened since the
   * previous call.
   */
  takeStatusChanges(): { changed: ProxyStream[]; closed: number[]; opened: number } {
    const changes = {
      changed: [...this.statusChanged],
      closed: this.closedSinceTaken,
      opened: this.openedSinceTaken,
    };
    this.statusChanged = new Set();
    this.closedSinceTaken = [];
    this.openedSinceTaken = 0;
    return changes;
  }

  /** Streams open now. */
  get connectedCount(): number {
    return this.streams.size;
  }

  /** @internal */
  statusChangedFor(stream: ProxyStream): void {
    if (this.streams.has(stream)) this.statusChanged.add(stream);
  }

  proxyStatuses(): ProxyStatus[] {
    return [...this.streams].map((stream) => stream.status());
  }

  /** Resolves when every change reported so far has been pushed. */
  async settled(): Promise<void> {
    if (this.debounceTimer) await this.flush();
    await this.flushing;
  }

  /** @internal Records a proxy's answer, for metrics. */
  answered(typeUrl: TypeUrl, response: SentResponse, nack: boolean, now: number): void {
    const type = TYPE_SHORT_NAMES[typeUrl];
    if (nack) {
      this.metrics.nacks.inc({ type });
    } else {
      this.metrics.acks.inc({ type });
      this.metrics.pushLatency.observe({ type }, (now - response.publishedAt) / 1000);
    }
  }

  /** @internal A stream asked for a type Trellis does not serve: counted, and logged once per stream and type. */
  unknownType(stream: ProxyStream, typeUrl: string, first: boolean): void {
    this.metrics.unknownTypeRequests.inc({ protocol: stream.kind });
    if (first) {
      this.logger.warn(
        { node: stream.nodeId, typeUrl: typeUrl.slice(0, 200) },
        'proxy asked for a resource type Trellis does not serve; answering nothing',
      );
    }
  }

  /** @internal Records what a stream wrote, for metrics. */
  wrote(response: OutgoingResponse): void {
    this.metrics.responses.inc({ type: TYPE_SHORT_NAMES[response.typeUrl] });
    this.metrics.bytesSent.inc(response.bytes.length);
  }

  private changed(groups: readonly string[] | 'all'): void {
    if (groups === 'all' || this.pending === 'all') this.pending = 'all';
    else for (const group of groups) this.pending.add(group);
    clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(() => void this.flush(), this.options.debounceMs);
    this.maxWaitTimer ??= setTimeout(() => void this.flush(), this.options.maxWaitMs);
  }

  private flush(): Promise<void> {
    clearTimeout(this.debounceTimer);
    clearTimeout(this.maxWaitTimer);
    this.debounceTimer = undefined;
    this.maxWaitTimer = undefined;
    const pending = this.pending;
    this.pending = new Set();
    const publishedAt = performance.now();
    this.flushing = this.flushing.then(() => this.refresh(pending, publishedAt));
    return this.flushing;
  }

  private async refresh(pending: Set<string> | 'all', publishedAt: number): Promise<void> {
    const keys =
      pending === 'all'
        ? [...this.groups.keys()]
        : [...pending].filter((key) => this.groups.has(key));
    // In batches, in the order the source reported them: a source that reports the groups a
    // change really touched first gets them pushed before thousands of others are even started.
    for (let start = 0; start < keys.length; start += REFRESH_BATCH) {
      await this.refreshGroups(keys.slice(start, start + REFRESH_BATCH), publishedAt);
    }
  }

  private async refreshGroups(keys: readonly string[], publishedAt: number): Promise<void> {
    await Promise.all(
      keys.map(async (key) => {
        try {
          const group = this.groups.get(key);
          if (!group) return;
          // The group's first load must land before this newer one, or it would overwrite it.
          await group.loaded;
          if (this.groups.get(key) !== group) return;
          const loaded = await this.source.load(key);
          if (this.groups.get(key) !== group) {
            // The group's last stream left while it loaded: the source may forget it again.
            if (!this.groups.has(key)) this.source.release?.(key);
            return;
          }
          // The same resource list as before (a source that keeps unchanged groups' resources):
          // only the revision moves, and the encoded resources, and every stream's scopes and
          // set versions keyed by them, carry over.
          const snapshot =
            loaded && loaded.resources === group.encodedFrom
              ? {
                  ...group.snapshot,
                  revision: loaded.revision,
                  publishedAt,
                  diagnostics: loaded.diagnostics,
                }
              : this.encode(key, loaded, publishedAt, group.snapshot);
          group.snapshot = snapshot;
          group.encodedFrom = loaded?.resources;
          for (const stream of group.streams) stream.push(snapshot);
        } catch (error) {
          // The proxies keep their last good configuration; the next change retries.
          this.logger.error({ err: error, group: key }, 'loading configuration failed');
        }
      }),
    );
  }

  /** The group, loaded and registered: the caller adds its stream before awaiting anything else. */
  private async group(key: string): Promise<Group> {
    for (;;) {
      let group = this.groups.get(key);
      if (!group) {
        const created: Group = { snapshot: EMPTY_SNAPSHOT, streams: new Set() };
        created.loaded = this.source.load(key).then(
          (snapshot) => {
            created.snapshot = this.encode(key, snapshot, performance.now());
            created.encodedFrom = snapshot?.resources;
          },
          (error: unknown) => {
            // Forget the failure, so that the proxy's next attempt loads again.
            if (this.groups.get(key) === created) {
              this.groups.delete(key);
              this.source.release?.(key);
            }
            throw error;
          },
        );
        this.groups.set(key, created);
        group = created;
      }
      await group.loaded;
      // The group's last stream may have closed meanwhile, dropping the group: a stream added
      // to it now would never hear of changes.
      if (this.groups.get(key) === group) return group;
    }
  }

  /**
   * Encodes and validates a group's resources. A resource that breaks Envoy's rules is not
   * sent: its last good version from `previous` stays in its place, so proxies keep it.
   */
  private encode(
    group: string,
    snapshot: ConfigSnapshot | undefined,
    publishedAt: number,
    previous?: EncodedSnapshot,
  ): EncodedSnapshot {
    const before = this.encoder.bytesEncoded;
    const resources = new Map<TypeUrl, Map<string, EncodedResource>>();
    const rejected: EncodedResource[] = [];
    for (const resource of snapshot?.resources ?? []) {
      let encoded = this.encoder.encode(resource);
      if (encoded.failures.length > 0) {
        rejected.push(encoded);
        this.logRejection(group, encoded);
        const lastGood = previous?.resources.get(resource.typeUrl)?.get(resource.name);
        if (!lastGood) continue;
        encoded = lastGood;
      }
      let byName = resources.get(resource.typeUrl);
      if (!byName) resources.set(resource.typeUrl, (byName = new Map<string, EncodedResource>()));
      if (byName.has(resource.name)) {
        this.logger.error(
          { group, typeUrl: resource.typeUrl, name: resource.name },
          'duplicate resource name; keeping the first',
        );
        continue;
      }
      byName.set(resource.name, encoded);
    }
    this.metrics.bytesEncoded.inc(this.encoder.bytesEncoded - before);
    return {
      revision: snapshot?.revision,
      publishedAt,
      resources,
      rejected,
      diagnostics: snapshot?.diagnostics,
    };
  }

  private logRejection(group: string, resource: EncodedResource): void {
    const key = `${resource.typeUrl}/${resource.name}/${resource.version}`;
    if (this.loggedRejections.has(key)) return;
    if (this.loggedRejections.size > 10_000) this.loggedRejections.clear();
    this.loggedRejections.add(key);
    this.metrics.validationFailures.inc({ type: TYPE_SHORT_NAMES[resource.typeUrl] });
    this.logger.warn(
      {
        group,
        typeUrl: resource.typeUrl,
        name: resource.name,
        version: resource.version,
        failures: resource.failures,
      },
      'resource fails Envoy validation and is not sent',
    );
  }

  private connectedByMesh(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const stream of this.streams) {
      const mesh = stream.mesh ?? '';
      counts.set(mesh, (counts.get(mesh) ?? 0) + 1);
    }
    return counts;
  }
}

/** One proxy's ADS stream: its protocol state and where its responses go. */
export class ProxyStream {
  readonly nodeId: string;
  readonly connectedSince = new Date();
  groupKey?: string;
  private readonly protocol: SotwProtocol | DeltaProtocol;
  private snapshot: EncodedSnapshot;
  /**
   * The latest configuration revision the proxy is known to have in full: everything sent
   * was acknowledged and nothing newer waits. "Propagated to revision R" means this ≥ R.
   */
  syncedRevision?: number;
  /** Types the proxy asked for that Trellis does not serve, with how many requests named each. */
  private readonly unknownTypes = new Map<string, number>();

  constructor(
    readonly id: number,
    readonly node: Node,
    readonly kind: 'sotw' | 'delta',
    snapshot: EncodedSnapshot,
    private readonly sink: ResponseSink,
    private readonly engine: XdsEngine,
    readonly mesh: string | undefined,
  ) {
    this.nodeId = node.id ?? '';
    this.snapshot = snapshot;
    const onAnswer: AnswerListener = (typeUrl, response, nack, now) =>
      engine.answered(typeUrl, response, nack, now);
    this.protocol =
      kind === 'sotw'
        ? new SotwProtocol(snapshot, onAnswer)
        : new DeltaProtocol(snapshot, onAnswer);
  }

  request(request: DiscoveryRequest | DeltaDiscoveryRequest): void {
    const typeUrl = request.typeUrl ?? '';
    if (!isServedType(typeUrl)) {
      // Nothing to answer: SotW has no "does not exist" signal (xDS protocol, "Knowing When a
      // Requested Resource Does Not Exist"), and a client waits out its initial fetch timeout.
      // The proxy's status shows the request, so the silence is visible.
      const key = typeUrl.slice(0, 200);
      const seen = this.unknownTypes.get(key);
      if (seen !== undefined) this.unknownTypes.set(key, seen + 1);
      else if (this.unknownTypes.size < MAX_UNKNOWN_TYPES) this.unknownTypes.set(key, 1);
      this.engine.unknownType(this, typeUrl, seen === undefined);
      this.engine.statusChangedFor(this);
      return;
    }
    const now = performance.now();
    // The gRPC layer hands SotW streams DiscoveryRequests and delta streams DeltaDiscoveryRequests.
    const responses = this.protocol.onRequest(request, now);
    this.send(responses);
    this.settle();
  }

  push(snapshot: EncodedSnapshot): void {
    this.snapshot = snapshot;
    this.send(this.protocol.onSnapshot(snapshot, performance.now()));
    this.settle();
  }

  /** After a request or push: a proxy with nothing unanswered is at the snapshot's revision. */
  private settle(): void {
    const states = this.protocol.typeStatuses.map((status) => status.state);
    if (
      this.snapshot.revision !== undefined &&
      states.every((state) => state === 'SYNCED' || state === 'NOT_SENT')
    ) {
      this.syncedRevision = Math.max(this.snapshot.revision, this.syncedRevision ?? 0);
    }
    this.engine.statusChangedFor(this);
  }

  status(): ProxyStatus {
    const origin = Date.now() - performance.now();
    const iso = (at: number | undefined) =>
      at === undefined ? undefined : new Date(origin + at).toISOString();
    const types = this.protocol.statuses
      .map(({ status, subscribed }) => ({
        type: TYPE_SHORT_NAMES[status.typeUrl],
        typeUrl: status.typeUrl,
        state: status.state,
        subscribed,
        sentVersion: status.lastSent?.version,
        sentNonce: status.lastSent?.nonce,
        sentAt: iso(status.lastSent?.at),
        sentRevision: status.lastSent?.revision,
        ackedVersion: status.lastAcked?.version,
        ackedAt: iso(status.lastAcked?.at),
        ackedRevision: status.lastAcked?.revision,
        lastNack: status.lastNack && {
          message: status.lastNack.message,
          at: iso(status.lastNack.at)!,
          version: status.lastNack.version,
        },
      }))
      .sort((a, b) => a.typeUrl.localeCompare(b.typeUrl));
    return {
      nodeId: this.nodeId,
      cluster: this.node.cluster ?? '',
      mesh: this.mesh,
      userAgent: this.node.userAgentName ?? '',
      userAgentVersion:
        this.node.userAgentVersionType?.$case === 'userAgentVersion'
          ? this.node.userAgentVersionType.value
          : '',
      protocol: this.kind,
      connectedSince: this.connectedSince.toISOString(),
      state: overallState(types.map((t) => t.state)),
      syncedRevision: this.syncedRevision,
      types,
      ...(this.unknownTypes.size > 0 && {
        unknownTypes: [...this.unknownTypes].map(([typeUrl, requests]) => ({ typeUrl, requests })),
      }),
      rejectedResources: this.snapshot.rejected.map((r) => ({
        typeUrl: r.typeUrl,
        name: r.name,
        failures: [...r.failures],
      })),
      diagnostics: [
        ...(this.snapshot.diagnostics ?? []),
        ...this.snapshot.rejected.map((r) => ({
          kind: 'invalid-resource',
          resource: `${TYPE_SHORT_NAMES[r.typeUrl]} ${r.name}`,
          message: `withheld, breaks Envoy's validation rules: ${r.failures
            .map((failure) => `${failure.path}: ${failure.message}`)
            .join('; ')}`,
        })),
        ...types
          .filter((t) => t.state === 'NACKED' && t.lastNack !== undefined)
          .map((t) => ({
            kind: 'nack',
            resource: `${t.type} ${t.lastNack!.version}`,
            message: `the proxy rejected ${t.type} version ${t.lastNack!.version}: ${t.lastNack!.message}`,
          })),
      ],
    };
  }

  private send(responses: OutgoingResponse[]): void {
    for (const response of responses) {
      this.sink(response.bytes);
      this.engine.wrote(response);
    }
  }
}
