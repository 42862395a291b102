import { BadRequestException } from './errors';
import type { RouteSpec, WeightedTarget } from './validation';

/**
 * Progressive rollouts (`POST /v1/meshes/{mesh}/rollouts`): what a rollout is, how its request
 * is validated and which weights each step sets. docs/rollouts.md describes the behaviour.
 */

export const ROLLOUT_STATES = [
  'Pending',
  'Progressing',
  'Paused',
  'WaitingPromotion',
  'Aborting',
  'Succeeded',
  'Aborted',
  'Failed',
] as const;
export type RolloutState = (typeof ROLLOUT_STATES)[number];

/** States in which a rollout does nothing more; any other state holds its route. */
export const FINAL_STATES: readonly RolloutState[] = ['Succeeded', 'Aborted', 'Failed'];

export function isFinal(state: RolloutState): boolean {
  return FINAL_STATES.includes(state);
}

/**
 * Where a step (or, while Aborting, a step of the way back) is: its weights are written, then
 * the proxies acknowledge them, then the webhooks are called, then the interval passes, then
 * the metric gates judge the interval's traffic.
 */
export type RolloutPhase =
  'SettingWeights' | 'Propagating' | 'CheckingGates' | 'Waiting' | 'CheckingMetrics';

export const ON_ABORT = ['instant', 'stepped', 'freeze'] as const;
export type OnAbort = (typeof ON_ABORT)[number];

/**
 * What judges a step before the rollout goes on. A webhook is called once the proxies have the
 * step's weights; a metric gate reads Prometheus at the end of the step's interval, over that
 * interval. docs/rollouts.md describes each kind.
 */
export type RolloutGate = WebhookGate | MetricGate;
export type MetricGate = PrometheusQueryGate | SuccessRateGate | LatencyGate;

export interface WebhookGate {
  kind: 'webhook';
  url: string;
  timeoutMs: number;
}

export const COMPARISONS = ['<', '<=', '>', '>='] as const;
export type Comparison = (typeof COMPARISONS)[number];

/** A PromQL query whose single value must compare to a threshold for the step to pass. */
export interface PrometheusQueryGate {
  kind: 'prometheus';
  /** Prometheus' base URL, e.g. http://prometheus:9090. */
  address: string;
  /** With `{{ variable }}`s (ROLLOUT_QUERY_VARIABLES) substituted at each check. */
  query: string;
  comparison: Comparison;
  threshold: number;
  timeoutMs: number;
}

/** The share of non-5xx responses of the traffic to `to`, from its sidecars' Envoy metrics. */
export interface SuccessRateGate {
  kind: 'successRate';
  address: string;
  /** Percent, e.g. 99. */
  minPercent: number;
  /** Fewer requests than this in the window: the step waits for more instead of passing. */
  minRequests: number;
  timeoutMs: number;
}

/** The p99 upstream request time of the traffic to `to`, from its sidecars' Envoy metrics. */
export interface LatencyGate {
  kind: 'latency';
  address: string;
  maxP99Ms: number;
  minRequests: number;
  timeoutMs: number;
}

export function isMetricGate(gate: RolloutGate): gate is MetricGate {
  return gate.kind !== 'webhook';
}

/** How a rollout proceeds, as stored: the request with its defaults and presets resolved. */
export interface RolloutPlan {
  /** The weight of `to` at each step, ascending; the last is always 100. */
  steps: number[];
  /** The preset named in the request, if any. */
  preset?: string;
  /** How long each step holds before the next one (not after the last). */
  intervalMs: number;
  gates: RolloutGate[];
  onAbort: OnAbort;
  /** Stop before the last step (100) until `promote`. */
  requirePromotion: boolean;
  /** How long the proxies have to acknowledge a step's weights before the rollout fails. */
  propagationTimeoutMs: number;
}

export interface RolloutRequest {
  virtualRouter: string;
  route: string;
  /** The virtual node traffic moves away from. */
  from: string;
  /** The virtual node traffic moves to. */
  to: string;
  plan: RolloutPlan;
}

export const DEFAULT_INTERVAL_MS = 60_000;
export const DEFAULT_GATE_TIMEOUT_MS = 10_000;
export const DEFAULT_PROPAGATION_TIMEOUT_MS = 120_000;
const MAX_INTERVAL_MS = 24 * 60 * 60 * 1000;
const MAX_GATE_TIMEOUT_MS = 5 * 60 * 1000;
const MAX_PROPAGATION_TIMEOUT_MS = 60 * 60 * 1000;
const MAX_GATES = 10;
/** App Mesh's `ResourceName`. */
const MAX_NAME_LENGTH = 255;
const MAX_URL_LENGTH = 2048;

