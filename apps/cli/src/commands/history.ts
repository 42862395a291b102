import type { Command } from '../command';
import { noPositionals, parseCommandLine, required, UsageError } from '../command-line';
import { ExitCode } from '../exit-codes';
import { changesTable, type MeshChange } from '../mesh-changes';

const DEFAULT_LIMIT = 50;
/** The most the server answers in one page. */
const PAGE_SIZE = 100;

const USAGE = `Usage: trellis history --mesh MESH [flags]

Lists the changes to a mesh, newest first: revision, time, actor (the access key id that
signed the request), operation, resource, what changed, and why (the reason given, or the
rollout that made the change). For routes the change shows the weights before and after.

Flags:
  --mesh MESH          the mesh
  --kind KIND          only changes to resources of this kind: mesh, virtualNode,
                       virtualRouter, route, virtualService
  --name NAME          only changes to resources of this name
  --router ROUTER      only changes to routes of this virtual router
  --rollout ID         only changes made by this rollout
  --limit N            the newest N changes (default ${DEFAULT_LIMIT})
  -o, --output FORMAT  text (default) or json
  -h, --help           this help

Example:
  trellis history --mesh demo --kind route --router api --name canary`;

interface HistoryPage {
  meshName: string;
  revision: number;
  changes: MeshChange[];
  nextToken?: string;
}

export const historyCommand: Command = {
  name: 'history',
  summary: "list a mesh's changes: revision, time, actor, resource, before → after",
  usage: USAGE,
  async run(args, context) {
    const { values, positionals, output } = parseCommandLine(
      args,
      {
        mesh: { type: 'string' },
        kind: { type: 'string' },
        name: { type: 'string' },
        router: { type: 'string' },
        rollout: { type: 'string' },
        limit: { type: 'string' },
      },
      USAGE,
    );
    noPositionals(positionals, USAGE);
    const mesh = required(values.mesh, 'mesh', USAGE);
    const limit = values.limit === undefined ? DEFAULT_LIMIT : Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1) {
      throw new UsageError(`--limit must be a positive integer, got ${values.limit}`, USAGE);
    }
    const terminal = context.terminal(output);
    const api = context.api();

    const changes: MeshChange[] = [];
    let page: HistoryPage | undefined;
    do {
      page = (
        await api.call<HistoryPage>('GET', ['v1', 'meshes', mesh, 'history'], {
          query: {
            kind: values.kind,
            name: values.name,
            parent: values.router,
            rolloutId: values.rollout,
            limit: String(Math.min(limit - changes.length, PAGE_SIZE)),
            nextToken: page?.nextToken,
          },
          feature: 'mesh history',
        })
      ).body;
      changes.push(...page.changes);
    } while (page.nextToken && changes.length < limit);

    terminal.document({ meshName: page.meshName, revision: page.revision, changes });
    if (terminal.json) return ExitCode.Success;
    if (changes.length === 0) {
      terminal.error(`No changes to mesh ${mesh} match.`);
      return ExitCode.Success;
    }
    terminal.line(changesTable(changes));
    return ExitCode.Success;
  },
};
