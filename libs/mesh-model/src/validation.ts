/**
 * Request validation driven by the App Mesh service model (generated from botocore by
 * scripts/generate-appmesh-model.mjs), plus the documented rules the model cannot express.
 * Rule comments quote the App Mesh API reference and user guide (docs/api.md lists the rules).
 */
import { BadRequestException } from './errors';
import modelJson from './generated/appmesh-model.json';
import type {
  Duration,
  GatewayRouteHostnameMatch,
  GatewayRouteSpec,
  GrpcGatewayRouteMatch,
  GrpcRouteMatch,
  HttpGatewayRouteAction,
  HttpGatewayRouteMatch,
  HttpPathMatch,
  HttpRetryPolicy,
  HttpRouteMatch,
  Listener,
  RouteSpec,
  StructureShapes,
  VirtualNodeSpec,
  VirtualGatewayListener,
  VirtualGatewaySpec,
  VirtualRouterSpec,
  WeightedTarget,
} from './generated/appmesh-types';

export type * from './generated/appmesh-types';

interface MemberRef {
  shape: string;
  location?: 'uri' | 'querystring';
  locationName?: string;
}

interface Shape {
  type: 'structure' | 'list' | 'string' | 'integer' | 'long' | 'boolean' | 'timestamp';
  members?: Record<string, MemberRef>;
  member?: MemberRef;
  required?: string[];
  min?: number;
  max?: number;
  pattern?: string;
  enum?: string[];
  union?: boolean;
}

interface Operation {
  name: string;
  method: string;
  requestUri: string;
  input: string;
}

const model = modelJson as {
  operations: Record<string, Operation>;
  shapes: Record<string, Shape>;
};

/** How many issues one error message lists before it summarises the rest. */
const MAX_LISTED_ISSUES = 10;

type Report = (path: string, message: string) => void;

/**
 * Checks an operation's input against the App Mesh model. `input` holds every member of the
 * operation's input shape by its model name: URI labels, query-string members (integers may
 * still be the strings they arrived as) and body members. Throws one BadRequestException that
 * lists every issue found.
 */
export function validateOperationInput(operation: string, input: Record<string, unknown>): void {
  const inputShape = model.operations[operation]?.input;
  if (inputShape === undefined) throw new Error(`unknown App Mesh operation ${operation}`);

  const issues: string[] = [];
  validateShape(inputShape, input, '', (path, message) => issues.push(`${path}: ${message}`));

  if (issues.length > 0) {
    const listed = issues.slice(0, MAX_LISTED_ISSUES);
    if (issues.length > MAX_LISTED_ISSUES) {
      listed.push(`and ${issues.length - MAX_LISTED_ISSUES} more`);
    }
    throw new BadRequestException(listed.join('; '));
  }
}

/**
 * The generic walker. Returns whether the value matches the model shape, so that semantic
 * rules only ever see values that have their generated type.
 */
function validateShape(shapeName: string, value: unknown, path: string, report: Report): boolean {
  const shape = shapeOf(shapeName);
  switch (shape.type) {
    case 'structure':
      return validateStructure(shapeName, shape, value, path, report);
    case 'list':
      return validateList(shape, value, path, report);
    case 'string':
      return reportAll(path, stringProblems(shape, value), report);
    case 'integer':
    case 'long':
      return reportAll(path, integerProblems(shape, value), report);
    case 'boolean':
      return reportAll(path, typeProblems(typeof value === 'boolean', 'a boolean', value), report);
    case 'timestamp':
      return reportAll(path, typeProblems(typeof value === 'number', 'a number', value), report);
  }
}

function validateStructure(
  shapeName: string,
  shape: Shape,
  value: unknown,
  path: string,
  report: Report,
): boolean {
  if (!isObject(value)) {
    report(path, `must be an object, got ${kindOf(value)}`);
    return false;
  }
  let valid = true;
  const fail = (memberPath: string, message: string) => {
    valid = false;
    report(memberPath, message);
  };
  const members = shape.members ?? {};
  for (const name of shape.required ?? []) {
    if (value[name] === undefined) fail(field(path, name), 'is required');
  }
  for (const [name, memberValue] of Object.entries(value)) {
    const member = members[name];
    if (memberValue === undefined) continue;
    if (member === undefined) {
      fail(field(path, name), 'unknown field');
      continue;
    }
    const received =
      member.location === 'querystring' ? fromQueryString(member.shape, memberValue) : memberValue;
    if (!validateShape(member.shape, received, field(path, name), report)) valid = false;
  }
  if (shape.union) {
    const set = Object.keys(members).filter((name) => value[name] !== undefined);
    if (set.length !== 1) fail(path, exactlyOneOf(Object.keys(members), set.length));
  }
  if (valid) {
    for (const rule of semanticRulesOf(shapeName)) rule(value, path, report);
  }
  return valid;
}