const FIELDS = [
  'route',
  'from',
  'to',
  'steps',
  'interval',
  'gates',
  'onAbort',
  'requirePromotion',
  'propagationTimeout',
];

/**
 * CodeDeploy's predefined deployment configurations, by the part of the name after
 * `CodeDeployDefault.` and the platform (`ECS`, `Lambda`), which both may be given too:
 * `Canary<p>Percent<m>Minutes` moves p % and the rest after m minutes; `Linear<p>PercentEvery<m>Minutes`
 * moves p % every m minutes; `AllAtOnce` moves everything. CodeDeploy spells "percent" and
 * "Minute(s)" inconsistently across its names, so both spellings are accepted.
 */
const PRESET =
  /^(?:CodeDeployDefault\.)?(?:ECS|Lambda)?(?:(AllAtOnce)|Canary(\d+)Percent(\d+)Minutes?|Linear(\d+)PercentEvery(\d+)Minutes?)$/i;

/** Validates the body of `POST /v1/meshes/{mesh}/rollouts`; every issue names its field. */
export function parseRolloutRequest(body: unknown): RolloutRequest {
  if (!isRecord(body)) throw new BadRequestException('The request body must be a JSON object');
  const issues: string[] = [];
  const report = (field: string, message: string) => issues.push(`${field}: ${message}`);
  for (const key of Object.keys(body)) {
    if (!FIELDS.includes(key)) report(key, 'unknown field');
  }

  let virtualRouter = '';
  let route = '';
  if (!isRecord(body.route)) {
    report('route', 'must be an object {"virtualRouter": "...", "route": "..."}');
  } else {
    for (const key of Object.keys(body.route)) {
      if (key !== 'virtualRouter' && key !== 'route') report(`route.${key}`, 'unknown field');
    }
    virtualRouter = name(body.route.virtualRouter, 'route.virtualRouter', report);
    route = name(body.route.route, 'route.route', report);
  }
  const from = name(body.from, 'from', report);
  const to = name(body.to, 'to', report);
  if (from !== '' && from === to) report('to', `must differ from "from" (both are ${from})`);

  const stepsAndInterval = parseSteps(body.steps, body.interval, report);
  const gates = parseGates(body.gates, report);
  let onAbort: OnAbort = 'instant';
  if (body.onAbort !== undefined) {
    if ((ON_ABORT as readonly unknown[]).includes(body.onAbort)) onAbort = body.onAbort as OnAbort;
    else report('onAbort', `must be one of ${ON_ABORT.join(', ')}, got ${json(body.onAbort)}`);
  }
  if (body.requirePromotion !== undefined && typeof body.requirePromotion !== 'boolean') {
    report('requirePromotion', `must be a boolean, got ${json(body.requirePromotion)}`);
  }
  const propagationTimeoutMs =
    body.propagationTimeout === undefined
      ? DEFAULT_PROPAGATION_TIMEOUT_MS
      : duration(
          body.propagationTimeout,
          'propagationTimeout',
          1000,
          MAX_PROPAGATION_TIMEOUT_MS,
          report,
        );

  if (stepsAndInterval && gates.some(isMetricGate)) {
    if (stepsAndInterval.steps.length < 2) {
      report(
        'gates',
        'metric gates judge a step before the next one; a rollout of a single step has none to judge',
      );
    } else if (stepsAndInterval.intervalMs < 1000) {
      report(
        'interval',
        'must be at least 1s with metric gates: they measure the traffic of the interval',
      );
    }
  }
  if (issues.length > 0 || !stepsAndInterval) throw new BadRequestException(issues.join('; '));
  return {
    virtualRouter,
    route,
    from,
    to,
    plan: {
      ...stepsAndInterval,
      gates,
      onAbort,
      requirePromotion: body.requirePromotion === true,
      propagationTimeoutMs,
    },
  };
}

type Report = (field: string, message: string) => void;

