import {
  AppMeshClient,
  AppMeshServiceException,
  CreateGatewayRouteCommand,
  CreateMeshCommand,
  CreateRouteCommand,
  CreateVirtualGatewayCommand,
  CreateVirtualNodeCommand,
  CreateVirtualRouterCommand,
  CreateVirtualServiceCommand,
  DescribeGatewayRouteCommand,
  DescribeMeshCommand,
  DescribeRouteCommand,
  DescribeVirtualGatewayCommand,
  DescribeVirtualNodeCommand,
  DescribeVirtualRouterCommand,
  DescribeVirtualServiceCommand,
  NotFoundException,
  paginateListGatewayRoutes,
  paginateListRoutes,
  paginateListTagsForResource,
  paginateListVirtualGateways,
  paginateListVirtualNodes,
  paginateListVirtualRouters,
  paginateListVirtualServices,
  TagResourceCommand,
  UpdateGatewayRouteCommand,
  UpdateMeshCommand,
  UpdateRouteCommand,
  UpdateVirtualGatewayCommand,
  UpdateVirtualNodeCommand,
  UpdateVirtualRouterCommand,
  UpdateVirtualServiceCommand,
  type TagRef,
} from '@aws-sdk/client-app-mesh';
import type { Command } from '../command';
import { noPositionals, parseCommandLine, required } from '../command-line';
import { ExitCode } from '../exit-codes';
import { DEFAULT_ENDPOINT } from '../trellis-api';

const USAGE = `Usage: trellis import --mesh MESH [--from ENDPOINT] [--to ENDPOINT] [flags]

Copies a mesh through the App Mesh API: reads the mesh and every virtual node, virtual
router, route, virtual service, virtual gateway and gateway route in it (all pages) from one
endpoint — AWS App Mesh, or another Trellis — and creates or updates them at another, with
their tags. Safe to run again: what is already the same is left alone and reported unchanged.
It never deletes anything at the destination.

Flags:
  --mesh MESH            the mesh to copy
  --from ENDPOINT        the App Mesh API to read, e.g. http://trellis-old:8080; "aws" (the
                         default) is AWS App Mesh itself in --from-region
  --to ENDPOINT          the App Mesh API to write (default TRELLIS_ENDPOINT, else
                         ${DEFAULT_ENDPOINT})
  --from-region REGION   region of the source (default AWS_REGION, else us-east-1)
  --to-region REGION     region the destination signs for (default AWS_REGION, else us-east-1)
  -o, --output FORMAT    text (default) or json
  -h, --help             this help

Both sides use the AWS SDK's credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, …).`;

type Outcome = 'created' | 'updated' | 'unchanged';

interface Copied {
  kind: string;
  name: string;
  outcome: Outcome;
}

/** What the App Mesh API returns for any resource: the spec, the tags' ARN. */
interface ResourceData {
  spec?: unknown;
  metadata?: { arn?: string };
}

/** One resource to copy: how to read it at the destination and to write it there. */
interface ResourceCopy {
  kind: string;
  name: string;
  spec: unknown;
  tags: TagRef[];
  describe(): Promise<ResourceData | undefined>;
  create(tags: TagRef[]): Promise<ResourceData | undefined>;
  update(): Promise<unknown>;
}

export const importCommand: Command = {
  name: 'import',
  summary: 'copy a mesh from AWS App Mesh or another Trellis through the App Mesh API',
  usage: USAGE,
  async run(args, context) {
    const { values, positionals, output } = parseCommandLine(
      args,
      {
        mesh: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        'from-region': { type: 'string' },
        'to-region': { type: 'string' },
      },
      USAGE,
    );
    noPositionals(positionals, USAGE);
    const meshName = required(values.mesh, 'mesh', USAGE);
    const env = process.env;
    const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1';
    const from = values.from ?? 'aws';
    const source = new AppMeshClient({
      region: values['from-region'] ?? region,
      ...(from === 'aws' ? {} : { endpoint: from }),
    });
    const destination = new AppMeshClient({
      region: values['to-region'] ?? region,
      endpoint: values.to ?? (env.TRELLIS_ENDPOINT || DEFAULT_ENDPOINT),
    });
    const terminal = context.terminal(output);
    try {
      const copied: Copied[] = [];
      const warn = (text: string) => terminal.error(`trellis: ${text}`);
      for await (const resource of meshResources(source, destination, meshName, warn)) {
        const outcome = await copy(resource, destination);
        copied.push({ kind: resource.kind, name: resource.name, outcome });
        terminal.progress(`${copied.length} resources copied`);
      }
      terminal.clearProgress();
      const counts = (outcome: Outcome) => copied.filter((c) => c.outcome === outcome).length;
      terminal.line(
        `Mesh ${meshName}: ${copied.length} resources read, ${counts('created')} created, ` +
          `${counts('updated')} updated, ${counts('unchanged')} unchanged.`,
      );
      for (const { kind, name, outcome } of copied)
        terminal.line(`  ${outcome.padEnd(9)} ${kind} ${name}`);
      terminal.document({ meshName, resources: copied });
      return ExitCode.Success;
    } catch (error) {
      if (!(error instanceof AppMeshServiceException)) throw error;
      // As the App Mesh API said it, as for every other command's API errors.
      terminal.clearProgress();
      terminal.error(`${error.name}: ${error.message}`);
      return ExitCode.Failed;
    } finally {
      source.destroy();
      destination.destroy();
    }
  },
};

