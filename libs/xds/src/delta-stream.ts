import type { DeltaDiscoveryRequest } from '../../envoy-api/generated/envoy/service/discovery/v3/discovery';
import type { EncodedSnapshot } from './config-source';
import { setVersion, type EncodedResource } from './encoded-resource';
import {
  CLUSTER,
  CLUSTER_LOAD_ASSIGNMENT,
  isCompleteSetType,
  isServedType,
  PUSH_ORDER,
  type TypeUrl,
} from '../../xds-types/src/resource-types';
import type { OutgoingResponse } from './sotw-stream';
import { SnapshotMemo } from './snapshot-memo';
import { TypeStatus, type AnswerListener } from './type-status';
import { deltaDiscoveryResponse } from './wire';

/** One type's subscription on an incremental stream. */
interface DeltaSubscription {
  wildcard: boolean;
  names: Set<string>;
  /** What the proxy has, by name: a version, or null once told the resource does not exist. */
  has: Map<string, string | null>;
  /** Versions the proxy rejected: not sent again until the content changes. */
  rejected: Map<string, string>;
  /** Names and versions of each response in flight, to undo on a NACK. */
  inFlight: Map<string, Map<string, string>>;
  status: TypeStatus;
  /** The subscription as a cache key (wildcard flag and sorted names), kept current. */
  key: string;
}

function subscriptionKey(sub: DeltaSubscription): string {
  return `${sub.wildcard ? '*' : ''}\u0001${[...sub.names].sort().join('\u0000')}`;
}

/** Set versions by snapshot, type and subscription: every stream of a group shares them. */
const SCOPE_VERSIONS = new SnapshotMemo<string>();

/**
 * The incremental (delta) protocol of one ADS stream, without I/O. Rules from
 * https://www.envoyproxy.io/docs/envoy/latest/api-docs/xds_protocol#incremental-xds.
 */
export class DeltaProtocol {
  private readonly subscriptions = new Map<TypeUrl, DeltaSubscription>();
  private nonce = 0;

  constructor(
    private snapshot: EncodedSnapshot,
    private readonly onAnswer?: AnswerListener,
  ) {}

  /** The per-type statuses alone: cheap enough to read after every message. */
  get typeStatuses(): TypeStatus[] {
    return [...this.subscriptions.values()].map((sub) => sub.status);
  }

  get statuses(): Array<{ status: TypeStatus; subscribed: string[] | '*' }> {
    return [...this.subscriptions.values()].map((sub) => ({
      status: sub.status,
      subscribed: sub.wildcard ? ['*', ...[...sub.names].sort()] : [...sub.names].sort(),
    }));
  }

  onRequest(request: DeltaDiscoveryRequest, now: number): OutgoingResponse[] {
    const typeUrl = request.typeUrl ?? '';
    if (!isServedType(typeUrl)) return [];
    let sub = this.subscriptions.get(typeUrl);
    const first = sub === undefined;
    if (!sub) {
      sub = {
        wildcard: false,
        names: new Set(),
        has: new Map(Object.entries(request.initialResourceVersions ?? {})),
        rejected: new Map(),
        inFlight: new Map(),
        status: new TypeStatus(typeUrl, this.onAnswer),
        key: '',
      };
      this.subscriptions.set(typeUrl, sub);
    }
    const nonce = request.responseNonce ?? '';
    if (nonce !== '')
      this.answered(
        sub,
        nonce,
        request.errorDetail?.message,
        request.errorDetail !== undefined,
        now,
      );

    // Subscription changes are honoured even with a stale nonce (xDS protocol).
    const subscribe = request.resourceNamesSubscribe ?? [];
    const unsubscribe = request.resourceNamesUnsubscribe ?? [];
    if (first && subscribe.length === 0 && unsubscribe.length === 0 && isCompleteSetType(typeUrl)) {
      sub.wildcard = true; // legacy wildcard
    }
    for (const name of subscribe) {
      if (name === '*') {
        sub.wildcard = true;
        continue;
      }
      sub.names.add(name);
      // A proxy that subscribes again must get the resource, even if we think it has it.
      if (!first) sub.has.delete(name);
    }
    for (const name of unsubscribe) {
      if (name === '*') {
        sub.wildcard = false;
        continue;
      }
      sub.names.delete(name);
      if (!sub.wildcard) sub.has.delete(name);
    }
    if (first || subscribe.length > 0 || unsubscribe.length > 0) sub.key = subscriptionKey(sub);
    const change = this.changes(typeUrl, sub);
    if (change.updates.length > 0 || change.removed.length > 0) {
      return [this.response(typeUrl, sub, change.version, change.updates, change.removed, now)];
    }
    if (first && sub.wildcard && Object.keys(request.initialResourceVersions ?? {}).length === 0) {
      // A new wildcard subscription is answered even when there is nothing to send: Envoy
      // finishes initialising only once it has heard about every type it asked for.
      return [this.response(typeUrl, sub, change.version, [], [], now)];
    }
    // Nothing to send for a first request: the proxy has what it asked for (it reconnected,
    // reporting its initial_resource_versions).
    if (first) sub.status.alreadyHas(change.version, this.snapshot.revision, now);
    return [];
  }

