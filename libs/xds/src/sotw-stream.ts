import type { DiscoveryRequest } from '../../envoy-api/generated/envoy/service/discovery/v3/discovery';
import type { EncodedSnapshot } from './config-source';
import { setVersion, type EncodedResource } from './encoded-resource';
import {
  CLUSTER,
  isCompleteSetType,
  isServedType,
  PUSH_ORDER,
  type TypeUrl,
} from '../../xds-types/src/resource-types';
import { TypeStatus, type AnswerListener } from './type-status';
import { SnapshotMemo } from './snapshot-memo';
import { discoveryResponse } from './wire';

/** One type's subscription on a state-of-the-world stream. */
interface SotwSubscription {
  wildcard: boolean;
  names: Set<string>;
  /** Whether the proxy ever named resources; after that an empty list means "none" (legacy wildcard rule). */
  namedEver: boolean;
  /** What the proxy has from us, by name. */
  has: Map<string, EncodedResource>;
  status: TypeStatus;
  /** The subscription as a cache key: `*`, or the sorted names. */
  key: string;
}

/** What a subscription covers in a snapshot, and its set version. */
interface Scope {
  resources: ReadonlyMap<string, EncodedResource>;
  version: string;
}

/**
 * Scopes by snapshot, type and subscription. Every stream of a group shares its snapshot and
 * most share their subscriptions, so each scope is built and hashed once per snapshot, not
 * once per stream and push.
 */
const SCOPES = new SnapshotMemo<Scope>();

export interface OutgoingResponse {
  typeUrl: TypeUrl;
  bytes: Buffer;
  resourceCount: number;
}

/**
 * The state-of-the-world protocol of one ADS stream, without I/O: requests and snapshots
 * in, encoded responses out. Rules from https://www.envoyproxy.io/docs/envoy/latest/api-docs/xds_protocol.
 */
