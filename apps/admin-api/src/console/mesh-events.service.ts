import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { meshId } from '../../../../libs/mesh-model/src/resource-kinds';
import { MeshDiagnosticsStore } from '../../../../libs/persistence/src/mesh-diagnostics-store';
import { MeshStore } from '../../../../libs/persistence/src/mesh-store';
import { ProxyStatusStore } from '../../../../libs/persistence/src/proxy-status-store';
import type { ProxyStatus } from '../../../../libs/xds/src/proxy-status';
import { ADMIN_API_OPTIONS, type AdminApiOptions } from '../admin-api.options';
import { MeshHistoryService } from '../history/mesh-history.service';
import { PropagationService } from '../proxies/propagation.service';
import { RolloutsService } from '../rollouts/rollouts.service';

/** One Server-Sent Event: `event: <type>` and its JSON `data`. */
export interface MeshEvent {
  type: 'change' | 'proxy' | 'propagation' | 'rollout' | 'diagnostics' | 'resync';
  data: unknown;
}

export type MeshEventListener = (event: MeshEvent) => void;

/** How often a watched mesh is read; one read serves every connection watching it. */
export const MESH_EVENTS_POLL_MS = 250;
/** The change-log rows read per poll; when more were written, a `resync` event says so. */
const CHANGES_PER_POLL = 100;

/** What a proxy event carries: enough to redraw a proxy's row. */
interface ProxySummary {
  nodeId: string;
  streamId: number;
  replicaId: string;
  connected: boolean;
  state: string;
  syncedRevision: number | null;
  nacks: Array<{ type: string; message: string }>;
}

/**
 * Live events of a mesh for `GET /v1/meshes/{mesh}/events`: each committed change (revision,
 * actor, before/after), proxy status transitions, propagation of the current revision, rollout
 * steps and the translation diagnostics of each revision. One watcher per mesh reads the
 * tables every {@link MESH_EVENTS_POLL_MS} while at least one connection listens, and compares
 * with what it last saw: the xDS replicas write proxy status to Postgres in any process, so the
 * database is the one place every event can come from.
 */
@Injectable()
export class MeshEventsService implements OnModuleDestroy {
  private readonly watchers = new Map<string, MeshWatcher>();
  /** Ends each open connection: called on shutdown, so the HTTP server can close. */
  private readonly closers = new Set<() => void>();

  constructor(
    readonly meshes: MeshStore,
    readonly proxies: ProxyStatusStore,
    readonly history: MeshHistoryService,
    readonly propagation: PropagationService,
    readonly rollouts: RolloutsService,
    readonly diagnostics: MeshDiagnosticsStore,
    @Inject(ADMIN_API_OPTIONS) readonly options: AdminApiOptions,
  ) {}

  /** Whether the mesh exists now (events of a mesh that does not are refused with 404). */
  async exists(meshName: string): Promise<boolean> {
    return (await this.meshes.get(meshId(meshName))) !== undefined;
  }

  /** Starts delivering the mesh's events to `listener`; call the answer to stop. */
  subscribe(meshName: string, listener: MeshEventListener, close: () => void): () => void {
    this.closers.add(close);
    let watcher = this.watchers.get(meshName);
    if (!watcher) {
      watcher = new MeshWatcher(meshName, this);
      this.watchers.set(meshName, watcher);
    }
    const owner = watcher;
    owner.add(listener);
    return () => {
      this.closers.delete(close);
      if (owner.remove(listener) === 0 && this.watchers.get(meshName) === owner) {
        this.watchers.delete(meshName);
      }
    };
  }

  /**
   * Resolves once the mesh's watcher has read the state it compares against: what a client
   * reads after this is never older than what the next events start from.
   */
  primed(meshName: string): Promise<void> {
    return this.watchers.get(meshName)?.primed ?? Promise.resolve();
  }

  /** Connections watching any mesh (for the connection cap). */
  get listeners(): number {
    let count = 0;
    for (const watcher of this.watchers.values()) count += watcher.size;
    return count;
  }

  onModuleDestroy(): void {
    for (const close of [...this.closers]) close();
    for (const watcher of this.watchers.values()) watcher.stop();
    this.watchers.clear();
  }
}

