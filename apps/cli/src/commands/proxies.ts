import type { Command } from '../command';
import { formatDuration, noPositionals, parseCommandLine } from '../command-line';
import { ExitCode } from '../exit-codes';
import { formatTable } from '../terminal';

const USAGE = `Usage: trellis proxies [--mesh MESH] [flags]

Lists the proxies connected to Trellis and, per resource type, whether each has acknowledged
what it was sent, like istioctl proxy-status. SYNCED: acknowledged; STALE: sent, not yet
acknowledged; NACKED: rejected; NOT SENT: nothing sent yet; -: not subscribed.

Flags:
  --mesh MESH          only the proxies of this mesh
  -o, --output FORMAT  text (default) or json (the server's document)
  -h, --help           this help`;

/** The columns, in istioctl's order. */
const TYPES = ['CDS', 'LDS', 'EDS', 'RDS'] as const;

/** One proxy of `GET /v1/proxies`. */
interface ProxyStatus {
  nodeId: string;
  userAgent?: string;
  userAgentVersion?: string;
  connectedSince?: string;
  connected?: boolean;
  syncedRevision?: number;
  types?: Array<{ type: string; state: string }>;
}

export const proxiesCommand: Command = {
  name: 'proxies',
  summary: 'list connected proxies and what each acknowledged (like istioctl proxy-status)',
  usage: USAGE,
  async run(args, context) {
    const { values, positionals, output } = parseCommandLine(
      args,
      { mesh: { type: 'string' } },
      USAGE,
    );
    noPositionals(positionals, USAGE);
    const terminal = context.terminal(output);
    const { body } = await context
      .api()
      .call<{ proxies: ProxyStatus[] }>('GET', ['v1', 'proxies'], {
        query: { mesh: values.mesh },
        feature: 'proxy status',
      });
    terminal.document(body);
    if (terminal.json) return ExitCode.Success;
    if (body.proxies.length === 0) {
      terminal.error(
        values.mesh
          ? `No proxies of mesh ${values.mesh} are connected.`
          : 'No proxies are connected.',
      );
      return ExitCode.Success;
    }
    const now = Date.now();
    const rows = [...body.proxies]
      .sort((a, b) => a.nodeId.localeCompare(b.nodeId))
      .map((proxy) => [
        proxy.nodeId,
        ...TYPES.map((type) => typeState(proxy, type)),
        proxy.syncedRevision === undefined ? '-' : String(proxy.syncedRevision),
        connection(proxy, now),
        [proxy.userAgent, proxy.userAgentVersion].filter(Boolean).join('/') || '-',
      ]);
    terminal.line(formatTable(['NAME', ...TYPES, 'REVISION', 'CONNECTED', 'VERSION'], rows));
    return ExitCode.Success;
  },
};

function typeState(proxy: ProxyStatus, type: string): string {
  const state = proxy.types?.find((status) => status.type === type)?.state;
  return state === undefined ? '-' : state.replace('_', ' ');
}

/** How long the stream has been up, or `no` for a proxy listed during its grace period. */
function connection(proxy: ProxyStatus, now: number): string {
  if (proxy.connected === false) return 'no';
  const since = proxy.connectedSince ? Date.parse(proxy.connectedSince) : NaN;
  return Number.isNaN(since) ? 'yes' : formatDuration(Math.max(now - since, 0));
}
