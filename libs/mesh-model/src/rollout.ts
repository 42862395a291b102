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
 * the proxies acknowledge them, then the gates are called, then the interval passes.
 */
export type RolloutPhase = 'SettingWeights' | 'Propagating' | 'CheckingGates' | 'Waiting';

export const ON_ABORT = ['instant', 'stepped', 'freeze'] as const;
export type OnAbort = (typeof ON_ABORT)[number];

export interface RolloutGate {
  url: string;
  timeoutMs: number;
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

function parseGates(gates: unknown, report: Report): RolloutGate[] {
  if (gates === undefined) return [];
  if (!Array.isArray(gates) || gates.length > MAX_GATES) {
    report('gates', `must be a list of at most ${MAX_GATES} {"url": "...", "timeout": "10s"}`);
    return [];
  }
  return gates.flatMap((gate: unknown, index): RolloutGate[] => {
    const field = `gates[${index}]`;
    if (!isRecord(gate)) {
      report(field, 'must be an object {"url": "...", "timeout": "10s"}');
      return [];
    }
    for (const key of Object.keys(gate)) {
      if (key !== 'url' && key !== 'timeout') report(`${field}.${key}`, 'unknown field');
    }
    const timeoutMs =
      gate.timeout === undefined
        ? DEFAULT_GATE_TIMEOUT_MS
        : duration(gate.timeout, `${field}.timeout`, 1, MAX_GATE_TIMEOUT_MS, report);
    if (typeof gate.url !== 'string' || gate.url.length > MAX_URL_LENGTH || !isHttpUrl(gate.url)) {
      report(`${field}.url`, `must be an http or https URL, got ${json(gate.url)}`);
      return [];
    }
    return [{ url: gate.url, timeoutMs }];
  });
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
