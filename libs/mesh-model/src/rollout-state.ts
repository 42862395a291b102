import { ConflictException } from './errors';
import {
  isFinal,
  isMetricGate,
  stepWeights,
  weightsOf,
  type RolloutAbort,
  type RolloutEvent,
  type RolloutPhase,
  type RolloutPlan,
  type RolloutState,
  type Weights,
} from './rollout';
import type { WeightedTarget } from './validation';

/**
 * The rollout state machine as pure functions: each takes a rollout and the time, and returns
 * the rollout after the transition with the events it records. The scheduler does the I/O
 * (weights, propagation, gates) and calls these; so does the API for pause, resume, promote
 * and abort. docs/rollouts.md draws the machine.
 */

/** A rollout: its request, and where it is, so any replica can continue it after a restart. */
export interface Rollout {
  id: string;
  meshName: string;
  virtualRouter: string;
  route: string;
  from: string;
  to: string;
  plan: RolloutPlan;
  /** The route's weighted targets when the rollout was created: what a rollback restores. */
  originalTargets: WeightedTarget[];
  state: RolloutState;
  /** Where the current step is; null in Pending, WaitingPromotion and the final states. */
  phase: RolloutPhase | null;
  /** The step being worked on; -1 stands for the original weights (the end of a rollback). */
  stepIndex: number;
  /** The step whose weights the rollout last wrote (-1: the original ones); null before any. */
  writtenStep: number | null;
  /** The weights the route has by the rollout's doing: the original ones before the first step. */
  weights: Weights;
  /** The mesh revision of the weights last written (or found in place). */
  revision: number | null;
  /** When the current phase began; the propagation timeout counts from here. */
  phaseStartedAt: Date;
  /** The end of the interval, in phase Waiting. */
  waitUntil: Date | null;
  pausedAt: Date | null;
  /** The state a paused rollout resumes to. */
  pausedFrom: RolloutState | null;
  abort: RolloutAbort | null;
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

export interface Transition<R extends Rollout = Rollout> {
  rollout: R;
  events: RolloutEvent[];
}

/** The rollout's last step: the one at 100 %. */
export function lastStep(rollout: Rollout): number {
  return rollout.plan.steps.length - 1;
}

/** The weights a step sets; step -1 is the route's original weights. */
export function weightsAtStep(rollout: Rollout, stepIndex: number): Weights {
  const weight = rollout.plan.steps[stepIndex];
  return weight === undefined
    ? weightsOf(rollout.originalTargets)
    : stepWeights(rollout.from, rollout.to, weight);
}

/** "step 2/3 (green 50 %)". */
export function describeStep(rollout: Rollout, stepIndex: number): string {
  const weight = rollout.plan.steps[stepIndex];
  return weight === undefined
    ? 'the original weights'
    : `step ${stepIndex + 1}/${rollout.plan.steps.length} (${rollout.to} ${weight} %)`;
}

/** "blue 90 %, green 10 %". */
export function describeWeights(weights: Weights): string {
  return Object.entries(weights)
    .map(([node, weight]) => `${node} ${weight} %`)
    .join(', ');
}

/** Pending → the first step, or WaitingPromotion when that step is the last and needs promotion. */
export function start<R extends Rollout>(rollout: R, now: Date): Transition<R> {
  return nextStep(rollout, 0, now);
}

/** A step's weights are on the route in `revision`: wait for the proxies. */
export function weightsWritten<R extends Rollout>(
  rollout: R,
  revision: number,
  changed: boolean,
  now: Date,
): Transition<R> {
  const weights = weightsAtStep(rollout, rollout.stepIndex);
  const rollback = rollout.state === 'Aborting' ? 'rollback to ' : '';
  return {
    rollout: {
      ...rollout,
      phase: 'Propagating',
      writtenStep: rollout.stepIndex,
      weights,
      revision,
      phaseStartedAt: now,
    },
    events: [
      event(now, 'WeightsSet', {
        message: changed
          ? `${rollback}${describeStep(rollout, rollout.stepIndex)}: ${describeWeights(weights)} in revision ${revision}`
          : `${rollback}${describeStep(rollout, rollout.stepIndex)}: ${describeWeights(weights)} already in place at revision ${revision}`,
        stepIndex: rollout.stepIndex,
        weights,
        revision,
      }),
    ],
  };
}

/**
 * The proxies acknowledged the step (`acked` of `proxies` connected; while Aborting, those that
 * rejected it are not waited for): call the gates, or go on when there are none.
 */
export function propagated<R extends Rollout>(
  rollout: R,
  acked: number,
  proxies: number,
  now: Date,
): Transition<R> {
  const acknowledged = event(now, 'Propagated', {
    message:
      proxies === 0
        ? `revision ${rollout.revision}: no proxy of the mesh is connected`
        : `revision ${rollout.revision} acknowledged by ${acked} of ${proxies} connected proxies`,
    stepIndex: rollout.stepIndex,
    revision: rollout.revision ?? undefined,
  });
  if (rollout.state === 'Aborting') {
    const done = rollbackPropagated(rollout, now);
    return { rollout: done.rollout, events: [acknowledged, ...done.events] };
  }
  if (rollout.plan.gates.some((gate) => gate.kind === 'webhook')) {
    return {
      rollout: { ...rollout, phase: 'CheckingGates', phaseStartedAt: now },
      events: [acknowledged],
    };
  }
  const passed = gatesPassed(rollout, [], now);
  return { rollout: passed.rollout, events: [acknowledged, ...passed.events] };
}

/**
 * While Aborting, the proxies took a step back (or stopped answering within the timeout):
 * hold for the interval before the next step back, or finish after the original weights.
 */
export function rollbackPropagated<R extends Rollout>(rollout: R, now: Date): Transition<R> {
  if (rollout.stepIndex < 0) return finish(rollout, rollout.abort?.outcome ?? 'Aborted', now);
  return {
    rollout: {
      ...rollout,
      phase: 'Waiting',
      phaseStartedAt: now,
      waitUntil: new Date(now.getTime() + rollout.plan.intervalMs),
    },
    events: [],
  };
}

/** The webhooks answered 2xx (`results` describes each): hold for the interval, or succeed after the last step. */
export function gatesPassed<R extends Rollout>(
  rollout: R,
  results: string[],
  now: Date,
): Transition<R> {
  const events = results.map((message) =>
    event(now, 'GatePassed', { message, stepIndex: rollout.stepIndex }),
  );
  if (rollout.stepIndex >= lastStep(rollout)) {
    const done = finish(rollout, 'Succeeded', now);
    return { rollout: done.rollout, events: [...events, ...done.events] };
  }
  return {
    rollout: {
      ...rollout,
      phase: 'Waiting',
      phaseStartedAt: now,
      waitUntil: new Date(now.getTime() + rollout.plan.intervalMs),
    },
    events,
  };
}

/**
 * The interval is over: the metric gates judge it, or the next step comes (while Aborting, the
 * next step back). CheckingMetrics keeps the phase's start: the window measured runs from there.
 */
export function intervalElapsed<R extends Rollout>(rollout: R, now: Date): Transition<R> {
  if (rollout.state === 'Aborting') {
    return {
      rollout: { ...settingWeights(rollout, now), stepIndex: rollout.stepIndex - 1 },
      events: [],
    };
  }
  if (rollout.plan.gates.some(isMetricGate)) {
    return { rollout: { ...rollout, phase: 'CheckingMetrics', waitUntil: null }, events: [] };
  }
  return nextStep(rollout, rollout.stepIndex + 1, now);
}

/** Every metric gate passed (`results` says what each measured): the next step. */
export function metricsPassed<R extends Rollout>(
  rollout: R,
  results: string[],
  now: Date,
): Transition<R> {
  const next = nextStep(rollout, rollout.stepIndex + 1, now);
  const events = results.map((message) =>
    event(now, 'GatePassed', { message, stepIndex: rollout.stepIndex }),
  );
  return { rollout: next.rollout, events: [...events, ...next.events] };
}

/**
 * A metric gate saw too little traffic to judge (`reason`): the step holds and the gates are
 * asked again at `retryAt`, over a window that keeps growing. Only the first wait of a step is
 * an event, so a quiet service does not fill the history.
 */
export function metricsInconclusive<R extends Rollout>(
  rollout: R,
  reason: string,
  retryAt: Date,
  now: Date,
): Transition<R> {
  const first = rollout.waitUntil === null;
  return {
    rollout: { ...rollout, waitUntil: retryAt },
    events: first
      ? [event(now, 'GateWaiting', { message: `${reason}; waiting`, stepIndex: rollout.stepIndex })]
      : [],
  };
}

function nextStep<R extends Rollout>(rollout: R, stepIndex: number, now: Date): Transition<R> {
  if (rollout.plan.requirePromotion && stepIndex === lastStep(rollout)) {
    return {
      rollout: {
        ...rollout,
        state: 'WaitingPromotion',
        phase: null,
        stepIndex,
        waitUntil: null,
        phaseStartedAt: now,
      },
      events: [
        event(now, 'WaitingPromotion', {
          message: `waiting for promote before ${describeStep(rollout, stepIndex)}`,
          stepIndex,
        }),
      ],
    };
  }
  return {
    rollout: { ...settingWeights(rollout, now), state: 'Progressing', stepIndex },
    events: [],
  };
}

function settingWeights<R extends Rollout>(rollout: R, now: Date): R {
  return { ...rollout, phase: 'SettingWeights', phaseStartedAt: now, waitUntil: null };
}

/**
 * Stops the rollout early. The weights stay where they are with `freeze` (or when none were
 * written yet); otherwise the rollout is Aborting until the rollback is done.
 */
export function abort<R extends Rollout>(
  rollout: R,
  reason: RolloutAbort,
  now: Date,
): Transition<R> {
  const withAbort: R = { ...rollout, abort: reason, pausedAt: null, pausedFrom: null };
  if (reason.rollback === 'freeze' || rollout.writtenStep === null || rollout.writtenStep < 0) {
    return finish(
      withAbort,
      reason.outcome,
      now,
      `${reason.reason}; the weights stay at ${describeWeights(rollout.weights)}`,
    );
  }
  const stepIndex = reason.rollback === 'instant' ? -1 : rollout.writtenStep - 1;
  return {
    rollout: { ...settingWeights(withAbort, now), state: 'Aborting', stepIndex },
    events: [
      event(now, 'Aborting', {
        message: `${reason.reason}; ${reason.rollback === 'instant' ? 'restoring the original weights' : 'stepping back through the steps'}`,
        stepIndex: rollout.stepIndex,
        actor: reason.by,
      }),
    ],
  };
}

export function finish<R extends Rollout>(
  rollout: R,
  state: 'Succeeded' | 'Aborted' | 'Failed',
  now: Date,
  message?: string,
): Transition<R> {
  return {
    rollout: {
      ...rollout,
      state,
      phase: null,
      waitUntil: null,
      pausedAt: null,
      pausedFrom: null,
      finishedAt: now,
    },
    events: [
      event(now, state, {
        message:
          message ??
          (state === 'Succeeded'
            ? `all traffic on ${rollout.to}`
            : `${rollout.abort?.reason ?? 'stopped'}; the weights are ${describeWeights(rollout.weights)}`),
        revision: rollout.revision ?? undefined,
        weights: rollout.weights,
      }),
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// Actions through the API. Each refuses, with ConflictException, a state it does not apply to;
// repeating an action that already took effect changes nothing.

export function pause<R extends Rollout>(rollout: R, actor: string, now: Date): Transition<R> {
  if (rollout.state === 'Paused') return { rollout, events: [] };
  if (rollout.state !== 'Pending' && rollout.state !== 'Progressing') {
    throw new ConflictException(
      `Rollout ${rollout.id} is ${rollout.state}; only a Pending or Progressing rollout can be paused`,
    );
  }
  return {
    rollout: { ...rollout, state: 'Paused', pausedAt: now, pausedFrom: rollout.state },
    events: [event(now, 'Paused', { message: `paused by ${actor}`, actor })],
  };
}

/** Back to where it paused; the clock of the phase (interval, propagation timeout) stopped meanwhile. */
export function resume<R extends Rollout>(rollout: R, actor: string, now: Date): Transition<R> {
  if (rollout.state === 'Pending' || rollout.state === 'Progressing')
    return { rollout, events: [] };
  if (rollout.state !== 'Paused') {
    throw new ConflictException(
      `Rollout ${rollout.id} is ${rollout.state}; only a Paused rollout can be resumed` +
        (rollout.state === 'WaitingPromotion' ? ' (promote it to continue)' : ''),
    );
  }
  const pausedMs = now.getTime() - (rollout.pausedAt ?? now).getTime();
  const shift = (date: Date | null) => date && new Date(date.getTime() + pausedMs);
  return {
    rollout: {
      ...rollout,
      state: rollout.pausedFrom ?? 'Progressing',
      phaseStartedAt: shift(rollout.phaseStartedAt) ?? now,
      waitUntil: shift(rollout.waitUntil),
      pausedAt: null,
      pausedFrom: null,
    },
    events: [event(now, 'Resumed', { message: `resumed by ${actor}`, actor })],
  };
}

/** Skips the remaining steps and intervals: the last step (100 %) comes next, gates included. */
export function promote<R extends Rollout>(rollout: R, actor: string, now: Date): Transition<R> {
  const last = lastStep(rollout);
  if (rollout.state === 'Progressing' && rollout.stepIndex === last) return { rollout, events: [] };
  if (isFinal(rollout.state) || rollout.state === 'Aborting') {
    throw new ConflictException(`Rollout ${rollout.id} is ${rollout.state}; it cannot be promoted`);
  }
  return {
    rollout: {
      ...settingWeights(rollout, now),
      state: 'Progressing',
      stepIndex: last,
      pausedAt: null,
      pausedFrom: null,
    },
    events: [
      event(now, 'Promoted', {
        message: `promoted by ${actor}: ${describeStep(rollout, last)} next`,
        stepIndex: last,
        actor,
      }),
    ],
  };
}

export function abortByUser<R extends Rollout>(
  rollout: R,
  actor: string,
  reason: string | undefined,
  now: Date,
): Transition<R> {
  if (rollout.state === 'Aborting') return { rollout, events: [] };
  if (isFinal(rollout.state)) {
    throw new ConflictException(`Rollout ${rollout.id} is ${rollout.state}; it cannot be aborted`);
  }
  return abort(
    rollout,
    {
      reason: `aborted by ${actor}${reason ? `: ${reason}` : ''}`,
      by: actor,
      outcome: 'Aborted',
      rollback: rollout.plan.onAbort,
    },
    now,
  );
}

function event(
  at: Date,
  type: RolloutEvent['type'],
  fields: Omit<RolloutEvent, 'at' | 'type'>,
): RolloutEvent {
  return { at, type, ...fields };
}
