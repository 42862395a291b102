import { ConflictException } from './errors';
import { parseRolloutRequest, type OnAbort } from './rollout';
import {
  abort,
  abortByUser,
  gatesPassed,
  intervalElapsed,
  metricsInconclusive,
  metricsPassed,
  pause,
  promote,
  propagated,
  resume,
  start,
  weightsWritten,
  type Rollout,
} from './rollout-state';

const T0 = new Date('2026-01-01T00:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);

function rollout(request: Record<string, unknown> = {}): Rollout {
  const { plan } = parseRolloutRequest({
    route: { virtualRouter: 'api', route: 'canary' },
    from: 'blue',
    to: 'green',
    steps: [10, 50, 100],
    interval: '1m',
    ...request,
  });
  return {
    id: 'r1',
    meshName: 'demo',
    virtualRouter: 'api',
    route: 'canary',
    from: 'blue',
    to: 'green',
    plan,
    originalTargets: [{ virtualNode: 'blue', weight: 100 }],
    state: 'Pending',
    phase: null,
    stepIndex: -1,
    writtenStep: null,
    weights: { blue: 100 },
    revision: null,
    phaseStartedAt: T0,
    waitUntil: null,
    pausedAt: null,
    pausedFrom: null,
    abort: null,
    createdBy: 'AKID',
    createdAt: T0,
    updatedAt: T0,
    finishedAt: null,
  };
}

/** Runs a step through weights, propagation and gates, returning the rollout holding in Waiting. */
function throughStep(current: Rollout, revision: number, now: Date): Rollout {
  const written = weightsWritten(current, revision, true, now).rollout;
  return propagated(written, 1, 1, now).rollout;
}

describe('the rollout state machine', () => {
  it('goes step by step: weights, propagation, interval, and succeeds after the last step', () => {
    let current = start(rollout(), T0).rollout;
    expect(current).toMatchObject({ state: 'Progressing', stepIndex: 0, phase: 'SettingWeights' });
    current = throughStep(current, 7, T0);
    expect(current).toMatchObject({
      phase: 'Waiting',
      writtenStep: 0,
      weights: { blue: 90, green: 10 },
      revision: 7,
      waitUntil: at(60_000),
    });
    current = intervalElapsed(current, at(60_000)).rollout;
    expect(current).toMatchObject({ stepIndex: 1, phase: 'SettingWeights' });
    current = throughStep(
      intervalElapsed(throughStep(current, 8, at(60_000)), at(120_000)).rollout,
      9,
      at(120_000),
    );
    expect(current).toMatchObject({
      state: 'Succeeded',
      phase: null,
      weights: { blue: 0, green: 100 },
      finishedAt: at(120_000),
    });
  });

  it('calls the gates before the interval when there are some', () => {
    const withGates = start(rollout({ gates: [{ url: 'http://gate' }] }), T0).rollout;
    const checking = propagated(weightsWritten(withGates, 3, true, T0).rollout, 2, 2, T0).rollout;
    expect(checking.phase).toBe('CheckingGates');
    const passed = gatesPassed(checking, ['gate http://gate answered 200 in 3 ms'], at(10));
    expect(passed.rollout).toMatchObject({ phase: 'Waiting', waitUntil: at(60_010) });
    expect(passed.events.map((event) => event.type)).toEqual(['GatePassed']);
  });

  it('asks the metric gates at the end of the interval, over the time since the step went live', () => {
    const gates = [{ successRate: { address: 'http://prometheus:9090', min: 99 } }];
    const live = throughStep(start(rollout({ gates }), T0).rollout, 3, at(5));
    expect(live).toMatchObject({ phase: 'Waiting', phaseStartedAt: at(5) });
    const checking = intervalElapsed(live, at(60_005)).rollout;
    expect(checking).toMatchObject({ phase: 'CheckingMetrics', stepIndex: 0, waitUntil: null });
    expect(checking.phaseStartedAt).toEqual(at(5));

    const quiet = metricsInconclusive(checking, 'too few requests', at(90_000), at(60_010));
    expect(quiet.rollout).toMatchObject({ phase: 'CheckingMetrics', waitUntil: at(90_000) });
    expect(quiet.events).toMatchObject([
      { type: 'GateWaiting', message: 'too few requests; waiting' },
    ]);
    // Asking again without enough traffic is no new event.
    expect(metricsInconclusive(quiet.rollout, 'too few', at(120_000), at(90_000)).events).toEqual(
      [],
    );

    const passed = metricsPassed(quiet.rollout, ['success rate 99.9 %'], at(90_000));
    expect(passed.rollout).toMatchObject({
      phase: 'SettingWeights',
      stepIndex: 1,
      waitUntil: null,
    });
    expect(passed.events).toMatchObject([{ type: 'GatePassed', message: 'success rate 99.9 %' }]);
  });

  it('waits for promotion before the last step when asked to', () => {
    let current = throughStep(start(rollout({ requirePromotion: true }), T0).rollout, 1, T0);
    current = throughStep(intervalElapsed(current, at(60_000)).rollout, 2, at(60_000));
    current = intervalElapsed(current, at(120_000)).rollout;
    expect(current).toMatchObject({ state: 'WaitingPromotion', stepIndex: 2, phase: null });
    expect(() => resume(current, 'AKID', at(130_000))).toThrow(ConflictException);
    expect(promote(current, 'AKID', at(130_000)).rollout).toMatchObject({
      state: 'Progressing',
      stepIndex: 2,
      phase: 'SettingWeights',
    });
  });

  it('stops the clock while paused: the interval goes on where it was after resume', () => {
    const waiting = throughStep(start(rollout(), T0).rollout, 1, T0);
    const paused = pause(waiting, 'AKID', at(20_000)).rollout;
    expect(paused).toMatchObject({ state: 'Paused', pausedFrom: 'Progressing' });
    expect(pause(paused, 'AKID', at(25_000)).events).toEqual([]);
    const resumed = resume(paused, 'AKID', at(50_000)).rollout;
    expect(resumed).toMatchObject({
      state: 'Progressing',
      phase: 'Waiting',
      waitUntil: at(90_000),
      pausedAt: null,
    });
  });

  it('promotes to the last step from wherever it is, and refuses once finished', () => {
    const waiting = throughStep(start(rollout(), T0).rollout, 1, T0);
    const promoted = promote(pause(waiting, 'AKID', at(1)).rollout, 'AKID', at(2));
    expect(promoted.rollout).toMatchObject({
      state: 'Progressing',
      stepIndex: 2,
      phase: 'SettingWeights',
    });
    expect(promoted.events[0]).toMatchObject({ type: 'Promoted', actor: 'AKID' });
    const done = throughStep(promoted.rollout, 2, at(3));
    expect(done.state).toBe('Succeeded');
    expect(() => promote(done, 'AKID', at(4))).toThrow(ConflictException);
    expect(() => abortByUser(done, 'AKID', undefined, at(4))).toThrow(ConflictException);
  });

  it.each<[OnAbort, string, number | null]>([
    ['instant', 'Aborting', -1],
    ['stepped', 'Aborting', 0],
    ['freeze', 'Aborted', null],
  ])('aborts in step 2 with %s', (onAbort, state, nextStep) => {
    let current = throughStep(start(rollout({ onAbort }), T0).rollout, 1, T0);
    current = weightsWritten(
      intervalElapsed(current, at(60_000)).rollout,
      2,
      true,
      at(60_000),
    ).rollout;
    const aborted = abortByUser(current, 'AKID', 'bad canary', at(61_000)).rollout;
    expect(aborted.state).toBe(state);
    expect(aborted.abort).toEqual({
      reason: 'aborted by AKID: bad canary',
      by: 'AKID',
      outcome: 'Aborted',
      rollback: onAbort,
    });
    if (nextStep === null) {
      expect(aborted).toMatchObject({ weights: { blue: 50, green: 50 }, finishedAt: at(61_000) });
    } else {
      expect(aborted).toMatchObject({ stepIndex: nextStep, phase: 'SettingWeights' });
    }
  });

  it('walks a stepped rollback down with the interval between steps, then ends Aborted', () => {
    let current = throughStep(start(rollout({ onAbort: 'stepped' }), T0).rollout, 1, T0);
    current = weightsWritten(
      intervalElapsed(current, at(60_000)).rollout,
      2,
      true,
      at(60_000),
    ).rollout;
    current = abort(
      current,
      { reason: 'gate', outcome: 'Aborted', rollback: 'stepped' },
      at(61_000),
    ).rollout;
    current = throughStep(current, 3, at(61_000));
    expect(current).toMatchObject({
      state: 'Aborting',
      weights: { blue: 90, green: 10 },
      waitUntil: at(121_000),
    });
    current = intervalElapsed(current, at(121_000)).rollout;
    expect(current).toMatchObject({ stepIndex: -1, phase: 'SettingWeights' });
    current = throughStep(current, 4, at(121_000));
    expect(current).toMatchObject({ state: 'Aborted', weights: { blue: 100 }, revision: 4 });
  });

  it('ends at once when aborted before any weights were written', () => {
    const aborted = abortByUser(rollout(), 'AKID', undefined, T0);
    expect(aborted.rollout.state).toBe('Aborted');
    expect(aborted.events.map((event) => event.type)).toEqual(['Aborted']);
  });
});
