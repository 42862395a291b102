/**
 * Request validation driven by the App Mesh service model (generated from botocore by
 * scripts/generate-appmesh-model.mjs), plus the documented rules the model cannot express.
 * Rule comments quote the App Mesh API reference and user guide (docs/api.md lists the rules).
 */
import { BadRequestException } from './errors';
import modelJson from './generated/appmesh-model.json';
import {
  exactlyOneOf,
  field,
  ModelValidator,
  oneOf,
  type SemanticRule,
  type ServiceModel,
} from './model-validation';
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
export type { Operation } from './model-validation';

/**
 * Checks an operation's input against the App Mesh model. `input` holds every member of the
 * operation's input shape by its model name: URI labels, query-string members (integers may
 * still be the strings they arrived as) and body members. Throws one BadRequestException that
 * lists every issue found.
 */
export function validateOperationInput(operation: string, input: Record<string, unknown>): void {
  const problems = validator.problems(operation, input);
  if (problems !== '') throw new BadRequestException(problems);
}

// Semantic rules: what the App Mesh documentation requires but the model cannot express. Each
// runs on a value of its shape that has passed the model checks, wherever that shape occurs.

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

/**
 * Resource and service names travel as URL path segments, in ARNs and in Envoy node ids and
 * resource names. App Mesh's model gives ResourceName and ServiceName no pattern, but a name
 * that is a dot segment cannot be addressed by URL (clients resolve `.` and `..` away, RFC 3986
 * §5.2.4), and control characters cannot be sent in a URL, an ARN or an Envoy name unescaped.
 * docs/api.md lists the rule.
 */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/u;
const addressableName: SemanticRule<string> = (name, path, report) => {
  if (name === '.' || name === '..') {
    report(path, `must not be ${JSON.stringify(name)}: a URL path segment cannot name it`);
  } else if (CONTROL_CHARACTER.test(name)) {
    report(
      path,
      `must not contain control characters (U+0000 to U+001F, U+007F to U+009F), got ${JSON.stringify(name)}`,
    );
  }
};

/** The compiled App Mesh model: operations and the shapes reachable from their inputs. */
export const appMeshModel = modelJson as ServiceModel;

const validator = new ModelValidator('App Mesh', appMeshModel, {
  // A value reaches its shape's rules only after the walker checked it against that shape.
  ...(semanticRules as Partial<Record<string, SemanticRule<unknown>[]>>),
  ResourceName: [addressableName as SemanticRule<unknown>],
  ServiceName: [addressableName as SemanticRule<unknown>],
});

/** The member set in a value of a `union` shape. */
function unionMember(value: object | undefined): string | undefined {
  if (value === undefined) return undefined;
  return Object.entries(value).find(([, memberValue]) => memberValue !== undefined)?.[0];
}