/** Creates the resource, or updates it when its spec differs; adds tags it lacks. */
async function copy(resource: ResourceCopy, destination: AppMeshClient): Promise<Outcome> {
  const existing = await resource.describe();
  if (!existing) {
    await resource.create(resource.tags);
    return 'created';
  }
  let outcome: Outcome = 'unchanged';
  if (canonical(existing.spec) !== canonical(resource.spec)) {
    await resource.update();
    outcome = 'updated';
  }
  const arn = existing.metadata?.arn;
  if (arn && resource.tags.length > 0) {
    const have = new Map<string, string | undefined>();
    for await (const page of paginateListTagsForResource(
      { client: destination },
      { resourceArn: arn },
    )) {
      for (const tag of page.tags ?? []) have.set(tag.key ?? '', tag.value);
    }
    const missing = resource.tags.filter((tag) => have.get(tag.key ?? '') !== tag.value);
    if (missing.length > 0) {
      await destination.send(new TagResourceCommand({ resourceArn: arn, tags: missing }));
      outcome = 'updated';
    }
  }
  return outcome;
}

/** JSON with sorted keys and no empty values, so equal specs compare equal whatever their order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, field: unknown) => {
    if (field && typeof field === 'object' && !Array.isArray(field)) {
      return Object.fromEntries(
        Object.entries(field as Record<string, unknown>)
          .filter(([, v]) => v !== undefined && v !== null)
          .sort(([a], [b]) => a.localeCompare(b)),
      );
    }
    return field;
  });
}

/** Undefined when the destination has no such resource. */
async function describe<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof NotFoundException) return undefined;
    throw error;
  }
}

async function tagsOf(source: AppMeshClient, arn: string | undefined): Promise<TagRef[]> {
  if (!arn) return [];
  const tags: TagRef[] = [];
  for await (const page of paginateListTagsForResource({ client: source }, { resourceArn: arn })) {
    tags.push(...(page.tags ?? []));
  }
  return tags;
}

/**
 * Every resource of the mesh at the source, in an order the destination accepts: what a
 * reference names (a route's virtual nodes, a virtual service's provider) comes first.
 */
