import { resourceArn, type ResourceId } from '../../../../libs/mesh-model/src/resource-kinds';

/**
 * Every REST operation's IAM action and resource ARN, as a key's policy sees them: App Mesh
 * operations by their App Mesh names (`appmesh:UpdateRoute` on the route's ARN), Trellis'
 * own as `trellis:*` on the App Mesh resource they touch (so `mesh/prod/*` covers both), keys
 * as `arn:aws:trellis:<region>:<account>:key/<name>`, Cloud Map as `servicediscovery:*`.
 * A route missing here is refused when authentication is on (docs/security.md); a test
 * walks the served routes to keep this table complete.
 */
export interface Operation {
  action: string;
  resource: string;
}

export interface OperationRequest {
  method: string;
  /** Path without the query, still percent-encoded. */
  path: string;
  query: Record<string, unknown>;
  body: unknown;
  headers: Record<string, string | string[] | undefined>;
}

export interface ArnContext {
  region: string;
  accountId: string;
}

type Labels = Record<string, string>;
type Resource = (labels: Labels, request: OperationRequest, arns: ArnContext) => string;

interface OperationRule {
  method: string;
  pattern: RegExp;
  action: string | ((labels: Labels) => string);
  resource: Resource;
}

/** Paths served without authentication: probes and Prometheus' scrape. */
export const PUBLIC_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

const CLOUD_MAP_TARGET = /^Route53AutoNaming_v20170314\.([A-Za-z]+)$/;

/** The operation a request asks for, or undefined when no operation is served at its path. */
export function operationOf(request: OperationRequest, arns: ArnContext): Operation | undefined {
  if (request.method === 'POST' && request.path === '/') return cloudMapOperation(request, arns);
  for (const rule of RULES) {
    if (rule.method !== request.method) continue;
    const match = rule.pattern.exec(request.path);
    if (!match) continue;
    const labels: Labels = {};
    for (const [name, value] of Object.entries(match.groups ?? {})) labels[name] = decode(value);
    return {
      action: typeof rule.action === 'string' ? rule.action : rule.action(labels),
      resource: rule.resource(labels, request, arns),
    };
  }
  return undefined;
}

function cloudMapOperation(request: OperationRequest, arns: ArnContext): Operation | undefined {
  const target = request.headers['x-amz-target'];
  const match = typeof target === 'string' ? CLOUD_MAP_TARGET.exec(target) : null;
  if (!match) return undefined;
  const body = (
    typeof request.body === 'object' && request.body !== null ? request.body : {}
  ) as Record<string, unknown>;
  const base = `arn:aws:servicediscovery:${arns.region}:${arns.accountId}`;
  const resource =
    typeof body.ServiceId === 'string'
      ? `${base}:service/${body.ServiceId}`
      : typeof body.NamespaceId === 'string'
        ? `${base}:namespace/${body.NamespaceId}`
        : `${base}:*`;
  return { action: `servicediscovery:${match[1]}`, resource };
}

const mesh: Resource = (labels, _request, arns) => arn(arns, { kind: 'mesh', ...names(labels) });
const virtualNode = child('virtualNode', 'virtualNodeName');
const virtualRouter = child('virtualRouter', 'virtualRouterName');
const virtualService = child('virtualService', 'virtualServiceName');
const virtualGateway = child('virtualGateway', 'virtualGatewayName');
const route = grandchild('route', 'virtualRouterName', 'routeName');
const gatewayRoute = grandchild('gatewayRoute', 'virtualGatewayName', 'gatewayRouteName');
const taggedResource: Resource = (_labels, request) =>
  typeof request.query.resourceArn === 'string' ? request.query.resourceArn : '';
const key: Resource = (labels, request, arns) =>
  `arn:aws:trellis:${arns.region}:${arns.accountId}:key/${labels.keyName ?? bodyString(request, 'name')}`;
const allKeys: Resource = (_labels, _request, arns) =>
  `arn:aws:trellis:${arns.region}:${arns.accountId}:key/*`;

/** Imported certificates are named by their ACM or ACM Private CA ARN (docs/certificates). */
const certificate: Resource = (labels, request) =>
  labels.arn ?? (bodyObject(request).arn as string | undefined) ?? 'arn:aws:acm:*';
const allCertificates: Resource = (_labels, _request, arns) =>
  `arn:aws:acm:${arns.region}:${arns.accountId}:certificate/*`;
const registryService: Resource = (labels, _request, arns) =>
  `arn:aws:servicediscovery:${arns.region}:${arns.accountId}:service/${labels.serviceId!}`;
const registryMesh: Resource = (labels, request, arns) =>
  mesh({ meshName: labels.mesh! }, request, arns);

const APP_MESH = '/v20190125/meshes';
const V1_MESH = '/v1/meshes/:meshName';