function validateList(shape: Shape, value: unknown, path: string, report: Report): boolean {
  if (!Array.isArray(value)) {
    report(path, `must be a list, got ${kindOf(value)}`);
    return false;
  }
  const items: unknown[] = value;
  const problems: string[] = [];
  if (shape.min !== undefined && items.length < shape.min) {
    problems.push(`must have at least ${shape.min} item(s), got ${items.length}`);
  }
  if (shape.max !== undefined && items.length > shape.max) {
    problems.push(`must have at most ${shape.max} item(s), got ${items.length}`);
  }
  let valid = reportAll(path, problems, report);
  const itemShape = shape.member?.shape ?? '';
  items.forEach((item, index) => {
    if (!validateShape(itemShape, item, `${path}[${index}]`, report)) valid = false;
  });
  return valid;
}

function stringProblems(shape: Shape, value: unknown): string[] {
  if (typeof value !== 'string') return typeProblems(false, 'a string', value);
  // Model lengths count characters (code points), not UTF-16 units.
  const length = [...value].length;
  const problems: string[] = [];
  if (shape.min !== undefined && length < shape.min) {
    problems.push(`must be at least ${shape.min} character(s) long, got ${length}`);
  }
  if (shape.max !== undefined && length > shape.max) {
    problems.push(`must be at most ${shape.max} character(s) long, got ${length}`);
  }
  if (shape.pattern !== undefined && !patternOf(shape.pattern).test(value)) {
    problems.push(`must match the pattern ${shape.pattern}`);
  }
  if (shape.enum !== undefined && !shape.enum.includes(value)) {
    problems.push(oneOf(shape.enum, value));
  }
  return problems;
}

function integerProblems(shape: Shape, value: unknown): string[] {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    return [`must be an integer, got ${describe(value)}`];
  }
  if (shape.min !== undefined && value < shape.min) {
    return [`must be at least ${shape.min}, got ${value}`];
  }
  if (shape.max !== undefined && value > shape.max) {
    return [`must be at most ${shape.max}, got ${value}`];
  }
  return [];
}

function typeProblems(ok: boolean, expected: string, value: unknown): string[] {
  return ok ? [] : [`must be ${expected}, got ${kindOf(value)}`];
}

function reportAll(path: string, problems: string[], report: Report): boolean {
  problems.forEach((problem) => report(path, problem));
  return problems.length === 0;
}

/** Query-string members arrive as text; an integer member such as `limit` is read as a number. */
function fromQueryString(shapeName: string, value: unknown): unknown {
  const { type } = shapeOf(shapeName);
  const isInteger = type === 'integer' || type === 'long';
  return isInteger && typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
}

/**
 * Model patterns are Java regexes. The ones App Mesh uses mean the same in JS with the `u` flag
 * (the generator refuses patterns that do not compile that way); a Java pattern constrains the
 * whole value, hence the anchors.
 */
const patterns = new Map<string, RegExp>();
function patternOf(pattern: string): RegExp {
  let regExp = patterns.get(pattern);
  if (regExp === undefined) {
    regExp = new RegExp(`^(?:${pattern})$`, 'u');
    patterns.set(pattern, regExp);
  }
  return regExp;
}

// Semantic rules: what the App Mesh documentation requires but the model cannot express. Each
// runs on a value of its shape that has passed the model checks, wherever that shape occurs.

type SemanticRule<T> = (value: T, path: string, report: Report) => void;

/** App Mesh user guide, routes: "Specify one route type" — RouteSpec is a structure, not a union. */
function exactlyOneRouteType<S extends RouteSpec | GatewayRouteSpec>(
  routeTypes: readonly (keyof S & `${string}Route`)[],
): SemanticRule<S> {
  return (spec, path, report) => {
    const set = routeTypes.filter((routeType) => spec[routeType] !== undefined).length;
    if (set !== 1) report(path, exactlyOneOf(routeTypes, set));
  };
}

/**
 * App Mesh user guide, gateway routes: prefixes starting `/aws-appmesh` or `/aws-app-mesh` are
 * reserved, as are gRPC service names starting `aws.app-mesh` and the name `aws.appmesh`.
 */
