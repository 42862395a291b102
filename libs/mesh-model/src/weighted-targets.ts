import { BadRequestException } from './errors';
import type { ResourceId } from './resource-kinds';
import { validateOperationInput, type RouteSpec, type WeightedTarget } from './validation';

/**
 * Setting a route's weights from percentages (`PUT .../routes/{route}/weights`).
 *
 * App Mesh stores a weight as an integer from 0 to 100, with the targets of a route adding up to
 * at most 100 (`PercentInt` and the WeightedTarget rule), and Envoy divides each weight by their
 * sum. The stored spec must stay valid App Mesh, because SDK clients, Terraform and the
 * Kubernetes controller Describe it and send it back. So decimal percentages are never scaled
 * up (99.9/0.1 as 999/1 would break `PercentInt`): they are stored as the smallest whole numbers
 * in exactly the same ratio (87.5/12.5 → 7/1), and refused when that ratio does not fit.
 */

/** Percentages may have two decimal places: steps of 0.01 %. */
const DECIMAL_PLACES = 2;
const HUNDREDTHS = 10 ** DECIMAL_PLACES;
const MAX_PERCENT = 100;
/** App Mesh's `WeightedTargets` list: 1 to 10 targets. */
const MAX_TARGETS = 10;
/** App Mesh's `ResourceName`. */
const MAX_NAME_LENGTH = 255;
const MAX_REASON_LENGTH = 1024;

export interface TargetPercent {
  virtualNode: string;
  percent: number;
}

export interface WeightsRequest {
  /** In the order the body lists them. */
  targets: TargetPercent[];
  /** Why the weights change, kept in the change log. */
  reason?: string;
}

/** Validates the body `{"targets": {"blue": 90, "green": 10}, "reason"?: "..."}`. */
export function parseWeightsRequest(body: unknown): WeightsRequest {
  if (!isRecord(body)) throw new BadRequestException('The request body must be a JSON object');
  const issues: string[] = [];
  for (const key of Object.keys(body)) {
    if (key !== 'targets' && key !== 'reason') issues.push(`${key}: unknown field`);
  }
  const { targets, reason } = body;
  if (
    reason !== undefined &&
    !(typeof reason === 'string' && reason.length >= 1 && reason.length <= MAX_REASON_LENGTH)
  ) {
    issues.push(`reason: must be a string of 1 to ${MAX_REASON_LENGTH} characters`);
  }
  const parsed: TargetPercent[] = [];
  if (!isRecord(targets)) {
    issues.push(
      'targets: must be an object of virtual node names and percentages, e.g. {"blue": 90, "green": 10}',
    );
  } else {
    const entries = Object.entries(targets);
    if (entries.length < 1 || entries.length > MAX_TARGETS) {
      issues.push(`targets: must name 1 to ${MAX_TARGETS} virtual nodes, got ${entries.length}`);
    }
    for (const [virtualNode, percent] of entries) {
      const issue =
        virtualNode.length < 1 || virtualNode.length > MAX_NAME_LENGTH
          ? `must be a virtual node name of 1 to ${MAX_NAME_LENGTH} characters`
          : percentProblem(percent);
      if (issue !== undefined) issues.push(`targets.${virtualNode}: ${issue}`);
      else parsed.push({ virtualNode, percent: percent as number });
    }
    if (issues.length === 0) {
      const total = sum(parsed.map((target) => toHundredths(target.percent)));
      if (total === 0) issues.push('targets: the weights must add up to more than 0');
      if (total > MAX_PERCENT * HUNDREDTHS) {
        issues.push(`targets: the weights must add up to at most 100, got ${total / HUNDREDTHS}`);
      }
    }
  }
  if (issues.length > 0) throw new BadRequestException(issues.join('; '));
  return { targets: parsed, ...(reason !== undefined && { reason: reason as string }) };
}

/**
 * App Mesh weights for percentages: whole percentages as given; otherwise the smallest whole
 * numbers in the same ratio, which must add up to at most 100. Expects parsed percentages.
 */
