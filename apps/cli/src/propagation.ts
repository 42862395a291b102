import { setTimeout as sleep } from 'node:timers/promises';
import { formatDuration } from './command-line';
import { ExitCode } from './exit-codes';
import type { Terminal } from './terminal';
import { isTransient, MESH_REVISION_HEADER, type TrellisApi } from './trellis-api';

/** `GET /v1/meshes/{mesh}/propagation?revision=N`. */
export interface Propagation {
  revision: number;
  /** Connected proxies of the mesh. */
  proxies: number;
  /** Proxies that acknowledged configuration built from `revision` or later, for every type. */
  acked: number;
  pending: Array<{ node: string; state: string; syncedRevision?: number }>;
  /** `revision`: the mesh revision of the configuration the proxy rejected. */
  nacked: Array<{ node: string; type: string; message: string; revision?: number }>;
}

export type WaitResult =
  | { outcome: 'propagated'; elapsedMs: number; propagation: Propagation }
  | { outcome: 'rejected'; elapsedMs: number; propagation: Propagation }
  | {
      outcome: 'timedOut';
      elapsedMs: number;
      propagation?: Propagation;
      /** Why the last poll failed, when the server could not be asked at the end. */
      lastError?: string;
    };

export interface WaitOptions {
  /** 0: no limit. */
  timeoutMs: number;
  pollMs?: number;
  onProgress?: (propagation: Propagation, elapsedMs: number) => void;
}

/**
 * Polls until every connected proxy of the mesh acknowledged `revision` (or later), a proxy
 * rejects configuration, or the timeout passes. An unreachable or unavailable server is
 * asked again until the timeout: a control plane restarting mid-deploy should not fail it.
 */
export async function waitForPropagation(
  api: TrellisApi,
  mesh: string,
  revision: number,
  options: WaitOptions,
): Promise<WaitResult> {
  const started = Date.now();
  const deadline = options.timeoutMs > 0 ? started + options.timeoutMs : Infinity;
  let propagation: Propagation | undefined;
  let lastError: string | undefined;
  for (;;) {
    try {
      propagation = (
        await api.call<Propagation>('GET', ['v1', 'meshes', mesh, 'propagation'], {
          query: { revision: String(revision) },
          feature: 'propagation status',
          timeoutMs: pollTimeout(deadline),
        })
      ).body;
      lastError = undefined;
      const elapsedMs = Date.now() - started;
      options.onProgress?.(propagation, elapsedMs);
      if (rejections(propagation).length > 0) {
        return { outcome: 'rejected', elapsedMs, propagation };
      }
      if (propagation.acked >= propagation.proxies) {
        return { outcome: 'propagated', elapsedMs, propagation };
      }
    } catch (error) {
      if (!isTransient(error)) throw error;
      lastError = error.message;
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      return { outcome: 'timedOut', elapsedMs: Date.now() - started, propagation, lastError };
    }
    await sleep(Math.min(options.pollMs ?? 250, remaining));
  }
}

/**
 * A poll may run until the deadline, but at least a second: the last poll, made just before
 * the deadline, should get its answer rather than be cut short.
 */
export function pollTimeout(deadline: number): number | undefined {
  return Number.isFinite(deadline) ? Math.max(deadline - Date.now(), 1000) : undefined;
}

/**
 * The rejections of the revision waited for or a later one. A proxy that rejected an older
 * revision is still listed until it answers the newer configuration on its way to it.
 */
function rejections(propagation: Propagation): Propagation['nacked'] {
  return propagation.nacked.filter(
    (nack) => nack.revision === undefined || nack.revision >= propagation.revision,
  );
}

/** `2/3 proxies acked`, for progress lines. */
export function ackedSummary(propagation: Propagation): string {
  return `${propagation.acked}/${propagation.proxies} proxies acked`;
}

/**
 * Says how a wait ended — success on stdout, rejection and timeout on stderr naming the
 * proxies concerned — and answers the exit code.
 */
export function reportWait(terminal: Terminal, result: WaitResult, revision: number): ExitCode {
  const took = formatDuration(result.elapsedMs);
  switch (result.outcome) {
    case 'propagated': {
      const { proxies } = result.propagation;
      terminal.line(
        proxies === 0
          ? `Revision ${revision}: no proxy of the mesh is connected; nothing to wait for.`
          : `Revision ${revision} reached ${proxies === 1 ? 'the connected proxy' : `all ${proxies} connected proxies`} in ${took}.`,
      );
      return ExitCode.Success;
    }
    case 'rejected': {
      const nacked = rejections(result.propagation);
      terminal.error(
        `trellis: ${nacked.length === 1 ? 'a proxy' : `${nacked.length} proxies`} rejected the configuration (revision ${revision}):`,
      );
      for (const { node, type, message } of nacked) terminal.error(`  ${node} ${type}: ${message}`);
      return ExitCode.Failed;
    }
    case 'timedOut': {
      const { propagation, lastError } = result;
      if (!propagation) {
        terminal.error(
          `trellis: timed out after ${took} waiting for revision ${revision}: ${lastError ?? 'no answer'}`,
        );
        return ExitCode.TimedOut;
      }
      terminal.error(
        `trellis: timed out after ${took} waiting for revision ${revision}: ${ackedSummary(propagation)}; still pending:`,
      );
      for (const { node, state, syncedRevision } of propagation.pending) {
        const has = syncedRevision === undefined ? 'no revision' : `revision ${syncedRevision}`;
        terminal.error(`  ${node} (${state}, has ${has})`);
      }
      if (lastError) terminal.error(`  (last poll failed: ${lastError})`);
      return ExitCode.TimedOut;
    }
  }
}

/** The wait's result as it goes into a command's JSON document. */
export function waitDocument(result: WaitResult): Record<string, unknown> {
  const { propagation, ...outcome } = result;
  return { ...outcome, ...propagation };
}

/**
 * `--wait` after a write: waits for the revision the write answered, showing progress on a
 * terminal, then writes the command's JSON document (with the wait's outcome) and reports.
 */
export async function waitForWrite(
  terminal: Terminal,
  api: TrellisApi,
  write: { mesh: string; revision?: number; timeoutMs: number; progressLabel: string },
  document: object,
): Promise<ExitCode> {
  const { mesh, revision } = write;
  if (revision === undefined) {
    terminal.error(`trellis: the server did not answer ${MESH_REVISION_HEADER}: cannot wait`);
    return ExitCode.Failed;
  }
  const result = await waitForPropagation(api, mesh, revision, {
    timeoutMs: write.timeoutMs,
    onProgress: (propagation, elapsedMs) =>
      terminal.progress(
        `Waiting for revision ${revision}${write.progressLabel}: ${ackedSummary(propagation)} (${formatDuration(elapsedMs)})`,
      ),
  });
  terminal.clearProgress();
  terminal.document({ ...document, wait: waitDocument(result) });
  return reportWait(terminal, result, revision);
}