  onSnapshot(snapshot: EncodedSnapshot, now: number): OutgoingResponse[] {
    this.snapshot = snapshot;
    const updates: OutgoingResponse[] = [];
    const removals: Array<() => OutgoingResponse> = [];
    for (const typeUrl of PUSH_ORDER) {
      const sub = this.subscriptions.get(typeUrl);
      if (!sub) continue;
      const { version, updates: changed, removed } = this.changes(typeUrl, sub);
      // Make before break: clusters and endpoints leave after listeners and routes moved on.
      const deferRemovals = typeUrl === CLUSTER || typeUrl === CLUSTER_LOAD_ASSIGNMENT;
      const removedNow = deferRemovals ? [] : removed;
      if (changed.length > 0 || removedNow.length > 0) {
        updates.push(this.response(typeUrl, sub, version, changed, removedNow, now));
      }
      if (deferRemovals && removed.length > 0) {
        removals.push(() => this.response(typeUrl, sub, version, [], removed, now));
      }
    }
    // Removal responses are built last so that nonces follow the order responses are sent in.
    return [...updates, ...removals.map((removal) => removal())];
  }

  private answered(
    sub: DeltaSubscription,
    nonce: string,
    message: string | undefined,
    nack: boolean,
    now: number,
  ): void {
    const answered = sub.status.answered(nonce, nack ? (message ?? '') : undefined, now);
    const sent = sub.inFlight.get(nonce);
    // Answers come in order: responses sent before this one are settled too. An unknown
    // nonce settles nothing.
    if (sent)
      for (const key of sub.inFlight.keys()) {
        sub.inFlight.delete(key);
        if (key === nonce) break;
      }
    if (!answered || !nack || !sent) return;
    // The proxy kept what it had before this response; remember what it refused.
    for (const [name, version] of sent) {
      sub.has.delete(name);
      sub.rejected.set(name, version);
    }
  }

  /** What the proxy lacks: resources it does not have in their current version, and names gone. */
  private changes(
    typeUrl: TypeUrl,
    sub: DeltaSubscription,
  ): { version: string; updates: EncodedResource[]; removed: string[] } {
    const available = this.snapshot.resources.get(typeUrl) ?? new Map<string, EncodedResource>();
    const inScope = (name: string) => sub.wildcard || sub.names.has(name);
    const scope = [...available.values()].filter((resource) => inScope(resource.name));
    const updates = scope.filter(
      (r) => sub.has.get(r.name) !== r.version && sub.rejected.get(r.name) !== r.version,
    );
    const removed = new Set<string>();
    for (const [name, version] of sub.has) {
      if (version !== null && !available.has(name)) removed.add(name);
    }
    // Explicitly subscribed names that do not exist are reported as removed, once.
    for (const name of sub.names) {
      if (!available.has(name) && !sub.has.has(name)) removed.add(name);
    }
    return { version: this.scopeVersion(typeUrl, sub, scope), updates, removed: [...removed] };
  }

  /** The set version of a scope, hashed once per snapshot and subscription for all streams. */
  private scopeVersion(
    typeUrl: TypeUrl,
    sub: DeltaSubscription,
    scope: readonly EncodedResource[],
  ): string {
    return SCOPE_VERSIONS.get(this.snapshot.resources, `${typeUrl}\u0001${sub.key}`, () =>
      setVersion(scope),
    );
  }

  private response(
    typeUrl: TypeUrl,
    sub: DeltaSubscription,
    version: string,
    updates: EncodedResource[],
    removed: string[],
    now: number,
  ): OutgoingResponse {
    updates.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    removed.sort();
    const nonce = String(++this.nonce);
    for (const resource of updates) sub.has.set(resource.name, resource.version);
    for (const name of removed) {
      if (sub.wildcard && !sub.names.has(name)) sub.has.delete(name);
      else sub.has.set(name, null);
    }
    sub.inFlight.set(nonce, new Map(updates.map((r) => [r.name, r.version])));
    sub.status.sent({
      version,
      nonce,
      at: now,
      revision: this.snapshot.revision,
      publishedAt: this.snapshot.publishedAt,
    });
    return {
      typeUrl,
      bytes: deltaDiscoveryResponse(
        version,
        typeUrl,
        nonce,
        updates.map((r) => r.deltaResource),
        removed,
      ),
      resourceCount: updates.length + removed.length,
    };
  }
}