/** The steps (list, `linear`, or preset name) with the interval that goes with them. */
function parseSteps(
  steps: unknown,
  interval: unknown,
  report: Report,
): Pick<RolloutPlan, 'steps' | 'preset' | 'intervalMs'> | undefined {
  if (Array.isArray(steps)) {
    const intervalMs =
      interval === undefined
        ? DEFAULT_INTERVAL_MS
        : duration(interval, 'interval', 0, MAX_INTERVAL_MS, report);
    const weights = stepList(steps, report);
    return weights && { steps: weights, intervalMs };
  }
  if (typeof steps === 'string') {
    const match = PRESET.exec(steps);
    if (!match) {
      report(
        'steps',
        `unknown preset ${json(steps)}; presets are AllAtOnce, Canary<p>Percent<m>Minutes and Linear<p>PercentEvery<m>Minutes (CodeDeploy's names, e.g. Canary10Percent5Minutes)`,
      );
      return undefined;
    }
    if (interval !== undefined) report('interval', `the preset ${steps} sets the interval`);
    const [, allAtOnce, canaryPercent, canaryMinutes, linearPercent, linearMinutes] = match;
    if (allAtOnce) return { steps: [100], preset: steps, intervalMs: 0 };
    const percent = Number(canaryPercent ?? linearPercent);
    const minutes = Number(canaryMinutes ?? linearMinutes);
    if (percent < 1 || percent > 99) {
      report('steps', `the preset ${steps} moves ${percent} %; it must be from 1 to 99`);
      return undefined;
    }
    if (minutes < 1 || minutes > MAX_INTERVAL_MS / 60_000) {
      report('steps', `the preset ${steps} waits ${minutes} minutes; it must be from 1 to 1440`);
      return undefined;
    }
    return {
      steps: canaryPercent !== undefined ? [percent, 100] : linear(percent),
      preset: steps,
      intervalMs: minutes * 60_000,
    };
  }
  if (isRecord(steps) && Object.hasOwn(steps, 'linear')) {
    if (interval !== undefined) report('interval', 'linear steps set the interval with "every"');
    for (const key of Object.keys(steps)) {
      if (key !== 'linear') report(`steps.${key}`, 'unknown field');
    }
    if (!isRecord(steps.linear)) {
      report('steps.linear', 'must be an object {"step": 10, "every": "1m"}');
      return undefined;
    }
    for (const key of Object.keys(steps.linear)) {
      if (key !== 'step' && key !== 'every') report(`steps.linear.${key}`, 'unknown field');
    }
    const { step, every } = steps.linear;
    const intervalMs =
      every === undefined
        ? (report('steps.linear.every', 'is required'), 0)
        : duration(every, 'steps.linear.every', 0, MAX_INTERVAL_MS, report);
    if (!isInteger(step) || step < 1 || step > 100) {
      report('steps.linear.step', `must be an integer from 1 to 100, got ${json(step)}`);
      return undefined;
    }
    return { steps: linear(step), intervalMs };
  }
  report(
    'steps',
    'must be a list of weights like [5, 25, 50, 100], {"linear": {"step": 10, "every": "1m"}}, or a preset name like "Canary10Percent5Minutes"',
  );
  return undefined;
}

/** `[5, 25, 50]` → `[5, 25, 50, 100]`: integers from 1 to 100, ascending, ending at 100. */
function stepList(steps: unknown[], report: Report): number[] | undefined {
  if (steps.length === 0 || steps.length > 100) {
    report('steps', `must list 1 to 100 weights, got ${steps.length}`);
    return undefined;
  }
  let valid = true;
  steps.forEach((step, index) => {
    if (!isInteger(step) || step < 1 || step > 100) {
      report(
        `steps[${index}]`,
        `must be an integer from 1 to 100 (App Mesh weights are whole numbers), got ${json(step)}`,
      );
      valid = false;
    } else if (index > 0 && isInteger(steps[index - 1]) && step <= (steps[index - 1] as number)) {
      // Compared with a number only: `<=` on an object would call its valueOf, a user's key.
      report(`steps[${index}]`, `must be greater than the step before (${json(steps[index - 1])})`);
      valid = false;
    }
  });
  if (!valid) return undefined;
  const weights = steps as number[];
  return weights[weights.length - 1] === 100 ? weights : [...weights, 100];
}

/** `linear(30)` → `[30, 60, 90, 100]`. */
function linear(step: number): number[] {
  const weights: number[] = [];
  for (let weight = step; weight < 100; weight += step) weights.push(weight);
  return [...weights, 100];
}