class MeshWatcher {
  private readonly listeners = new Set<MeshEventListener>();
  private timer?: NodeJS.Timeout;
  private polling = false;
  private isPrimed = false;
  private markPrimed!: () => void;
  /** Resolves after the first complete read (events compare against it). */
  readonly primed = new Promise<void>((resolve) => (this.markPrimed = resolve));
  private revision = 0;
  private proxies = new Map<string, string>();
  private propagation = '';
  private rollouts = new Map<string, string>();
  private diagnosticsRevision = -1;

  constructor(
    private readonly meshName: string,
    private readonly source: MeshEventsService,
  ) {
    this.timer = setInterval(() => void this.poll(), MESH_EVENTS_POLL_MS);
    this.timer.unref();
    void this.poll();
  }

  get size(): number {
    return this.listeners.size;
  }

  add(listener: MeshEventListener): void {
    this.listeners.add(listener);
  }

  remove(listener: MeshEventListener): number {
    this.listeners.delete(listener);
    if (this.listeners.size === 0) this.stop();
    return this.listeners.size;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private emit(type: MeshEvent['type'], data: unknown): void {
    if (!this.isPrimed) return;
    for (const listener of this.listeners) listener({ type, data });
  }

  private async poll(): Promise<void> {
    if (this.polling || !this.timer) return;
    this.polling = true;
    try {
      await this.read();
      this.isPrimed = true;
      this.markPrimed();
    } catch {
      // Postgres away or the mesh deleted meanwhile: the next poll tries again.
    } finally {
      this.polling = false;
    }
  }

  /** Reads the mesh's state and emits what differs from the previous read. */
  private async read(): Promise<void> {
    const { meshName, source } = this;
    const revision = await source.meshes.revision(meshName);
    if (revision > this.revision) {
      if (this.isPrimed) {
        const page = await source.history.list(meshName, {}, CHANGES_PER_POLL, undefined);
        const fresh = page.changes.filter((change) => change.revision > this.revision);
        if (fresh.length === CHANGES_PER_POLL && fresh.at(-1)!.revision > this.revision + 1) {
          this.emit('resync', { revision, reason: 'more changes than one event batch' });
        }
        for (const change of fresh.reverse()) this.emit('change', change);
      }
      this.revision = revision;
    }

    const rows = await source.proxies.list(
      { mesh: meshName },
      source.options.proxyStatusGraceSeconds,
    );
    const seen = new Map<string, string>();
    for (const row of rows) {
      const summary = proxySummary(row.status as ProxyStatus, row);
      const key = `${summary.replicaId}/${summary.streamId}`;
      const text = JSON.stringify(summary);
      seen.set(key, text);
      if (this.proxies.get(key) !== text) this.emit('proxy', summary);
    }
    for (const [key, text] of this.proxies) {
      if (!seen.has(key)) this.emit('proxy', { ...(JSON.parse(text) as object), gone: true });
    }
    this.proxies = seen;

    const propagation = await source.propagation.propagation(meshName);
    const propagationText = JSON.stringify(propagation);
    if (propagationText !== this.propagation) this.emit('propagation', propagation);
    this.propagation = propagationText;

    const { rollouts } = await source.rollouts.list(meshName, undefined);
    const rolloutsSeen = new Map<string, string>();
    for (const rollout of rollouts) {
      const text = JSON.stringify(rollout);
      rolloutsSeen.set(rollout.id, text);
      if (this.rollouts.get(rollout.id) !== text) this.emit('rollout', rollout);
    }
    this.rollouts = rolloutsSeen;

    const diagnostics = await source.diagnostics.find(meshName);
    if (diagnostics && diagnostics.revision !== this.diagnosticsRevision) {
      this.emit('diagnostics', {
        revision: diagnostics.revision,
        computedAt: diagnostics.computedAt.toISOString(),
        diagnostics: diagnostics.diagnostics,
      });
      this.diagnosticsRevision = diagnostics.revision;
    }
  }
}

function proxySummary(
  status: ProxyStatus,
  row: { replicaId: string; streamId: number; connected: boolean },
): ProxySummary {
  return {
    nodeId: status.nodeId,
    streamId: row.streamId,
    replicaId: row.replicaId,
    connected: row.connected,
    state: status.state,
    syncedRevision: status.syncedRevision ?? null,
    nacks: (status.types ?? []).flatMap((type) =>
      type.state === 'NACKED' && type.lastNack
        ? [{ type: type.type, message: type.lastNack.message }]
        : [],
    ),
  };
}