export class SotwProtocol {
  private readonly subscriptions = new Map<TypeUrl, SotwSubscription>();
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
      subscribed: sub.wildcard ? '*' : [...sub.names].sort(),
    }));
  }

  /** Handles a request; returns the responses to send (none for ACKs and stale nonces). */
  onRequest(request: DiscoveryRequest, now: number): OutgoingResponse[] {
    const typeUrl = request.typeUrl ?? '';
    if (!isServedType(typeUrl)) return [];
    let sub = this.subscriptions.get(typeUrl);
    const first = sub === undefined;
    if (!sub) {
      sub = {
        wildcard: false,
        names: new Set(),
        namedEver: false,
        has: new Map(),
        status: new TypeStatus(typeUrl, this.onAnswer),
        key: '',
      };
      this.subscriptions.set(typeUrl, sub);
    }
    const nonce = request.responseNonce ?? '';
    const latestNonce = sub.status.lastSent?.nonce ?? '';
    // Nonces are checked only once this stream has sent the type: a client may carry its
    // last nonce over from an earlier stream, and its request must still be answered.
    if (nonce !== '' && latestNonce !== '') {
      // A request answering anything but our latest response is stale: a newer response
      // is on its way and the proxy will answer that one (xDS protocol, "Resource updates").
      if (nonce !== latestNonce) return [];
      sub.status.answered(
        nonce,
        request.errorDetail ? (request.errorDetail.message ?? '') : undefined,
        now,
      );
    }
    const added = this.resubscribe(typeUrl, sub, request.resourceNames ?? []);
    if (
      first &&
      (request.versionInfo ?? '') !== '' &&
      this.proxyIsCurrent(typeUrl, sub, request.versionInfo!, now)
    ) {
      return [];
    }
    const response = this.respond(typeUrl, sub, added, now);
    return response ? [response] : [];
  }

  /** A new snapshot for the stream's group: the changed types, in make-before-break order. */
  onSnapshot(snapshot: EncodedSnapshot, now: number): OutgoingResponse[] {
    this.snapshot = snapshot;
    const responses: OutgoingResponse[] = [];
    let clustersLeaving = false;
    for (const typeUrl of PUSH_ORDER) {
      const sub = this.subscriptions.get(typeUrl);
      if (!sub) continue;
      // Make before break: clusters that routes may still use leave only after the new
      // listeners and routes are out, in a last CDS response.
      const leaving =
        typeUrl === CLUSTER ? this.leaving(typeUrl, sub) : new Map<string, EncodedResource>();
      if (typeUrl === CLUSTER) clustersLeaving = leaving.size > 0;
      const response = this.respond(typeUrl, sub, new Set(), now, leaving);
      if (response) responses.push(response);
    }
    const clusters = this.subscriptions.get(CLUSTER);
    if (clustersLeaving && clusters) {
      const response = this.respond(CLUSTER, clusters, new Set(), now);
      if (response) responses.push(response);
    }
    return responses;
  }

  /** Resources the proxy has that the new snapshot no longer covers. */
  private leaving(typeUrl: TypeUrl, sub: SotwSubscription): Map<string, EncodedResource> {
    const scope = this.scope(typeUrl, sub).resources;
    return new Map([...sub.has].filter(([name]) => !scope.has(name)));
  }

  /** Applies the request's resource names; returns the names newly subscribed. */
  private resubscribe(
    typeUrl: TypeUrl,
    sub: SotwSubscription,
    names: readonly string[],
  ): Set<string> {
    const before = new Set(sub.names);
    const wasWildcard = sub.wildcard;
    if (isCompleteSetType(typeUrl)) {
      sub.wildcard = names.includes('*') || (names.length === 0 && !sub.namedEver);
      if (names.some((name) => name !== '*')) sub.namedEver = true;
    }
    sub.names = new Set(names.filter((name) => name !== '*'));
    for (const name of sub.has.keys()) {
      if (!sub.wildcard && !sub.names.has(name)) sub.has.delete(name);
    }
    const added = new Set([...sub.names].filter((name) => !before.has(name)));
    // ACKs repeat the same names: the key is rebuilt only when the subscription changed.
    if (
      sub.wildcard !== wasWildcard ||
      added.size > 0 ||
      sub.names.size !== before.size ||
      sub.key === ''
    ) {
      sub.key = sub.wildcard ? '*' : [...sub.names].sort().join('\u0000');
    }
    if (sub.wildcard && !wasWildcard)
      for (const name of this.available(typeUrl).keys()) added.add(name);
    return added;
  }

  /**
   * A reconnecting proxy reports the version it has. When that is exactly the set we would
   * send, it already has everything: record it as acknowledged and send nothing.
   */
  private proxyIsCurrent(
    typeUrl: TypeUrl,
    sub: SotwSubscription,
    versionInfo: string,
    now: number,
  ): boolean {
    const scope = this.scope(typeUrl, sub);
    if (scope.version !== versionInfo) return false;
    sub.has = new Map(scope.resources);
    sub.status.alreadyHas(versionInfo, this.snapshot.revision, now);
    return true;
  }

  private respond(
    typeUrl: TypeUrl,
    sub: SotwSubscription,
    forced: ReadonlySet<string>,
    now: number,
    kept: ReadonlyMap<string, EncodedResource> = new Map(),
  ): OutgoingResponse | undefined {
    let { resources: scope, version } = this.scope(typeUrl, sub);
    if (kept.size > 0) {
      const withKept = new Map(scope);
      for (const [name, resource] of kept) withKept.set(name, resource);
      scope = withKept;
      version = setVersion(withKept.values());
    }
    if (sub.status.lastNack?.version === version) return undefined; // the proxy rejected exactly this
    let send: EncodedResource[];
    if (isCompleteSetType(typeUrl)) {
      // Nothing to send when the proxy already has exactly the set, as after a request that only
      // drops names: gRPC ends its ADS stream right after unsubscribing from its last listener,
      // and an answer would reach a stream it has already closed.
      const proxyHasScope =
        sub.status.lastSent !== undefined &&
        sub.has.size === scope.size &&
        [...scope].every(([name, resource]) => sub.has.get(name)?.version === resource.version);
      if (proxyHasScope && forced.size === 0) return undefined;
      send = [...scope.values()];
      sub.has = new Map(scope);
    } else {
      for (const name of sub.has.keys()) if (!scope.has(name)) sub.has.delete(name);
      send = [...scope.values()].filter(
        (r) => forced.has(r.name) || sub.has.get(r.name)?.version !== r.version,
      );
      if (send.length === 0) return undefined;
      for (const resource of send) sub.has.set(resource.name, resource);
    }
    send.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const nonce = String(++this.nonce);
    sub.status.sent({
      version,
      nonce,
      at: now,
      revision: this.snapshot.revision,
      publishedAt: this.snapshot.publishedAt,
    });
    return {
      typeUrl,
      bytes: discoveryResponse(
        version,
        typeUrl,
        nonce,
        send.map((r) => r.any),
      ),
      resourceCount: send.length,
    };
  }

  private available(typeUrl: TypeUrl): ReadonlyMap<string, EncodedResource> {
    return this.snapshot.resources.get(typeUrl) ?? new Map<string, EncodedResource>();
  }

  /** The resources the subscription covers that exist, and their set version (shared: read only). */
  private scope(typeUrl: TypeUrl, sub: SotwSubscription): Scope {
    return SCOPES.get(this.snapshot.resources, `${typeUrl}\u0001${sub.key}`, () => {
      const available = this.available(typeUrl);
      let resources: Map<string, EncodedResource>;
      if (sub.wildcard) {
        resources = new Map(available);
      } else {
        resources = new Map();
        for (const name of sub.names) {
          const resource = available.get(name);
          if (resource) resources.set(name, resource);
        }
      }
      return { resources, version: setVersion(resources.values()) };
    });
  }
}