export const DEFAULT_MIN_REQUESTS = 10;
const MAX_QUERY_LENGTH = 4096;
const MAX_LATENCY_MS = 5 * 60 * 1000;
const GATE_SHAPES =
  '{"url": "..."}, {"prometheus": {...}}, {"successRate": {...}} or {"latency": {...}}';

/**
 * The variables a Prometheus gate's query may use, as `{{ name }}`: the rollout's mesh, virtual
 * router, route, from and to nodes; the step's number (from 1) and weight of `to`; and the
 * window measured, as a PromQL duration (`60s`).
 */
export const ROLLOUT_QUERY_VARIABLES = [
  'mesh',
  'router',
  'route',
  'from',
  'to',
  'step',
  'weight',
  'interval',
] as const;
export type RolloutQueryVariables = Record<(typeof ROLLOUT_QUERY_VARIABLES)[number], string>;
const QUERY_VARIABLE = /\{\{\s*([^{}\s]*)\s*\}\}/g;

/** The query with its variables replaced; every variable was checked when the rollout was made. */
export function substituteQuery(query: string, variables: RolloutQueryVariables): string {
  return query.replace(
    QUERY_VARIABLE,
    (_match, name: string) => variables[name as keyof RolloutQueryVariables] ?? '',
  );
}

/** "99.5 % < 99 %"-style check: whether `value` is on the passing side of the threshold. */
export function compare(value: number, comparison: Comparison, threshold: number): boolean {
  switch (comparison) {
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
  }
}

function parseGates(gates: unknown, report: Report): RolloutGate[] {
  if (gates === undefined) return [];
  if (!Array.isArray(gates) || gates.length > MAX_GATES) {
    report('gates', `must be a list of at most ${MAX_GATES} gates: ${GATE_SHAPES}`);
    return [];
  }
  return gates.flatMap((gate: unknown, index): RolloutGate[] => {
    const field = `gates[${index}]`;
    if (!isRecord(gate)) {
      report(field, `must be an object: ${GATE_SHAPES}`);
      return [];
    }
    const kinds = ['prometheus', 'successRate', 'latency'].filter((kind) => kind in gate);
    if (kinds.length === 0) return webhookGate(gate, field, report);
    if (kinds.length > 1 || Object.keys(gate).length > 1) {
      report(field, `must have exactly one of url, prometheus, successRate, latency`);
      return [];
    }
    const kind = kinds[0]!;
    const spec = gate[kind];
    if (!isRecord(spec)) {
      report(`${field}.${kind}`, 'must be an object');
      return [];
    }
    return metricGate(kind, spec, `${field}.${kind}`, report);
  });
}

function webhookGate(gate: Record<string, unknown>, field: string, report: Report): WebhookGate[] {
  for (const key of Object.keys(gate)) {
    if (key !== 'url' && key !== 'timeout') report(`${field}.${key}`, 'unknown field');
  }
  const timeoutMs = gateTimeout(gate.timeout, field, report);
  if (typeof gate.url !== 'string' || gate.url.length > MAX_URL_LENGTH || !isHttpUrl(gate.url)) {
    report(`${field}.url`, `must be an http or https URL, got ${json(gate.url)}`);
    return [];
  }
  return [{ kind: 'webhook', url: gate.url, timeoutMs }];
}

const METRIC_FIELDS: Record<string, string[]> = {
  prometheus: ['address', 'query', 'comparison', 'threshold', 'timeout'],
  successRate: ['address', 'min', 'minRequests', 'timeout'],
  latency: ['address', 'maxP99', 'minRequests', 'timeout'],
};

