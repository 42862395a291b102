import type { Command } from '../command';
import {
  noPositionals,
  parseCommandLine,
  parseDuration,
  required,
  UsageError,
} from '../command-line';
import { ExitCode } from '../exit-codes';
import { waitForWrite } from '../propagation';
import { changesTable, type MeshChange } from '../mesh-changes';
import { meshRevisionOf } from '../trellis-api';
import { DEFAULT_WAIT_TIMEOUT } from './weights';

const USAGE = `Usage: trellis revert --mesh MESH --to-revision N [flags]

Restores every resource of the mesh changed after revision N to its state at N. The revert
is itself a change: a new revision, listed by trellis history. Trellis refuses, changing
nothing, when that is impossible.

Flags:
  --mesh MESH          the mesh
  --to-revision N      the revision to return to (see trellis history)
  --wait               return once every connected proxy of the mesh has acknowledged the
                       restored configuration; exit 1 if a proxy rejects it, 2 at the timeout
  --timeout DURATION   how long --wait waits; 0 waits forever (default ${DEFAULT_WAIT_TIMEOUT})
  -o, --output FORMAT  text (default) or json
  -h, --help           this help`;

/** The answer of `POST /v1/meshes/{mesh}/revisions/{n}/revert`. */
interface RevertResult {
  meshName: string;
  revertedTo: number;
  revision: number;
  /** The changes the revert wrote, oldest first. */
  changes: MeshChange[];
}

export const revertCommand: Command = {
  name: 'revert',
  summary: 'restore a mesh to an earlier revision, as a new revision',
  usage: USAGE,
  async run(args, context) {
    const { values, positionals, output } = parseCommandLine(
      args,
      {
        mesh: { type: 'string' },
        'to-revision': { type: 'string' },
        wait: { type: 'boolean' },
        timeout: { type: 'string' },
      },
      USAGE,
    );
    noPositionals(positionals, USAGE);
    const mesh = required(values.mesh, 'mesh', USAGE);
    const toRevision = required(values['to-revision'], 'to-revision', USAGE);
    if (!/^\d+$/.test(toRevision)) {
      throw new UsageError(`--to-revision must be a revision number, got ${toRevision}`, USAGE);
    }
    if (values.timeout !== undefined && !values.wait) {
      throw new UsageError('--timeout applies to --wait only', USAGE);
    }
    const timeoutMs = parseDuration(values.timeout ?? DEFAULT_WAIT_TIMEOUT, 'timeout', USAGE);
    const terminal = context.terminal(output);
    const api = context.api();

    const response = await api.call<RevertResult>(
      'POST',
      ['v1', 'meshes', mesh, 'revisions', toRevision, 'revert'],
      { feature: 'revert' },
    );
    const revision = meshRevisionOf(response.headers);
    const { changes } = response.body;
    if (changes.length === 0) {
      terminal.line(`Mesh ${mesh} is as it was at revision ${toRevision}: nothing to restore.`);
    } else {
      terminal.line(
        `Mesh ${mesh} restored to its state at revision ${toRevision} in revision ${revision ?? 'unknown'}:`,
      );
      terminal.line(changesTable(changes));
    }
    const document = response.body;
    if (!values.wait) {
      terminal.document(document);
      return ExitCode.Success;
    }
    return waitForWrite(terminal, api, { mesh, revision, timeoutMs, progressLabel: '' }, document);
  },
};