export function appMeshWeights(
  targets: readonly TargetPercent[],
): Array<{ virtualNode: string; weight: number }> {
  const hundredths = targets.map((target) => toHundredths(target.percent));
  const whole = hundredths.every((value) => value % HUNDREDTHS === 0);
  const divisor = whole ? HUNDREDTHS : hundredths.reduce(gcd, 0);
  const weights = hundredths.map((value) => value / divisor);
  const total = sum(weights);
  if (total > MAX_PERCENT) {
    const given = targets.map((t) => `${t.virtualNode}=${t.percent}`).join(', ');
    throw new BadRequestException(
      `targets: ${given} cannot be stored exactly as App Mesh weights (whole numbers adding up to ` +
        `at most 100): the same ratio in whole numbers is ${weights.join(':')}, which adds up to ` +
        `${total}. Use whole percentages, or decimals whose ratio fits (87.5/12.5 is stored as 7/1)`,
    );
  }
  return targets.map((target, index) => ({
    virtualNode: target.virtualNode,
    weight: weights[index]!,
  }));
}

const ROUTE_TYPES = ['httpRoute', 'http2Route', 'grpcRoute', 'tcpRoute'] as const;

/**
 * The spec with its route type's weighted targets replaced and everything else kept. Targets
 * already there keep their place and other fields (`port`); new ones follow in the given order.
 * Targets left out are removed.
 */
export function withWeightedTargets(
  spec: RouteSpec,
  weights: ReadonlyArray<{ virtualNode: string; weight: number }>,
): RouteSpec {
  const routeType = ROUTE_TYPES.find((type) => spec[type] !== undefined);
  const route = routeType === undefined ? undefined : spec[routeType];
  if (routeType === undefined || route === undefined) {
    throw new BadRequestException('spec: the route has no route type to set weights on');
  }
  const current = route.action.weightedTargets;
  const wanted = new Map(weights.map((target) => [target.virtualNode, target.weight]));
  for (const name of wanted.keys()) {
    const ports = current.filter((target) => target.virtualNode === name);
    if (ports.length > 1) {
      throw new BadRequestException(
        `targets.${name}: the route targets virtual node ${name} ${ports.length} times ` +
          `(ports ${ports.map((target) => target.port ?? 'unset').join(', ')}); ` +
          'change its weights with UpdateRoute',
      );
    }
  }
  const kept: WeightedTarget[] = current
    .filter((target) => wanted.has(target.virtualNode))
    .map((target) => ({ ...target, weight: wanted.get(target.virtualNode)! }));
  const keptNames = new Set(kept.map((target) => target.virtualNode));
  const added: WeightedTarget[] = weights
    .filter((target) => !keptNames.has(target.virtualNode))
    .map(({ virtualNode, weight }) => ({ virtualNode, weight }));
  return {
    ...spec,
    [routeType]: { ...route, action: { ...route.action, weightedTargets: [...kept, ...added] } },
  };
}

/**
 * A route's spec with new weighted targets, checked as UpdateRoute would check it: the stored
 * spec stays valid App Mesh, what SDK clients and Terraform read back and send again.
 */
export function weightedRouteSpec(
  route: ResourceId,
  spec: Record<string, unknown>,
  weights: ReadonlyArray<{ virtualNode: string; weight: number }>,
): Record<string, unknown> {
  const next = withWeightedTargets(spec, weights) as Record<string, unknown>;
  validateOperationInput('UpdateRoute', {
    meshName: route.meshName,
    virtualRouterName: route.parentName,
    routeName: route.name,
    spec: next,
  });
  return next;
}

function percentProblem(value: unknown): string | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    return `must be a number, got ${JSON.stringify(value)}`;
  }
  if (value < 0 || value > MAX_PERCENT) return `must be from 0 to 100, got ${value}`;
  if (Math.abs(value * HUNDREDTHS - Math.round(value * HUNDREDTHS)) > 1e-6) {
    return `must have at most ${DECIMAL_PLACES} decimal places, got ${value}`;
  }
  return undefined;
}

function toHundredths(percent: number): number {
  return Math.round(percent * HUNDREDTHS);
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