function metricGate(
  kind: string,
  spec: Record<string, unknown>,
  field: string,
  report: Report,
): MetricGate[] {
  const issues: string[] = [];
  const check: Report = (name, message) => {
    issues.push(name);
    report(name, message);
  };
  for (const key of Object.keys(spec)) {
    if (!METRIC_FIELDS[kind]!.includes(key)) check(`${field}.${key}`, 'unknown field');
  }
  const address = spec.address;
  if (typeof address !== 'string' || address.length > MAX_URL_LENGTH || !isHttpUrl(address)) {
    check(
      `${field}.address`,
      `must be the http or https URL of Prometheus (e.g. http://prometheus:9090), got ${json(address)}`,
    );
  }
  const timeoutMs = gateTimeout(spec.timeout, field, check);
  const minRequests = (): number => {
    const value = spec.minRequests ?? DEFAULT_MIN_REQUESTS;
    if (!isInteger(value) || value < 1 || value > 1_000_000_000) {
      check(`${field}.minRequests`, `must be an integer from 1 to 1000000000, got ${json(value)}`);
    }
    return value as number;
  };
  let gate: MetricGate;
  switch (kind) {
    case 'prometheus': {
      const { query, comparison, threshold } = spec;
      if (typeof query !== 'string' || query.trim() === '' || query.length > MAX_QUERY_LENGTH) {
        check(`${field}.query`, `must be a PromQL query of 1 to ${MAX_QUERY_LENGTH} characters`);
      } else {
        for (const [, name] of query.matchAll(QUERY_VARIABLE)) {
          if (!(ROLLOUT_QUERY_VARIABLES as readonly string[]).includes(name!)) {
            check(
              `${field}.query`,
              `unknown variable {{ ${name} }}; the variables are ${ROLLOUT_QUERY_VARIABLES.join(', ')}`,
            );
          }
        }
      }
      if (!(COMPARISONS as readonly unknown[]).includes(comparison)) {
        check(
          `${field}.comparison`,
          `must be one of ${COMPARISONS.join(' ')}, got ${json(comparison)}`,
        );
      }
      if (typeof threshold !== 'number' || !Number.isFinite(threshold)) {
        check(`${field}.threshold`, `must be a number, got ${json(threshold)}`);
      }
      gate = {
        kind,
        address: address as string,
        query: query as string,
        comparison: comparison as Comparison,
        threshold: threshold as number,
        timeoutMs,
      };
      break;
    }
    case 'successRate': {
      const min = spec.min;
      if (typeof min !== 'number' || !(min > 0 && min <= 100)) {
        check(`${field}.min`, `must be a percentage above 0 and at most 100, got ${json(min)}`);
      }
      gate = {
        kind,
        address: address as string,
        minPercent: min as number,
        minRequests: minRequests(),
        timeoutMs,
      };
      break;
    }
    default: {
      const maxP99Ms =
        spec.maxP99 === undefined
          ? (check(`${field}.maxP99`, 'is required, e.g. "500ms"'), 0)
          : duration(spec.maxP99, `${field}.maxP99`, 1, MAX_LATENCY_MS, check);
      gate = {
        kind: 'latency',
        address: address as string,
        maxP99Ms,
        minRequests: minRequests(),
        timeoutMs,
      };
    }
  }
  return issues.length > 0 ? [] : [gate];
}

function gateTimeout(timeout: unknown, field: string, report: Report): number {
  return timeout === undefined
    ? DEFAULT_GATE_TIMEOUT_MS
    : duration(timeout, `${field}.timeout`, 1, MAX_GATE_TIMEOUT_MS, report);
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/**
 * Milliseconds from a whole number of milliseconds or a string like `60s`, `5m`, `1m30s`,
 * `500ms` (units ms, s, m, h, as Argo Rollouts and Flagger write them).
 */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return isInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string' || value === '') return undefined;
  let total = 0;
  DURATION_PART.lastIndex = 0;
  while (DURATION_PART.lastIndex < value.length) {
    const match = DURATION_PART.exec(value);
    if (!match) return undefined;
    total += Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  }
  return Math.round(total);
}

function duration(
  value: unknown,
  field: string,
  minMs: number,
  maxMs: number,
  report: Report,
): number {
  const ms = parseDuration(value);
  if (ms === undefined) {
    report(
      field,
      `must be a duration like "60s", "5m", "1m30s" or milliseconds, got ${json(value)}`,
    );
    return 0;
  }
  if (ms < minMs || ms > maxMs) {
    report(field, `must be from ${minMs} ms to ${maxMs / 60_000} minutes, got ${ms} ms`);
  }
  return ms;
}

