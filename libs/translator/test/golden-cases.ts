import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { parseHeaderRules, type HeaderRules } from '../../mesh-model/src/header-rules';
import { validateOperationInput } from '../../mesh-model/src/validation';
import type {
  GatewayRouteSpec,
  MeshSpec,
  RouteSpec,
  VirtualGatewaySpec,
  VirtualNodeSpec,
  VirtualRouterSpec,
  VirtualServiceSpec,
} from '../../mesh-model/src/validation';
import type {
  CloudMapInstance,
  EndpointRegistry,
  ImportedCertificate,
  MeshSnapshot,
  ProxyTarget,
  TracingSettings,
} from '../src/mesh-snapshot';

// Golden files: `testdata/<case>.in.yaml` holds a mesh and a proxy; the translation is compared
// with `<case>.<output>.yaml`, one file per Envoy resource type plus the errors. UPDATE_GOLDEN=1
// rewrites them and deletes the outputs no input produces.

export const TESTDATA = path.join(__dirname, '..', 'testdata');
export const UPDATE_GOLDEN = process.env.UPDATE_GOLDEN === '1';

export const OUTPUTS = [
  'listeners',
  'routes',
  'clusters',
  'endpoints',
  'secrets',
  'errors',
] as const;
export type Output = (typeof OUTPUTS)[number];

/** A case's input as written in `<case>.in.yaml`. */
interface CaseFile {
  /** A virtual node's proxy (`sidecar`, `proxyless`) or a virtual gateway's (`gateway`). */
  proxy: (
    | { kind: 'sidecar' | 'proxyless'; virtualNode: string }
    | { kind: 'gateway'; virtualGateway: string }
  ) & { tracing?: Partial<TracingSettings> };
  mesh: {
    name: string;
    spec?: MeshSpec;
    virtualNodes?: Record<string, VirtualNodeSpec>;
    virtualRouters?: Record<string, VirtualRouterSpec>;
    routes?: Record<string, { name: string; spec: RouteSpec }[]>;
    virtualServices?: Record<string, VirtualServiceSpec>;
    virtualGateways?: Record<string, VirtualGatewaySpec>;
    gatewayRoutes?: Record<string, { name: string; spec: GatewayRouteSpec }[]>;
    /** Header rules (`/v1`) by virtual router, each named as its route. */
    routeHeaderRules?: Record<string, { name: string; spec: HeaderRules }[]>;
    /** Header rules (`/v1`) by virtual gateway, each named as its gateway route. */
    gatewayRouteHeaderRules?: Record<string, { name: string; spec: HeaderRules }[]>;
  };
  /** Cloud Map instances by `<namespace>/<service>`; absent: no registry. */
  cloudMap?: Record<string, CloudMapInstance[]>;
  /** Certificates imported into Trellis, by ACM or ACM Private CA ARN. */
  certificates?: Record<string, ImportedCertificate>;
  /** What the control plane resolved DNS names to, for proxyless clients. */
  dns?: Record<string, string[]>;
}

export interface GoldenCase {
  name: string;
  mesh: MeshSnapshot;
  proxy: ProxyTarget;
  registry?: EndpointRegistry;
}

export function caseNames(): string[] {
  return readdirSync(TESTDATA)
    .filter((file) => file.endsWith('.in.yaml'))
    .map((file) => file.slice(0, -'.in.yaml'.length))
    .sort();
}

/**
 * Reads a case and checks every spec in it against the App Mesh model, as the API would have:
 * the translator only ever sees valid specs.
 */