const RULES: OperationRule[] = [
  rule('PUT', APP_MESH, 'appmesh:CreateMesh', (_labels, request, arns) =>
    arn(arns, { kind: 'mesh', ...names({ meshName: bodyString(request, 'meshName') }) }),
  ),
  rule(
    'GET',
    APP_MESH,
    'appmesh:ListMeshes',
    (_labels, _request, arns) => `arn:aws:appmesh:${arns.region}:${arns.accountId}:mesh/*`,
  ),
  rule('GET', `${APP_MESH}/:meshName`, 'appmesh:DescribeMesh', mesh),
  rule('PUT', `${APP_MESH}/:meshName`, 'appmesh:UpdateMesh', mesh),
  rule('DELETE', `${APP_MESH}/:meshName`, 'appmesh:DeleteMesh', mesh),
  ...meshChildRules('VirtualNode', 'virtualNodes', 'virtualNodeName', virtualNode),
  ...meshChildRules('VirtualRouter', 'virtualRouters', 'virtualRouterName', virtualRouter),
  ...meshChildRules('VirtualService', 'virtualServices', 'virtualServiceName', virtualService),
  ...meshChildRules('VirtualGateway', 'virtualGateways', 'virtualGatewayName', virtualGateway),
  ...parentChildRules('Route', 'virtualRouter/:virtualRouterName/routes', virtualRouter, route),
  ...parentChildRules(
    'GatewayRoute',
    'virtualGateway/:virtualGatewayName/gatewayRoutes',
    virtualGateway,
    gatewayRoute,
  ),
  rule('PUT', '/v20190125/tag', 'appmesh:TagResource', taggedResource),
  rule('PUT', '/v20190125/untag', 'appmesh:UntagResource', taggedResource),
  rule('GET', '/v20190125/tags', 'appmesh:ListTagsForResource', taggedResource),
  rule(
    'GET',
    `${V1_MESH}/virtualNodes/:virtualNodeName/bootstrap`,
    'trellis:GetBootstrap',
    virtualNode,
  ),
  rule('GET', `${V1_MESH}/history`, 'trellis:GetMeshHistory', mesh),
  rule('POST', `${V1_MESH}/revisions/:revision/revert`, 'trellis:RevertMesh', mesh),
  rule('GET', `${V1_MESH}/tracing`, 'trellis:GetMeshTracing', mesh),
  rule('PUT', `${V1_MESH}/tracing`, 'trellis:UpdateMeshTracing', mesh),
  rule('GET', `${V1_MESH}/propagation`, 'trellis:GetPropagation', mesh),
  rule('GET', `${V1_MESH}/events`, 'trellis:GetMeshEvents', mesh),
  rule(
    'PUT',
    `${V1_MESH}/virtualRouters/:virtualRouterName/routes/:routeName/weights`,
    'trellis:SetRouteWeights',
    route,
  ),
  ...headerRuleRules('virtualRouters/:virtualRouterName/routes/:routeName', route),
  ...headerRuleRules(
    'virtualGateways/:virtualGatewayName/gatewayRoutes/:gatewayRouteName',
    gatewayRoute,
  ),
  rule('POST', `${V1_MESH}/rollouts`, 'trellis:StartRollout', (labels, request, arns) => {
    const target = bodyObject(request).route as Record<string, unknown> | undefined;
    return typeof target?.virtualRouter === 'string' && typeof target.route === 'string'
      ? route(
          { ...labels, virtualRouterName: target.virtualRouter, routeName: target.route },
          request,
          arns,
        )
      : mesh(labels, request, arns);
  }),
  rule('GET', `${V1_MESH}/rollouts`, 'trellis:ListRollouts', mesh),
  rule('GET', `${V1_MESH}/rollouts/:rolloutId`, 'trellis:DescribeRollout', mesh),
  rule(
    'POST',
    `${V1_MESH}/rollouts/:rolloutId/:rolloutAction`,
    (labels) => `trellis:${capitalize(labels.rolloutAction!)}Rollout`,
    mesh,
  ),
  rule(
    'GET',
    '/v1/proxies',
    'trellis:ListProxies',
    (_labels, request, arns) =>
      `arn:aws:appmesh:${arns.region}:${arns.accountId}:mesh/${typeof request.query.mesh === 'string' ? request.query.mesh : '*'}`,
  ),
  rule('GET', '/v1/proxies/:nodeId', 'trellis:DescribeProxy', (labels, _request, arns) =>
    labels.nodeId!.startsWith('arn:')
      ? labels.nodeId!
      : `arn:aws:appmesh:${arns.region}:${arns.accountId}:${labels.nodeId!}`,
  ),
  rule('POST', '/v1/keys', 'trellis:CreateKey', key),
  rule('GET', '/v1/keys', 'trellis:ListKeys', allKeys),
  rule('GET', '/v1/keys/:keyName', 'trellis:DescribeKey', key),
  rule('POST', '/v1/keys/:keyName/rotate', 'trellis:RotateKey', key),
  rule('POST', '/v1/keys/:keyName/revoke', 'trellis:RevokeKey', key),
  rule('POST', '/v1/certificates', 'trellis:ImportCertificate', certificate),
  rule('GET', '/v1/certificates', 'trellis:ListCertificates', allCertificates),
  rule('GET', '/v1/certificates/:arn', 'trellis:DescribeCertificate', certificate),
  rule('DELETE', '/v1/certificates/:arn', 'trellis:DeleteCertificate', certificate),
  rule('GET', `${V1_MESH}/diagnostics`, 'trellis:GetMeshDiagnostics', mesh),
  rule(
    'GET',
    '/v1/registry/services/:serviceId/instances',
    'servicediscovery:ListInstances',
    registryService,
  ),
  rule(
    'PUT',
    '/v1/registry/services/:serviceId/lease',
    'servicediscovery:UpdateService',
    registryService,
  ),
  rule(
    'POST',
    '/v1/registry/services/:serviceId/instances/:instanceId/heartbeat',
    'servicediscovery:UpdateInstanceCustomHealthStatus',
    registryService,
  ),
  rule(
    'PUT',
    '/v1/registry/services/:serviceId/instances/:instanceId',
    'servicediscovery:RegisterInstance',
    registryService,
  ),
  rule(
    'POST',
    '/v1/registry/services/:serviceId/instances/:instanceId/deregister',
    'servicediscovery:DeregisterInstance',
    registryService,
  ),
  rule(
    'GET',
    '/v1/registry/meshes/:mesh/virtual-nodes',
    'trellis:GetMeshDiagnostics',
    registryMesh,
  ),
];

