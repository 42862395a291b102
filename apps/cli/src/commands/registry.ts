import type { Command } from '../command';
import {
  noPositionals,
  parseCommandLine,
  parseDuration,
  required,
  UsageError,
} from '../command-line';
import { ExitCode } from '../exit-codes';
import { formatTable } from '../terminal';

/** `GET /v1/registry/services/{id}/instances`. */
interface ServiceInstances {
  service: { Id: string; Name: string; NamespaceId: string };
  leaseTtlSeconds: number | null;
  instances: Array<{
    id: string;
    attributes: Record<string, string>;
    health: string;
    leaseExpiresAt: string | null;
  }>;
}

const INSTANCES_USAGE = `Usage: trellis registry instances --service SERVICE_ID [flags]

Lists the instances registered in a Cloud Map service of Trellis' registry, with their health
(HEALTHY, UNHEALTHY, or UNKNOWN for services without health checks) and lease.

Flags:
  --service ID         the service id (srv-...)
  -o, --output FORMAT  text (default) or json (the server's document)
  -h, --help           this help`;

const REGISTER_USAGE = `Usage: trellis registry register --service SERVICE_ID --instance ID [flags]

Registers an instance (or replaces its attributes), as Cloud Map's RegisterInstance does.

Flags:
  --service ID         the service id (srv-...)
  --instance ID        the instance id
  --ipv4 ADDRESS       AWS_INSTANCE_IPV4
  --ipv6 ADDRESS       AWS_INSTANCE_IPV6
  --port PORT          AWS_INSTANCE_PORT
  --attribute KEY=VALUE
                       a custom attribute; repeat for more
  -o, --output FORMAT  text (default) or json
  -h, --help           this help`;

const DEREGISTER_USAGE = `Usage: trellis registry deregister --service SERVICE_ID --instance ID

Deregisters an instance; its callers stop receiving it as an endpoint.

Flags:
  --service ID         the service id (srv-...)
  --instance ID        the instance id
  -o, --output FORMAT  text (default) or json
  -h, --help           this help`;

const HEARTBEAT_USAGE = `Usage: trellis registry heartbeat --service SERVICE_ID --instance ID [--every DURATION]

Renews an instance's lease (the service needs a lease TTL: PUT /v1/registry/services/{id}/lease).
With --every, keeps renewing at that interval until stopped, as a host's agent would.

Flags:
  --service ID         the service id (srv-...)
  --instance ID        the instance id
  --every DURATION     renew repeatedly, e.g. 10s (a third of the TTL is a good choice)
  -o, --output FORMAT  text (default) or json
  -h, --help           this help`;

const TARGET_OPTIONS = {
  service: { type: 'string' },
  instance: { type: 'string' },
} as const;

const instancesCommand: Command = {
  name: 'registry instances',
  summary: 'list a registry service’s instances with their health',
  usage: INSTANCES_USAGE,
  async run(args, context) {
    const { values, positionals, output } = parseCommandLine(
      args,
      { service: TARGET_OPTIONS.service },
      INSTANCES_USAGE,
    );
    noPositionals(positionals, INSTANCES_USAGE);
    const service = required(values.service, 'service', INSTANCES_USAGE);
    const terminal = context.terminal(output);
    const { body } = await context
      .api()
      .call<ServiceInstances>('GET', ['v1', 'registry', 'services', service, 'instances'], {
        feature: 'the service registry',
      });
    terminal.document(body);
    if (terminal.json) return ExitCode.Success;
    if (body.instances.length === 0) {
      terminal.error(`Service ${body.service.Name} (${service}) has no instances.`);
      return ExitCode.Success;
    }
    const rows = body.instances.map((instance) => [
      instance.id,
      instance.health,
      instance.attributes.AWS_INSTANCE_IPV4 ?? instance.attributes.AWS_INSTANCE_IPV6 ?? '-',
      instance.attributes.AWS_INSTANCE_PORT ?? '-',
      instance.leaseExpiresAt ?? '-',
      Object.entries(instance.attributes)
        .filter(([key]) => !key.startsWith('AWS_'))
        .map(([key, value]) => `${key}=${value}`)
        .join(',') || '-',
    ]);
    terminal.line(
      formatTable(['INSTANCE', 'HEALTH', 'ADDRESS', 'PORT', 'LEASE UNTIL', 'ATTRIBUTES'], rows),
    );
    return ExitCode.Success;
  },
};