const RESERVED_PREFIXES = ['/aws-appmesh', '/aws-app-mesh'];

function reservedPath(value: string | undefined): boolean {
  return value !== undefined && RESERVED_PREFIXES.some((prefix) => value.startsWith(prefix));
}

/**
 * A gateway route matches on a prefix, a path, a hostname or a port (App Mesh user guide,
 * gateway routes); the prefix starts with `/`; reserved prefixes are refused.
 */
const httpGatewayMatchIsValid: SemanticRule<HttpGatewayRouteMatch> = (match, path, report) => {
  if (match.prefix !== undefined && !match.prefix.startsWith('/')) {
    report(field(path, 'prefix'), `must start with /, got ${JSON.stringify(match.prefix)}`);
  }
  if (reservedPath(match.prefix)) {
    report(field(path, 'prefix'), `${RESERVED_PREFIXES.join('* and ')}* are reserved by App Mesh`);
  }
  if (reservedPath(match.path?.exact)) {
    report(
      field(path, 'path.exact'),
      `${RESERVED_PREFIXES.join('* and ')}* are reserved by App Mesh`,
    );
  }
  const set = [match.prefix, match.path, match.hostname, match.port].filter(
    (value) => value !== undefined,
  );
  if (set.length === 0) report(path, 'one of prefix, path, hostname or port must be set');
  if (match.prefix !== undefined && match.path !== undefined) {
    report(path, 'set either prefix or path, not both');
  }
};

const grpcGatewayMatchIsValid: SemanticRule<GrpcGatewayRouteMatch> = (match, path, report) => {
  const name = match.serviceName;
  if (name !== undefined && (name.startsWith('aws.app-mesh') || name === 'aws.appmesh')) {
    report(field(path, 'serviceName'), 'aws.app-mesh* and aws.appmesh are reserved by App Mesh');
  }
};

/** GatewayRouteHostnameMatch (App Mesh API reference): an exact name or a suffix. */
const exactlyOneHostnameMatch: SemanticRule<GatewayRouteHostnameMatch> = (match, path, report) => {
  const set = [match.exact, match.suffix].filter((value) => value !== undefined).length;
  if (set !== 1) report(path, exactlyOneOf(['exact', 'suffix'], set));
};

/**
 * HttpGatewayRoutePrefixRewrite (App Mesh API reference): the default prefix rewrite or a value,
 * not both; a prefix rewrite replaces a matched prefix, so it needs a prefix match; a prefix and
 * a path rewrite exclude each other.
 */
const httpGatewayRewriteIsValid: SemanticRule<{
  action: HttpGatewayRouteAction;
  match: HttpGatewayRouteMatch;
}> = (route, path, report) => {
  const rewrite = route.action.rewrite;
  const rewritePath = field(path, 'action.rewrite');
  const prefix = rewrite?.prefix;
  if (prefix !== undefined) {
    const set = [prefix.defaultPrefix, prefix.value].filter((value) => value !== undefined);
    if (set.length !== 1) {
      report(field(rewritePath, 'prefix'), exactlyOneOf(['defaultPrefix', 'value'], set.length));
    }
    if (prefix.value !== undefined && !prefix.value.startsWith('/')) {
      report(
        field(rewritePath, 'prefix.value'),
        `must start with /, got ${JSON.stringify(prefix.value)}`,
      );
    }
    if (route.match.prefix === undefined) {
      report(field(rewritePath, 'prefix'), 'requires match.prefix');
    }
    if (rewrite?.path !== undefined) {
      report(rewritePath, 'set either prefix or path, not both');
    }
  }
  const exact = rewrite?.path?.exact;
  if (exact !== undefined && !exact.startsWith('/')) {
    report(field(rewritePath, 'path.exact'), `must start with /, got ${JSON.stringify(exact)}`);
  }
};

/**
 * App Mesh user guide, routes: the prefix "must always start with /"; a route matches on a prefix,
 * a path, or only a listener port (AWS's howto-multiple-listeners walkthrough writes
 * `"match": {"port": 8080}`, every request on that port). Prefix and path together are accepted
 * and the translator reports its choice (see docs/translation.md).
 */
const httpMatchHasPrefixOrPath: SemanticRule<HttpRouteMatch> = (match, path, report) => {
  if (match.prefix !== undefined && !match.prefix.startsWith('/')) {
    report(field(path, 'prefix'), `must start with /, got ${JSON.stringify(match.prefix)}`);
  }
  if (match.prefix === undefined && match.path === undefined && match.port === undefined) {
    report(path, 'one of prefix, path or port must be set');
  }
};

