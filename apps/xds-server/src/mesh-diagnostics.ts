import type { Logger } from 'pino';
import { Gauge, Registry } from 'prom-client';
import { MeshChangeFeed } from '../../../libs/persistence/src/mesh-change-feed';
import {
  diagnosticKey,
  type MeshDiagnosticsStore,
  type StoredDiagnostic,
} from '../../../libs/persistence/src/mesh-diagnostics-store';
import type { MeshReader } from '../../../libs/persistence/src/mesh-reader';
import { meshSnapshot, type ProxyTarget } from '../../../libs/translator/src/mesh-snapshot';
import { proxyIr } from '../../../libs/translator/src/translate';
import type { XdsEngine } from '../../../libs/xds/src/xds-engine';
import type { ServedCertificates } from './served-certificates';

export interface MeshDiagnosticsOptions {
  databaseUrl: string;
  resyncMs: number;
  /** Coalesces a burst of writes to one mesh into one computation. */
  debounceMs?: number;
}

/**
 * Computes each mesh's diagnostics where translation happens (the xDS role) and stores them by
 * mesh revision, so the admin API of any replica can answer `GET /v1/meshes/{mesh}/diagnostics`.
 * A mesh's diagnostics are the translation problems of the sidecar of every virtual node, computed
 * after each change (bursts coalesced) and again when a certificate it names changes. Meshes
 * without connected proxies are covered too: the problem exists before a proxy meets it.
 */
export class MeshDiagnosticsPublisher {
  readonly metrics = new Registry();
  private readonly feed: MeshChangeFeed;
  /** The revision each mesh's diagnostics were computed at, and their count by kind. */
  private readonly computed = new Map<
    string,
    { revision: number; diagnostics: readonly StoredDiagnostic[] }
  >();
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
        "of each mesh's latest revision, with what the proxies this replica serves add (NACKs, withheld resources)",
      labelNames: ['mesh', 'kind'],
      registers: [this.metrics],
      collect() {
        this.reset();
        // The mesh's translation problems, and what this replica's proxies add to them.
        const found = new Map<string, Map<string, StoredDiagnostic>>();
        const add = (mesh: string, diagnostic: StoredDiagnostic) => {
          let ofMesh = found.get(mesh);
          if (!ofMesh) found.set(mesh, (ofMesh = new Map<string, StoredDiagnostic>()));
          ofMesh.set(diagnosticKey(diagnostic), diagnostic);
        };
        for (const [mesh, { diagnostics }] of computed) diagnostics.forEach((d) => add(mesh, d));
        for (const status of engine.proxyStatuses()) {
          if (status.mesh !== undefined) status.diagnostics.forEach((d) => add(status.mesh!, d));
        }
        for (const [mesh, diagnostics] of found) {
          const counts = new Map<string, number>();
          for (const { kind } of diagnostics.values())
            counts.set(kind, (counts.get(kind) ?? 0) + 1);
          for (const [kind, count] of counts) this.set({ mesh, kind }, count);
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

  /**
   * Repairs what notifications missed: meshes whose current revision nobody computed (written
   * while no xDS role ran, or a lost notification), and meshes naming a certificate that changed.
   */
  private async computeChanged(): Promise<void> {
    const changedCertificates = (await this.certificates?.refresh()) ?? [];
    const meshes = new Set(await this.store.uncomputedMeshes());
    if (changedCertificates.length > 0) {
      (await this.store.meshesNaming(changedCertificates)).forEach((mesh) => meshes.add(mesh));
    }
    for (const meshName of meshes) await this.compute(meshName);
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
    const tracing = { enabled: false, daemonAddress: '127.0.0.1', daemonPort: 2000 };
    const proxies: ProxyTarget[] = [
      ...[...snapshot.virtualNodes.keys()].map((virtualNode) => ({
        kind: 'sidecar' as const,
        virtualNode,
        tracing,
      })),
      ...[...snapshot.virtualGateways.keys()].map((virtualGateway) => ({
        kind: 'gateway' as const,
        virtualGateway,
        tracing,
      })),
    ];
    for (const proxy of proxies) {
      const { errors } = proxyIr(snapshot, proxy);
      for (const { kind, path, message } of errors) {
        found.set(JSON.stringify([kind, path, message]), { kind, resource: path, message });
      }
    }
    const diagnostics = [...found.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, diagnostic]) => diagnostic);
    await this.store.record(meshName, contents.revision, diagnostics);
    this.computed.set(meshName, { revision: contents.revision, diagnostics });
    this.logger.debug(
      { mesh: meshName, revision: contents.revision, diagnostics: diagnostics.length },
      'mesh diagnostics computed',
    );
  }
}