const registerCommand: Command = {
  name: 'registry register',
  summary: 'register an instance in a registry service',
  usage: REGISTER_USAGE,
  async run(args, context) {
    const { values, positionals, output } = parseCommandLine(
      args,
      {
        ...TARGET_OPTIONS,
        ipv4: { type: 'string' },
        ipv6: { type: 'string' },
        port: { type: 'string' },
        attribute: { type: 'string', multiple: true },
      },
      REGISTER_USAGE,
    );
    noPositionals(positionals, REGISTER_USAGE);
    const service = required(values.service, 'service', REGISTER_USAGE);
    const instance = required(values.instance, 'instance', REGISTER_USAGE);
    const attributes = new Map<string, string>();
    for (const pair of values.attribute ?? []) {
      const at = pair.indexOf('=');
      if (at <= 0)
        throw new UsageError(`--attribute must be KEY=VALUE, got ${pair}`, REGISTER_USAGE);
      attributes.set(pair.slice(0, at), pair.slice(at + 1));
    }
    if (values.ipv4 !== undefined) attributes.set('AWS_INSTANCE_IPV4', values.ipv4);
    if (values.ipv6 !== undefined) attributes.set('AWS_INSTANCE_IPV6', values.ipv6);
    if (values.port !== undefined) attributes.set('AWS_INSTANCE_PORT', values.port);
    const terminal = context.terminal(output);
    const { body } = await context
      .api()
      .call<{ OperationId: string }>(
        'PUT',
        ['v1', 'registry', 'services', service, 'instances', instance],
        { body: { attributes: Object.fromEntries(attributes) }, feature: 'the service registry' },
      );
    terminal.document(body);
    terminal.line(`Registered ${instance} in ${service} (operation ${body.OperationId}).`);
    return ExitCode.Success;
  },
};

const deregisterCommand: Command = {
  name: 'registry deregister',
  summary: 'deregister an instance from a registry service',
  usage: DEREGISTER_USAGE,
  async run(args, context) {
    const { values, positionals, output } = parseCommandLine(
      args,
      TARGET_OPTIONS,
      DEREGISTER_USAGE,
    );
    noPositionals(positionals, DEREGISTER_USAGE);
    const service = required(values.service, 'service', DEREGISTER_USAGE);
    const instance = required(values.instance, 'instance', DEREGISTER_USAGE);
    const terminal = context.terminal(output);
    const { body } = await context
      .api()
      .call<{ OperationId: string }>(
        'POST',
        ['v1', 'registry', 'services', service, 'instances', instance, 'deregister'],
        { feature: 'the service registry' },
      );
    terminal.document(body);
    terminal.line(`Deregistered ${instance} from ${service} (operation ${body.OperationId}).`);
    return ExitCode.Success;
  },
};

const heartbeatCommand: Command = {
  name: 'registry heartbeat',
  summary: 'renew an instance’s lease, once or repeatedly',
  usage: HEARTBEAT_USAGE,
  async run(args, context) {
    const { values, positionals, output } = parseCommandLine(
      args,
      { ...TARGET_OPTIONS, every: { type: 'string' } },
      HEARTBEAT_USAGE,
    );
    noPositionals(positionals, HEARTBEAT_USAGE);
    const service = required(values.service, 'service', HEARTBEAT_USAGE);
    const instance = required(values.instance, 'instance', HEARTBEAT_USAGE);
    const every =
      values.every === undefined
        ? undefined
        : parseDuration(values.every, 'every', HEARTBEAT_USAGE);
    const terminal = context.terminal(output);
    for (;;) {
      const { body } = await context
        .api()
        .call<{ leaseExpiresAt: string }>(
          'POST',
          ['v1', 'registry', 'services', service, 'instances', instance, 'heartbeat'],
          { feature: 'instance leases' },
        );
      terminal.document(body);
      terminal.line(`Lease of ${instance} renewed until ${body.leaseExpiresAt}.`);
      if (every === undefined) return ExitCode.Success;
      await new Promise((resolve) => setTimeout(resolve, every));
    }
  },
};

/** `trellis registry ...`: Trellis' service registry from the command line. */
export const registryCommands: Command[] = [
  instancesCommand,
  registerCommand,
  deregisterCommand,
  heartbeatCommand,
];