/** A path match is either exact or a regex (HttpPathMatch, App Mesh API reference). */
const exactlyOnePathMatch: SemanticRule<HttpPathMatch> = (match, path, report) => {
  const set = [match.exact, match.regex].filter((value) => value !== undefined).length;
  if (set !== 1) report(path, exactlyOneOf(['exact', 'regex'], set));
};

/** App Mesh user guide, routes: "methodName requires serviceName". */
const methodNameNeedsServiceName: SemanticRule<GrpcRouteMatch> = (match, path, report) => {
  if (match.methodName !== undefined && match.serviceName === undefined) {
    report(field(path, 'methodName'), 'requires serviceName');
  }
};

/** App Mesh user guide, routes: a retry policy needs at least one retry event. */
function retryPolicyHasEvents<P extends HttpRetryPolicy>(
  eventLists: readonly (keyof P & `${string}RetryEvents`)[],
): SemanticRule<P> {
  return (policy, path, report) => {
    if (eventLists.every((list) => policy[list] === undefined)) {
      report(path, `at least one of ${eventLists.join(', ')} must be set`);
    }
  };
}

/** App Mesh user guide, routes lists the httpRetryEvents values; the model says only "string". */
const HTTP_RETRY_EVENTS = ['server-error', 'gateway-error', 'client-error', 'stream-error'];

const httpRetryEventsAreKnown: SemanticRule<HttpRetryPolicy> = (policy, path, report) => {
  policy.httpRetryEvents?.forEach((event, index) => {
    if (!HTTP_RETRY_EVENTS.includes(event)) {
      report(`${field(path, 'httpRetryEvents')}[${index}]`, oneOf(HTTP_RETRY_EVENTS, event));
    }
  });
};

/**
 * WeightedTarget (App Mesh API reference): "The total weight for all targets combined must be
 * less than or equal to 100." The user guide's "must add up to 100" is not enforced: App Mesh
 * treated weights as relative.
 */
const totalWeightAtMost100: SemanticRule<{ weightedTargets: WeightedTarget[] }> = (
  action,
  path,
  report,
) => {
  const total = action.weightedTargets.reduce((sum, target) => sum + target.weight, 0);
  if (total > 100) {
    report(field(path, 'weightedTargets'), `total weight must be at most 100, got ${total}`);
  }
};

/** Both halves are optional in the model, but App Mesh rejected half-specified durations. */
const durationIsComplete: SemanticRule<Duration> = (duration, path, report) => {
  if (duration.unit === undefined || duration.value === undefined) {
    report(path, 'a duration needs both unit and value');
  }
};

/**
 * App Mesh user guide, virtual nodes: the connection pool and timeout variants must match the listener's protocol,
 * and the health check must target the listener's port.
 */
const listenerMatchesItsProtocol: SemanticRule<Listener | VirtualGatewayListener> = (
  listener,
  path,
  report,
) => {
  const { port, protocol } = listener.portMapping;
  for (const setting of ['connectionPool', 'timeout'] as const) {
    const variant = unionMember(setting in listener ? (listener as Listener)[setting] : undefined);
    if (variant !== undefined && variant !== protocol) {
      report(
        field(path, setting),
        `must be the ${protocol} variant to match portMapping.protocol, got ${variant}`,
      );
    }
  }
  const healthCheck = listener.healthCheck;
  if (healthCheck?.port !== undefined && healthCheck.port !== port) {
    report(
      field(path, 'healthCheck.port'),
      `must equal the listener port ${port}, got ${healthCheck.port}`,
    );
  }
};

/**
 * HealthCheckPolicy.path is "only used if the specified protocol is HTTP or HTTP/2" (App Mesh
 * API reference); an HTTP health check needs a path to request (Envoy requires one too). For
 * tcp and grpc the API reference says the path "is ignored", so it is accepted there.
 */
const httpHealthCheckHasPath: SemanticRule<Listener | VirtualGatewayListener> = (
  listener,
  path,
  report,
) => {
  const healthCheck = listener.healthCheck;
  if (healthCheck === undefined || healthCheck.path !== undefined) return;
  switch (healthCheck.protocol) {
    case 'http':
    case 'http2':
      report(field(path, 'healthCheck.path'), `is required for protocol ${healthCheck.protocol}`);
      return;
    case 'tcp':
    case 'grpc':
      return;
  }
};