function name(value: unknown, field: string, report: Report): string {
  if (typeof value !== 'string' || value.length < 1 || value.length > MAX_NAME_LENGTH) {
    report(field, `must be a name of 1 to ${MAX_NAME_LENGTH} characters, got ${json(value)}`);
    return '';
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// Weights on the route.

const ROUTE_TYPES = ['httpRoute', 'http2Route', 'grpcRoute', 'tcpRoute'] as const;

/** The weighted targets of a route spec, whatever its type. */
export function weightedTargetsOf(spec: RouteSpec): WeightedTarget[] {
  for (const type of ROUTE_TYPES) {
    const route = spec[type];
    if (route) return route.action.weightedTargets;
  }
  return [];
}

/** Virtual node → weight. */
export type Weights = Record<string, number>;

export function weightsOf(targets: readonly WeightedTarget[]): Weights {
  const weights = new Map<string, number>();
  for (const target of targets)
    weights.set(target.virtualNode, (weights.get(target.virtualNode) ?? 0) + target.weight);
  // From entries, so a virtual node named like an Object.prototype member is an own key.
  return Object.fromEntries(weights);
}

/**
 * Why a route cannot be rolled out from `from` to `to`, or undefined when it can: a rollout
 * owns the split between the two, so the route must target nothing else, `from` must be one of
 * its targets, and each virtual node may be targeted once (one port).
 */
export function rolloutRouteProblem(
  targets: readonly WeightedTarget[],
  from: string,
  to: string,
): string | undefined {
  if (!targets.some((t) => t.virtualNode === from)) {
    return `the route does not target ${from} (targets: ${targets.map((t) => t.virtualNode).join(', ')})`;
  }
  const others = targets.filter((t) => t.virtualNode !== from && t.virtualNode !== to);
  if (others.length > 0) {
    return `the route also targets ${others.map((t) => t.virtualNode).join(', ')}; a rollout moves traffic between two virtual nodes only`;
  }
  for (const node of [from, to]) {
    if (targets.filter((t) => t.virtualNode === node).length > 1) {
      return `the route targets ${node} more than once (several ports); change it with UpdateRoute`;
    }
  }
  return undefined;
}

/**
 * Why the first step would move traffic back from `to`, or undefined: `to` already having a
 * share of the route (weights are relative) above the first step means the rollout would
 * start by taking traffic away from it.
 */
export function firstStepProblem(
  targets: readonly WeightedTarget[],
  to: string,
  firstStep: number,
): string | undefined {
  const weights = weightsOf(targets);
  const total = Object.values(weights).reduce((sum, weight) => sum + weight, 0);
  const share = total === 0 ? 0 : (weightOf(weights, to) * 100) / total;
  if (firstStep >= share) return undefined;
  return `${to} already has ${Math.round(share * 100) / 100} % of the route's traffic; the first step (${firstStep}) must be at least that`;
}

/** The weights of a step: `weight` % to `to`, the rest to `from`. */
export function stepWeights(from: string, to: string, weight: number): Weights {
  return { [from]: 100 - weight, [to]: weight };
}

export function sameWeights(a: Weights, b: Weights): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((key) => weightOf(a, key) === weightOf(b, key));
}

/** A virtual node's weight; 0 when absent (never a lookup into Object.prototype). */
export function weightOf(weights: Weights, virtualNode: string): number {
  return Object.hasOwn(weights, virtualNode) ? (weights[virtualNode] ?? 0) : 0;
}

function isInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function json(value: unknown): string {
  return value === undefined ? 'nothing' : JSON.stringify(value);
}

// ---------------------------------------------------------------------------------------------
// Aborts and events.

/** Why a rollout stopped early and where it ends once its rollback (if any) is done. */
export interface RolloutAbort {
  reason: string;
  /** Who asked, for an abort through the API; absent when Trellis aborted on its own. */
  by?: string;
  /** Aborted: asked for, a NACK, a gate. Failed: Trellis could not carry the rollout out. */
  outcome: 'Aborted' | 'Failed';
  /** What happens to the weights: the rollout's `onAbort`, or `freeze` when the weights must stay. */
  rollback: OnAbort;
}

export type RolloutEventType =
  | 'Created'
  | 'WeightsSet'
  | 'Propagated'
  | 'GatePassed'
  | 'GateWaiting'
  | 'WaitingPromotion'
  | 'Paused'
  | 'Resumed'
  | 'Promoted'
  | 'Aborting'
  | 'RollbackPropagationTimedOut'
  | 'Succeeded'
  | 'Aborted'
  | 'Failed';

export interface RolloutEvent {
  at: Date;
  type: RolloutEventType;
  message: string;
  stepIndex?: number;
  weights?: Weights;
  /** The mesh revision the event's weights were written in. */
  revision?: number;
  actor?: string;
}
