import type { Command } from '../command';
import { parseCommandLine, parseDuration, required, UsageError } from '../command-line';
import { ExitCode } from '../exit-codes';
import { waitForWrite } from '../propagation';
import { meshRevisionOf } from '../trellis-api';
import { formatWeights, parseWeights, sameWeights, weightsOfRouteSpec } from '../weighted-targets';

export const DEFAULT_WAIT_TIMEOUT = '120s';

const USAGE = `Usage: trellis weights set --mesh MESH --router ROUTER --route ROUTE NODE=WEIGHT... [flags]

Sets the weighted targets of a route, e.g. blue=90 green=10. Weights are percentages
(decimals allowed). Setting the weights a route already has changes nothing.

Flags:
  --mesh MESH          the mesh
  --router ROUTER      the virtual router
  --route ROUTE        the route
  --reason TEXT        why, kept in the mesh's history (trellis history)
  --wait               return once every connected proxy of the mesh has acknowledged the
                       new configuration; exit 1 if a proxy rejects it, 2 at the timeout
  --timeout DURATION   how long --wait waits, e.g. 90s, 5m; 0 waits forever (default ${DEFAULT_WAIT_TIMEOUT})
  -o, --output FORMAT  text (default) or json
  -h, --help           this help

Example:
  trellis weights set --mesh demo --router api --route canary blue=90 green=10 \\
    --reason "canary of build 1234" --wait --timeout 2m`;

interface RouteData {
  spec?: unknown;
  metadata?: { version?: number };
}

export const weightsSetCommand: Command = {
  name: 'weights set',
  summary: "set a route's weighted targets; --wait until every proxy has them",
  usage: USAGE,
  async run(args, context) {
    const { values, positionals, output } = parseCommandLine(
      args,
      {
        mesh: { type: 'string' },
        router: { type: 'string' },
        route: { type: 'string' },
        reason: { type: 'string' },
        wait: { type: 'boolean' },
        timeout: { type: 'string' },
      },
      USAGE,
    );
    const mesh = required(values.mesh, 'mesh', USAGE);
    const router = required(values.router, 'router', USAGE);
    const route = required(values.route, 'route', USAGE);
    const weights = parseWeights(positionals, USAGE);
    if (values.timeout !== undefined && !values.wait) {
      throw new UsageError('--timeout applies to --wait only', USAGE);
    }
    const timeoutMs = parseDuration(values.timeout ?? DEFAULT_WAIT_TIMEOUT, 'timeout', USAGE);
    const terminal = context.terminal(output);
    const api = context.api();

    const response = await api.call<RouteData>(
      'PUT',
      ['v1', 'meshes', mesh, 'virtualRouters', router, 'routes', route, 'weights'],
      { body: { targets: weights, reason: values.reason }, feature: 'setting route weights' },
    );
    const revision = meshRevisionOf(response.headers);
    // Trellis stores decimal percentages as the smallest whole-number ratio (87.5/12.5 as 7/1).
    const stored = weightsOfRouteSpec(response.body?.spec);
    const storedAs =
      stored && !sameWeights(stored, weights) ? ` (stored as ${formatWeights(stored)})` : '';
    terminal.line(
      `Route ${route} (virtual router ${router}, mesh ${mesh}): ${formatWeights(weights)}${storedAs}; mesh revision ${revision ?? 'unknown'}.`,
    );
    const document = {
      mesh,
      virtualRouter: router,
      route,
      revision,
      weights,
      routeData: response.body,
    };
    if (!values.wait) {
      terminal.document(document);
      return ExitCode.Success;
    }
    return waitForWrite(
      terminal,
      api,
      { mesh, revision, timeoutMs, progressLabel: ` (${formatWeights(weights)})` },
      document,
    );
  },
};