/** App Mesh user guide, virtual nodes: "a listener requires serviceDiscovery". */
const listenersNeedServiceDiscovery: SemanticRule<VirtualNodeSpec> = (spec, path, report) => {
  if ((spec.listeners?.length ?? 0) > 0 && spec.serviceDiscovery === undefined) {
    report(field(path, 'serviceDiscovery'), 'is required when listeners are set');
  }
};

/**
 * Listeners of one node or router must use distinct ports: Envoy cannot bind one port twice,
 * and routes and weighted targets select a listener by port (App Mesh user guide, virtual nodes).
 */
const uniqueListenerPorts: SemanticRule<
  VirtualNodeSpec | VirtualRouterSpec | VirtualGatewaySpec
> = (spec, path, report) => {
  const firstIndexOfPort = new Map<number, number>();
  spec.listeners?.forEach((listener, index) => {
    const port = listener.portMapping.port;
    const first = firstIndexOfPort.get(port);
    if (first === undefined) {
      firstIndexOfPort.set(port, index);
    } else {
      report(
        `${field(path, 'listeners')}[${index}].portMapping.port`,
        `port ${port} is already used by listeners[${first}]`,
      );
    }
  });
};

/** The rules that run on each model shape, wherever the shape occurs in a request. */
const semanticRules: { [S in keyof StructureShapes]?: SemanticRule<StructureShapes[S]>[] } = {
  RouteSpec: [exactlyOneRouteType<RouteSpec>(['httpRoute', 'http2Route', 'grpcRoute', 'tcpRoute'])],
  GatewayRouteSpec: [
    exactlyOneRouteType<GatewayRouteSpec>(['httpRoute', 'http2Route', 'grpcRoute']),
  ],
  HttpGatewayRouteMatch: [httpGatewayMatchIsValid],
  HttpGatewayRoute: [httpGatewayRewriteIsValid],
  GrpcGatewayRouteMatch: [grpcGatewayMatchIsValid],
  GatewayRouteHostnameMatch: [exactlyOneHostnameMatch],
  VirtualGatewayListener: [listenerMatchesItsProtocol, httpHealthCheckHasPath],
  VirtualGatewaySpec: [uniqueListenerPorts],
  HttpRouteMatch: [httpMatchHasPrefixOrPath],
  HttpPathMatch: [exactlyOnePathMatch],
  GrpcRouteMatch: [methodNameNeedsServiceName],
  HttpRetryPolicy: [
    retryPolicyHasEvents(['httpRetryEvents', 'tcpRetryEvents']),
    httpRetryEventsAreKnown,
  ],
  GrpcRetryPolicy: [
    retryPolicyHasEvents(['grpcRetryEvents', 'httpRetryEvents', 'tcpRetryEvents']),
    httpRetryEventsAreKnown,
  ],
  HttpRouteAction: [totalWeightAtMost100],
  GrpcRouteAction: [totalWeightAtMost100],
  TcpRouteAction: [totalWeightAtMost100],
  Duration: [durationIsComplete],
  Listener: [listenerMatchesItsProtocol, httpHealthCheckHasPath],
  VirtualNodeSpec: [listenersNeedServiceDiscovery, uniqueListenerPorts],
  VirtualRouterSpec: [uniqueListenerPorts],
};

/** A value reaches its shape's rules only after the walker checked it against that shape. */
function semanticRulesOf(shapeName: string): SemanticRule<unknown>[] {
  const byShape = semanticRules as Partial<Record<string, SemanticRule<unknown>[]>>;
  return byShape[shapeName] ?? [];
}

function shapeOf(name: string): Shape {
  const shape = model.shapes[name];
  if (shape === undefined) throw new Error(`App Mesh model has no shape ${name}`);
  return shape;
}

/** The member set in a value of a `union` shape. */
function unionMember(value: object | undefined): string | undefined {
  if (value === undefined) return undefined;
  return Object.entries(value).find(([, memberValue]) => memberValue !== undefined)?.[0];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'list';
  return typeof value === 'object' ? 'object' : typeof value;
}

/** A value as a message quotes it: numbers and strings themselves, anything else by kind. */
function describe(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  return kindOf(value);
}

function field(path: string, name: string): string {
  return path === '' ? name : `${path}.${name}`;
}

function exactlyOneOf(names: readonly string[], set: number): string {
  return `exactly one of ${names.join(', ')} must be set, got ${set}`;
}

function oneOf(allowed: readonly string[], value: string): string {
  return `must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`;
}
