import type { Logger } from 'pino';
import { Gauge, Registry } from 'prom-client';
import { MeshChangeFeed } from '../../../libs/persistence/src/mesh-change-feed';
import type {
  MeshDiagnosticsStore,
  StoredDiagnostic,
} from '../../../libs/persistence/src/mesh-diagnostics-store';
import type { MeshReader } from '../../../libs/persistence/src/mesh-reader';
import { meshSnapshot } from '../../../libs/translator/src/mesh-snapshot';
import { proxyIr } from '../../../libs/translator/src/translate';
import type { XdsEngine } from '../../../libs/xds/src/xds-engine';
import type { ServedCertificates } from './served-certificates';

export interface MeshDiagnosticsOptions {
  databaseUrl: string;
  resyncMs: number;
  /** Coalesces a burst of writes to one mesh into one computation. */
  debounceMs?: number;
}

/** The kinds a proxy reports at run time, counted from the proxies this replica serves. */
const PROXY_KINDS = new Set(['nack', 'invalid-resource']);

/**
 * Computes each mesh's diagnostics where translation happens (the xDS role) and stores them by
 * mesh revision, so the admin API of any replica can answer `GET /v1/meshes/{mesh}/diagnostics`.
 * A mesh's diagnostics are the translation problems of the sidecar of every virtual node, computed
 * after each change (bursts coalesced) and again when the certificate store changes. Meshes
 * without connected proxies are covered too: the problem exists before a proxy meets it.
 */
export class MeshDiagnosticsPublisher {
  readonly metrics = new Registry();
  private readonly feed: MeshChangeFeed;
  /** The revision each mesh's diagnostics were computed at, and their count by kind. */
  private readonly computed = new Map<string, { revision: number; counts: Map<string, number> }>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private resyncTimer?: NodeJS.Timeout;
  private work: Promise<void> = Promise.resolve();

  constructor(
    private readonly reader: MeshReader,
    private readonly store: MeshDiagnosticsStore,
    private readonly certificates: ServedCertificates | undefined,
    private readonly engine: XdsEngine,
    private readonly logger: Logger,
    private readonly options: MeshDiagnosticsOptions,
  ) {
    this.feed = new MeshChangeFeed(
      options.databaseUrl,
      logger,
      (meshName) => this.schedule(meshName),
      () => this.schedule('*'),
      () => this.schedule('*'),
    );
    const computed = this.computed;
    new Gauge({
      name: 'trellis_diagnostics',
      help:
        'Problems keeping mesh configuration from proxies as written, by kind: translation problems ' +
        "of each mesh's latest revision, and NACKs and withheld resources of the proxies this replica serves",
      labelNames: ['mesh', 'kind'],
      registers: [this.metrics],
      collect() {
        this.reset();
        for (const [mesh, { counts }] of computed) {
          for (const [kind, count] of counts) this.set({ mesh, kind }, count);
        }
        const runtime = new Map<string, number>();
        for (const status of engine.proxyStatuses()) {
          for (const diagnostic of status.diagnostics) {
            if (!PROXY_KINDS.has(diagnostic.kind)) continue;
            const key = JSON.stringify([status.mesh ?? '', diagnostic.kind]);
            runtime.set(key, (runtime.get(key) ?? 0) + 1);
          }
        }
        for (const [key, count] of runtime) {
          const [mesh, kind] = JSON.parse(key) as [string, string];
          this.set({ mesh, kind }, count);
        }
      },
    });
  }

  async start(): Promise<void> {
    await this.feed.start();
    this.resyncTimer = setInterval(() => this.schedule('*'), this.options.resyncMs);
    this.resyncTimer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.resyncTimer);
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    await this.feed.stop();
    await this.work;
  }

  /** Computes `meshName` (or, for `*`, every mesh whose revision or certificates moved) soon. */
  private schedule(meshName: string): void {
    if (this.timers.has(meshName)) return;
    const timer = setTimeout(() => {
      this.timers.delete(meshName);
      this.work = this.work.then(() =>
        (meshName === '*' ? this.computeChanged() : this.compute(meshName)).catch(
          (error: unknown) =>
            this.logger.warn({ err: error, mesh: meshName }, 'computing diagnostics failed'),
        ),
      );
    }, this.options.debounceMs ?? 20);
    timer.unref();
    this.timers.set(meshName, timer);
  }

  private async computeChanged(): Promise<void> {
    const certificatesChanged = ((await this.certificates?.refresh()) ?? []).length > 0;
    for (const [meshName, revision] of await this.reader.revisions()) {
      if (certificatesChanged || this.computed.get(meshName)?.revision !== revision) {
        await this.compute(meshName);
      }
    }
  }

  private async compute(meshName: string): Promise<void> {
    const contents = await this.reader.load(meshName);
    if (contents === undefined) {
      this.computed.delete(meshName);
      return;
    }
    const certificates = this.certificates?.current;
    const snapshot = {
      ...meshSnapshot(contents),
      ...(certificates !== undefined && { certificates }),
    };
    const found = new Map<string, StoredDiagnostic>();
    for (const virtualNode of snapshot.virtualNodes.keys()) {
      const { errors } = proxyIr(snapshot, {
        kind: 'sidecar',
        virtualNode,
        tracing: { enabled: false, daemonAddress: '127.0.0.1', daemonPort: 2000 },
      });
      for (const { kind, path, message } of errors) {
        found.set(JSON.stringify([kind, path, message]), { kind, resource: path, message });
      }
    }
    const diagnostics = [...found.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, diagnostic]) => diagnostic);
    await this.store.record(meshName, contents.revision, diagnostics);
    const counts = new Map<string, number>();
    for (const { kind } of diagnostics) counts.set(kind, (counts.get(kind) ?? 0) + 1);
    this.computed.set(meshName, { revision: contents.revision, counts });
    this.logger.debug(
      { mesh: meshName, revision: contents.revision, diagnostics: diagnostics.length },
      'mesh diagnostics computed',
    );
  }
}
