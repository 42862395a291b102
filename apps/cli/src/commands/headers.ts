import type { Command } from '../command';
import { noPositionals, parseCommandLine, required, UsageError } from '../command-line';
import { ExitCode } from '../exit-codes';
import { meshRevisionOf } from '../trellis-api';

const TARGET_FLAGS = `  --mesh MESH                 the mesh
  --router ROUTER --route ROUTE
                              a route of a virtual router, or
  --gateway GATEWAY --gateway-route ROUTE
                              a gateway route of a virtual gateway`;

const SET_USAGE = `Usage: trellis headers set --mesh MESH (--router R --route X | --gateway G --gateway-route X) [flags]

Sets the header rule of a route or gateway route: headers its proxy adds to and removes from
the requests the route matches and their responses. The rule replaces any the route had; the
App Mesh route itself is unchanged. Values may use Envoy's request formatters, e.g.
%REQ(:authority)% for the host the client asked for; %% is a literal %.

Flags:
${TARGET_FLAGS}
  --add NAME=VALUE            a request header to set (repeatable)
  --append NAME=VALUE         a request header to add beside any the request has (repeatable)
  --remove NAME               a request header to remove (repeatable)
  --response-add NAME=VALUE   a response header to set (repeatable)
  --response-remove NAME      a response header to remove (repeatable)
  -o, --output FORMAT         text (default) or json
  -h, --help                  this help

Example:
  trellis headers set --mesh saas --gateway ingress --gateway-route acme \\
    --add x-customer=acme --add 'x-forwarded-host=%REQ(:authority)%' --response-remove server`;

const GET_USAGE = `Usage: trellis headers get --mesh MESH (--router R --route X | --gateway G --gateway-route X)

Prints the header rule of a route or gateway route.

Flags:
${TARGET_FLAGS}
  -o, --output FORMAT         text (default) or json
  -h, --help                  this help`;

const DELETE_USAGE = `Usage: trellis headers delete --mesh MESH (--router R --route X | --gateway G --gateway-route X)

Deletes the header rule of a route or gateway route; its proxies stop adding and removing those
headers. (Deleting the route deletes its rule too.)

Flags:
${TARGET_FLAGS}
  -o, --output FORMAT         text (default) or json
  -h, --help                  this help`;

const TARGET_OPTIONS = {
  mesh: { type: 'string' },
  router: { type: 'string' },
  route: { type: 'string' },
  gateway: { type: 'string' },
  'gateway-route': { type: 'string' },
} as const;

interface HeaderToAdd {
  name: string;
  value: string;
  append?: boolean;
}

interface RuleData {
  spec?: {
    requestHeadersToAdd?: HeaderToAdd[];
    requestHeadersToRemove?: string[];
    responseHeadersToAdd?: HeaderToAdd[];
    responseHeadersToRemove?: string[];
  };
  metadata?: { version?: number };
}

/** Which rule: the path segments of `/v1/meshes/{mesh}/…/headers` and how to name it. */
function ruleTarget(
  values: Partial<Record<keyof typeof TARGET_OPTIONS, string>>,
  usage: string,
): { path: string[]; label: string } {
  const mesh = required(values.mesh, 'mesh', usage);
  const byRouter = values.router !== undefined || values.route !== undefined;
  const byGateway = values.gateway !== undefined || values['gateway-route'] !== undefined;
  if (byRouter === byGateway) {
    throw new UsageError(
      'name either --router and --route, or --gateway and --gateway-route',
      usage,
    );
  }
  if (byRouter) {
    const router = required(values.router, 'router', usage);
    const route = required(values.route, 'route', usage);
    return {
      path: ['v1', 'meshes', mesh, 'virtualRouters', router, 'routes', route, 'headers'],
      label: `Route ${route} (virtual router ${router}, mesh ${mesh})`,
    };
  }
  const gateway = required(values.gateway, 'gateway', usage);
  const route = required(values['gateway-route'], 'gateway-route', usage);
  return {
    path: ['v1', 'meshes', mesh, 'virtualGateways', gateway, 'gatewayRoutes', route, 'headers'],
    label: `Gateway route ${route} (virtual gateway ${gateway}, mesh ${mesh})`,
  };
}

function nameValue(text: string, flag: string, usage: string): { name: string; value: string } {
  const at = text.indexOf('=');
  if (at <= 0) throw new UsageError(`--${flag} takes NAME=VALUE, got ${text}`, usage);
  return { name: text.slice(0, at), value: text.slice(at + 1) };
}