async function* meshResources(
  source: AppMeshClient,
  destination: AppMeshClient,
  meshName: string,
  warn: (text: string) => void,
): AsyncGenerator<ResourceCopy> {
  const mesh = (await source.send(new DescribeMeshCommand({ meshName }))).mesh;
  yield {
    kind: 'mesh',
    name: meshName,
    spec: mesh?.spec,
    tags: await tagsOf(source, mesh?.metadata?.arn),
    describe: () =>
      describe(async () => (await destination.send(new DescribeMeshCommand({ meshName }))).mesh),
    create: async (tags) =>
      (await destination.send(new CreateMeshCommand({ meshName, spec: mesh?.spec, tags }))).mesh,
    update: () => destination.send(new UpdateMeshCommand({ meshName, spec: mesh?.spec })),
  };
  const pages = { client: source };

  for await (const page of paginateListVirtualNodes(pages, { meshName })) {
    for (const { virtualNodeName } of page.virtualNodes ?? []) {
      const names = { meshName, virtualNodeName };
      const data = (await source.send(new DescribeVirtualNodeCommand(names))).virtualNode;
      const spec = data?.spec;
      yield {
        kind: 'virtualNode',
        name: virtualNodeName!,
        spec,
        tags: await tagsOf(source, data?.metadata?.arn),
        describe: () =>
          describe(
            async () => (await destination.send(new DescribeVirtualNodeCommand(names))).virtualNode,
          ),
        create: async (tags) =>
          (await destination.send(new CreateVirtualNodeCommand({ ...names, spec, tags })))
            .virtualNode,
        update: () => destination.send(new UpdateVirtualNodeCommand({ ...names, spec })),
      };
    }
  }

  for await (const page of paginateListVirtualRouters(pages, { meshName })) {
    for (const { virtualRouterName } of page.virtualRouters ?? []) {
      const names = { meshName, virtualRouterName };
      const data = (await source.send(new DescribeVirtualRouterCommand(names))).virtualRouter;
      const spec = data?.spec;
      yield {
        kind: 'virtualRouter',
        name: virtualRouterName!,
        spec,
        tags: await tagsOf(source, data?.metadata?.arn),
        describe: () =>
          describe(
            async () =>
              (await destination.send(new DescribeVirtualRouterCommand(names))).virtualRouter,
          ),
        create: async (tags) =>
          (await destination.send(new CreateVirtualRouterCommand({ ...names, spec, tags })))
            .virtualRouter,
        update: () => destination.send(new UpdateVirtualRouterCommand({ ...names, spec })),
      };
      for await (const routes of paginateListRoutes(pages, names)) {
        for (const { routeName } of routes.routes ?? []) {
          const routeNames = { ...names, routeName };
          const route = (await source.send(new DescribeRouteCommand(routeNames))).route;
          const routeSpec = route?.spec;
          yield {
            kind: 'route',
            name: `${virtualRouterName}/${routeName}`,
            spec: routeSpec,
            tags: await tagsOf(source, route?.metadata?.arn),
            describe: () =>
              describe(
                async () => (await destination.send(new DescribeRouteCommand(routeNames))).route,
              ),
            create: async (tags) =>
              (
                await destination.send(
                  new CreateRouteCommand({ ...routeNames, spec: routeSpec, tags }),
                )
              ).route,
            update: () =>
              destination.send(new UpdateRouteCommand({ ...routeNames, spec: routeSpec })),
          };
        }
      }
    }
  }

  for await (const page of paginateListVirtualServices(pages, { meshName })) {
    for (const { virtualServiceName } of page.virtualServices ?? []) {
      const names = { meshName, virtualServiceName };
      const data = (await source.send(new DescribeVirtualServiceCommand(names))).virtualService;
      const spec = data?.spec;
      yield {
        kind: 'virtualService',
        name: virtualServiceName!,
        spec,
        tags: await tagsOf(source, data?.metadata?.arn),
        describe: () =>
          describe(
            async () =>
              (await destination.send(new DescribeVirtualServiceCommand(names))).virtualService,
          ),
        create: async (tags) =>
          (await destination.send(new CreateVirtualServiceCommand({ ...names, spec, tags })))
            .virtualService,
        update: () => destination.send(new UpdateVirtualServiceCommand({ ...names, spec })),
      };
    }
  }

  for (const virtualGatewayName of await virtualGatewayNames(source, meshName, warn)) {
    const names = { meshName, virtualGatewayName };
    const data = (await source.send(new DescribeVirtualGatewayCommand(names))).virtualGateway;
    const spec = data?.spec;
    yield {
      kind: 'virtualGateway',
      name: virtualGatewayName,
      spec,
      tags: await tagsOf(source, data?.metadata?.arn),
      describe: () =>
        describe(
          async () =>
            (await destination.send(new DescribeVirtualGatewayCommand(names))).virtualGateway,
        ),
      create: async (tags) =>
        (await destination.send(new CreateVirtualGatewayCommand({ ...names, spec, tags })))
          .virtualGateway,
      update: () => destination.send(new UpdateVirtualGatewayCommand({ ...names, spec })),
    };
    for await (const routes of paginateListGatewayRoutes(pages, names)) {
      for (const { gatewayRouteName } of routes.gatewayRoutes ?? []) {
        const routeNames = { ...names, gatewayRouteName };
        const route = (await source.send(new DescribeGatewayRouteCommand(routeNames))).gatewayRoute;
        const routeSpec = route?.spec;
        yield {
          kind: 'gatewayRoute',
          name: `${virtualGatewayName}/${gatewayRouteName}`,
          spec: routeSpec,
          tags: await tagsOf(source, route?.metadata?.arn),
          describe: () =>
            describe(
              async () =>
                (await destination.send(new DescribeGatewayRouteCommand(routeNames))).gatewayRoute,
            ),
          create: async (tags) =>
            (
              await destination.send(
                new CreateGatewayRouteCommand({ ...routeNames, spec: routeSpec, tags }),
              )
            ).gatewayRoute,
          update: () =>
            destination.send(new UpdateGatewayRouteCommand({ ...routeNames, spec: routeSpec })),
        };
      }
    }
  }
}

/**
 * The mesh's virtual gateways; none, with a warning, when the source does not serve them (a
 * Trellis before virtual gateways answers NotFound for a mesh it has just described).
 */
async function virtualGatewayNames(
  source: AppMeshClient,
  meshName: string,
  warn: (text: string) => void,
): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const page of paginateListVirtualGateways({ client: source }, { meshName })) {
      for (const gateway of page.virtualGateways ?? [])
        if (gateway.virtualGatewayName) names.push(gateway.virtualGatewayName);
    }
  } catch (error) {
    if (!(error instanceof NotFoundException)) throw error;
    warn(`the source does not serve virtual gateways (${error.message}); none copied`);
  }
  return names;
}
