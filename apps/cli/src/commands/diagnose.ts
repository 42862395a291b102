import type { Command } from '../command';
import { noPositionals, parseCommandLine, required } from '../command-line';
import { ExitCode } from '../exit-codes';
import { formatTable } from '../terminal';

const USAGE = `Usage: trellis diagnose --mesh MESH [--revision N] [flags]

Lists what keeps the mesh's configuration from its proxies as written: translation problems
(certificate not imported, reference to nothing, port conflict, ...) of the latest revision (or
of revision N), and NACKs and withheld resources reported by its proxies. Exits 1 when there is
any, so that CI can fail on it.

Flags:
  --mesh MESH          the mesh
  --revision N         the diagnostics of revision N (or the first computed after it)
  -o, --output FORMAT  text (default) or json (the server's document)
  -h, --help           this help`;

/** `GET /v1/meshes/{mesh}/diagnostics`. */
interface Diagnostics {
  revision: number;
  status: 'COMPUTED' | 'PENDING';
  diagnostics: Array<{ kind: string; resource: string; message: string; proxy?: string }>;
}

export const diagnoseCommand: Command = {
  name: 'diagnose',
  summary: "list a mesh's translation problems and proxy rejections; exit 1 when there are any",
  usage: USAGE,
  async run(args, context) {
    const { values, positionals, output } = parseCommandLine(
      args,
      { mesh: { type: 'string' }, revision: { type: 'string' } },
      USAGE,
    );
    noPositionals(positionals, USAGE);
    const mesh = required(values.mesh, 'mesh', USAGE);
    const terminal = context.terminal(output);
    const { body } = await context
      .api()
      .call<Diagnostics>('GET', ['v1', 'meshes', mesh, 'diagnostics'], {
        query: { revision: values.revision },
        feature: 'diagnostics',
      });
    terminal.document(body);
    if (body.status === 'PENDING') {
      if (!terminal.json)
        terminal.error(`Revision ${body.revision} of ${mesh} is not translated yet.`);
      return ExitCode.TimedOut;
    }
    if (!terminal.json) {
      if (body.diagnostics.length === 0) {
        terminal.line(`No problems in mesh ${mesh} at revision ${body.revision}.`);
      } else {
        terminal.line(
          formatTable(
            ['KIND', 'RESOURCE', 'MESSAGE'],
            body.diagnostics.map((d) => [
              d.kind,
              d.proxy === undefined ? d.resource : `${d.proxy}: ${d.resource}`,
              d.message,
            ]),
          ),
        );
      }
    }
    return body.diagnostics.length > 0 ? ExitCode.Failed : ExitCode.Success;
  },
};