export function readCase(name: string): GoldenCase {
  const file = parse(readFileSync(path.join(TESTDATA, `${name}.in.yaml`), 'utf8')) as CaseFile;
  const { mesh: input, proxy } = file;
  const meshName = input.name;
  const spec = input.spec ?? {};
  validateOperationInput('CreateMesh', { meshName, spec });
  for (const [virtualNodeName, nodeSpec] of Object.entries(input.virtualNodes ?? {})) {
    validateOperationInput('CreateVirtualNode', { meshName, virtualNodeName, spec: nodeSpec });
  }
  for (const [virtualRouterName, routerSpec] of Object.entries(input.virtualRouters ?? {})) {
    validateOperationInput('CreateVirtualRouter', {
      meshName,
      virtualRouterName,
      spec: routerSpec,
    });
  }
  for (const [virtualRouterName, routes] of Object.entries(input.routes ?? {})) {
    for (const route of routes) {
      validateOperationInput('CreateRoute', {
        meshName,
        virtualRouterName,
        routeName: route.name,
        spec: route.spec,
      });
    }
  }
  for (const [virtualServiceName, serviceSpec] of Object.entries(input.virtualServices ?? {})) {
    validateOperationInput('CreateVirtualService', {
      meshName,
      virtualServiceName,
      spec: serviceSpec,
    });
  }
  for (const [virtualGatewayName, gatewaySpec] of Object.entries(input.virtualGateways ?? {})) {
    validateOperationInput('CreateVirtualGateway', {
      meshName,
      virtualGatewayName,
      spec: gatewaySpec,
    });
  }
  for (const [virtualGatewayName, routes] of Object.entries(input.gatewayRoutes ?? {})) {
    for (const route of routes) {
      validateOperationInput('CreateGatewayRoute', {
        meshName,
        virtualGatewayName,
        gatewayRouteName: route.name,
        spec: route.spec,
      });
    }
  }
  // Header rules as the /v1 API checks them, each attached to a route of the case.
  for (const [owner, rules, routes] of [
    ['virtual router', input.routeHeaderRules, input.routes],
    ['virtual gateway', input.gatewayRouteHeaderRules, input.gatewayRoutes],
  ] as const) {
    for (const [parent, list] of Object.entries(rules ?? {})) {
      for (const rule of list) {
        if (!routes?.[parent]?.some((route) => route.name === rule.name)) {
          throw new Error(
            `${name}: header rule ${parent}/${rule.name} names no route of ${owner} ${parent}`,
          );
        }
        parseHeaderRules(rule.spec);
      }
    }
  }
  const { cloudMap, dns } = file;
  const tracing = {
    enabled: false,
    daemonAddress: '127.0.0.1',
    daemonPort: 2000,
    ...proxy.tracing,
  };
  return {
    name,
    mesh: {
      meshName,
      revision: 1,
      spec,
      virtualNodes: new Map(Object.entries(input.virtualNodes ?? {})),
      virtualRouters: new Map(Object.entries(input.virtualRouters ?? {})),
      routes: new Map(Object.entries(input.routes ?? {})),
      virtualServices: new Map(Object.entries(input.virtualServices ?? {})),
      virtualGateways: new Map(Object.entries(input.virtualGateways ?? {})),
      gatewayRoutes: new Map(Object.entries(input.gatewayRoutes ?? {})),
      routeHeaderRules: new Map(Object.entries(input.routeHeaderRules ?? {})),
      gatewayRouteHeaderRules: new Map(Object.entries(input.gatewayRouteHeaderRules ?? {})),
      ...(file.certificates !== undefined && {
        certificates: new Map(Object.entries(file.certificates)),
      }),
    },
    proxy:
      proxy.kind === 'gateway'
        ? { kind: proxy.kind, virtualGateway: proxy.virtualGateway, tracing }
        : { kind: proxy.kind, virtualNode: proxy.virtualNode, tracing },
    ...((cloudMap !== undefined || dns !== undefined) && {
      registry: {
        instances: (namespace, service) => cloudMap?.[`${namespace}/${service}`],
        addresses: (hostname) => dns?.[hostname],
      },
    }),
  };
}

export function goldenPath(name: string, output: Output): string {
  return path.join(TESTDATA, `${name}.${output}.yaml`);
}

/** The golden content of one output, or undefined when the case produces none. */
export function readGolden(name: string, output: Output): unknown[] | undefined {
  try {
    return parse(readFileSync(goldenPath(name, output), 'utf8')) as unknown[];
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Writes an output, or deletes its file when the case produces nothing of that kind. */
export function writeGolden(name: string, output: Output, items: readonly unknown[]): void {
  const file = goldenPath(name, output);
  if (items.length === 0) {
    rmSync(file, { force: true });
    return;
  }
  // Formatted as Prettier formats YAML (single quotes, no folding), so `npm run lint` agrees.
  writeFileSync(file, stringify(items, { lineWidth: 0, singleQuote: true }));
}

/** Output files whose case has no input. */
export function orphanedOutputs(): string[] {
  const cases = new Set(caseNames());
  return readdirSync(TESTDATA)
    .filter((file) => !file.endsWith('.in.yaml'))
    .filter((file) => {
      const match = /^(.*)\.([a-z]+)\.yaml$/.exec(file);
      return (
        !match ||
        !cases.has(match[1] ?? '') ||
        !(OUTPUTS as readonly string[]).includes(match[2] ?? '')
      );
    });
}

export function deleteOrphanedOutputs(): void {
  for (const file of orphanedOutputs()) rmSync(path.join(TESTDATA, file));
}