/** One line per header, as the proxy applies them. */
function describeRule(rule: RuleData['spec']): string[] {
  const adds = (direction: string, headers: HeaderToAdd[] | undefined) =>
    (headers ?? []).map(
      (header) =>
        `  ${direction} ${header.append ? 'append' : 'set   '} ${header.name}: ${header.value}`,
    );
  const removes = (direction: string, names: string[] | undefined) =>
    (names ?? []).map((name) => `  ${direction} remove ${name}`);
  return [
    ...adds('request ', rule?.requestHeadersToAdd),
    ...removes('request ', rule?.requestHeadersToRemove),
    ...adds('response', rule?.responseHeadersToAdd),
    ...removes('response', rule?.responseHeadersToRemove),
  ];
}

export const headersSetCommand: Command = {
  name: 'headers set',
  summary: 'set the headers a route or gateway route adds and removes',
  usage: SET_USAGE,
  async run(args, context) {
    const { values, positionals, output } = parseCommandLine(
      args,
      {
        ...TARGET_OPTIONS,
        add: { type: 'string', multiple: true },
        append: { type: 'string', multiple: true },
        remove: { type: 'string', multiple: true },
        'response-add': { type: 'string', multiple: true },
        'response-remove': { type: 'string', multiple: true },
      },
      SET_USAGE,
    );
    noPositionals(positionals, SET_USAGE);
    const target = ruleTarget(values, SET_USAGE);
    const rule = {
      requestHeadersToAdd: [
        ...(values.add ?? []).map((text) => nameValue(text, 'add', SET_USAGE)),
        ...(values.append ?? []).map((text) => ({
          ...nameValue(text, 'append', SET_USAGE),
          append: true,
        })),
      ],
      requestHeadersToRemove: values.remove ?? [],
      responseHeadersToAdd: (values['response-add'] ?? []).map((text) =>
        nameValue(text, 'response-add', SET_USAGE),
      ),
      responseHeadersToRemove: values['response-remove'] ?? [],
    };
    const body = Object.fromEntries(Object.entries(rule).filter(([, list]) => list.length > 0));
    if (Object.keys(body).length === 0) {
      throw new UsageError(
        'name at least one header: --add, --append, --remove, --response-add or --response-remove',
        SET_USAGE,
      );
    }
    const response = await context
      .api()
      .call<RuleData>('PUT', target.path, { body, feature: 'header rules' });
    const revision = meshRevisionOf(response.headers);
    const terminal = context.terminal(output);
    terminal.line(
      `${target.label}: header rule version ${response.body?.metadata?.version ?? 'unknown'}; mesh revision ${revision ?? 'unknown'}.`,
    );
    for (const line of describeRule(response.body?.spec)) terminal.line(line);
    terminal.document({ revision, headerRule: response.body });
    return ExitCode.Success;
  },
};

/** `get` and `delete`: one call on the rule, its answer printed. */
function ruleCommand(
  action: 'get' | 'delete',
  summary: string,
  usage: string,
  method: 'GET' | 'DELETE',
): Command {
  return {
    name: `headers ${action}`,
    summary,
    usage,
    async run(args, context) {
      const { values, positionals, output } = parseCommandLine(args, TARGET_OPTIONS, usage);
      noPositionals(positionals, usage);
      const target = ruleTarget(values, usage);
      const response = await context
        .api()
        .call<RuleData>(method, target.path, { feature: 'header rules' });
      const terminal = context.terminal(output);
      if (method === 'DELETE') {
        const revision = meshRevisionOf(response.headers);
        terminal.line(
          `${target.label}: header rule deleted; mesh revision ${revision ?? 'unknown'}.`,
        );
        terminal.document({ revision, headerRule: response.body });
        return ExitCode.Success;
      }
      terminal.line(
        `${target.label}: header rule version ${response.body?.metadata?.version ?? 'unknown'}`,
      );
      for (const line of describeRule(response.body?.spec)) terminal.line(line);
      terminal.document(response.body);
      return ExitCode.Success;
    },
  };
}

export const headersGetCommand = ruleCommand(
  'get',
  'print the header rule of a route or gateway route',
  GET_USAGE,
  'GET',
);

export const headersDeleteCommand = ruleCommand(
  'delete',
  'delete the header rule of a route or gateway route',
  DELETE_USAGE,
  'DELETE',
);

export const headersCommands: Command[] = [
  headersSetCommand,
  headersGetCommand,
  headersDeleteCommand,
];