function meshChildRules(
  typeName: string,
  collection: string,
  nameLabel: string,
  resource: Resource,
): OperationRule[] {
  const base = `${APP_MESH}/:meshName/${collection}`;
  const created: Resource = (labels, request, arns) =>
    resource({ ...labels, [nameLabel]: bodyString(request, nameLabel) }, request, arns);
  return [
    rule('PUT', base, `appmesh:Create${typeName}`, created),
    rule('GET', base, `appmesh:List${typeName}s`, mesh),
    rule('GET', `${base}/:${nameLabel}`, `appmesh:Describe${typeName}`, resource),
    rule('PUT', `${base}/:${nameLabel}`, `appmesh:Update${typeName}`, resource),
    rule('DELETE', `${base}/:${nameLabel}`, `appmesh:Delete${typeName}`, resource),
  ];
}

/** A route or gateway route: Create names it in the body, the other operations in the URL. */
function parentChildRules(
  typeName: string,
  collection: string,
  parent: Resource,
  resource: Resource,
): OperationRule[] {
  const base = `${APP_MESH}/:meshName/${collection}`;
  const label = `${typeName[0]!.toLowerCase()}${typeName.slice(1)}Name`;
  return [
    rule('PUT', base, `appmesh:Create${typeName}`, resource),
    rule('GET', base, `appmesh:List${typeName}s`, parent),
    ...['Describe:GET', 'Update:PUT', 'Delete:DELETE'].map((entry) => {
      const [verb, method] = entry.split(':') as [string, string];
      return rule(method, `${base}/:${label}`, `appmesh:${verb}${typeName}`, resource);
    }),
  ];
}

/** A route's or gateway route's header rule: `trellis:*HeaderRule` on that route's ARN. */
function headerRuleRules(routePath: string, resource: Resource): OperationRule[] {
  const path = `${V1_MESH}/${routePath}/headers`;
  return [
    rule('GET', path, 'trellis:GetHeaderRule', resource),
    rule('PUT', path, 'trellis:PutHeaderRule', resource),
    rule('DELETE', path, 'trellis:DeleteHeaderRule', resource),
  ];
}

function grandchild(kind: 'route' | 'gatewayRoute', parentLabel: string, label: string): Resource {
  return (labels, request, arns) =>
    arn(arns, {
      kind,
      meshName: labels.meshName!,
      parentName: labels[parentLabel]!,
      name: labels[label] ?? bodyString(request, label),
    });
}

function child(
  kind: 'virtualNode' | 'virtualRouter' | 'virtualService' | 'virtualGateway',
  label: string,
): Resource {
  return (labels, _request, arns) =>
    arn(arns, { kind, meshName: labels.meshName!, parentName: '', name: labels[label] ?? '' });
}

/** `/a/:b/c` → a regular expression with a named group per label; a label is one segment. */
function rule(
  method: string,
  path: string,
  action: OperationRule['action'],
  resource: Resource,
): OperationRule {
  const source = path.replace(/:([A-Za-z]+)/g, '(?<$1>[^/]+)');
  return { method, pattern: new RegExp(`^${source}/?$`), action, resource };
}

function arn(
  arns: ArnContext,
  id: Omit<ResourceId, 'parentName'> & { parentName?: string },
): string {
  return resourceArn(arns.region, arns.accountId, { parentName: '', ...id });
}

function names(labels: Labels): { meshName: string; name: string } {
  const meshName = labels.meshName ?? '';
  return { meshName, name: meshName };
}

function bodyObject(request: OperationRequest): Record<string, unknown> {
  return typeof request.body === 'object' && request.body !== null && !Array.isArray(request.body)
    ? (request.body as Record<string, unknown>)
    : {};
}

function bodyString(request: OperationRequest, member: string): string {
  const value = bodyObject(request)[member];
  return typeof value === 'string' ? value : '';
}

function capitalize(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
