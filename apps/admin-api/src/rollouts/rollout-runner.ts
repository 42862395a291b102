import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { BadRequestException, NotFoundException } from '../../../../libs/mesh-model/src/errors';
import { describeMissing, type ResourceId } from '../../../../libs/mesh-model/src/resource-kinds';
import {
  isMetricGate,
  sameWeights,
  weightedTargetsOf,
  weightsOf,
  type Weights,
} from '../../../../libs/mesh-model/src/rollout';
import {
  abort,
  describeStep,
  describeWeights,
  finish,
  gatesPassed,
  intervalElapsed,
  metricsInconclusive,
  metricsPassed,
  propagated,
  rollbackPropagated,
  start,
  weightsAtStep,
  weightsWritten,
  type Transition,
} from '../../../../libs/mesh-model/src/rollout-state';
import { weightedRouteSpec } from '../../../../libs/mesh-model/src/weighted-targets';
import {
  RolloutStore,
  type RolloutTransaction,
  type StoredRollout,
} from '../../../../libs/persistence/src/rollout-store';
import { ADMIN_API_OPTIONS, type AdminApiOptions } from '../admin-api.options';
import { type Propagation, PropagationService } from '../proxies/propagation.service';
import { callGate, checkMetricGate, type GatePayload } from './rollout-gates';
import { ResourceWrites } from '../resource-writes';

export const ROLLOUT_LOGGER = Symbol('RolloutLogger');

/** How long a step without enough traffic to judge waits before the metric gates are asked again, at most. */
const METRICS_RETRY_MAX_MS = 30_000;

type Step = (
  current: StoredRollout,
  tx: RolloutTransaction,
  now: Date,
) => Transition<StoredRollout> | Promise<Transition<StoredRollout>>;

/**
 * Takes a rollout one phase further when it is due: writes a step's weights, checks their
 * propagation, calls the gates, ends an interval. The slow parts (propagation reads, gate
 * calls) run without locks; their outcome is applied only if the rollout did not change
 * meanwhile (a pause, a promote, an abort, or another scheduler), so a late answer never
 * overrides a newer decision.
 */
@Injectable()
export class RolloutRunner {
  constructor(
    private readonly store: RolloutStore,
    private readonly propagation: PropagationService,
    private readonly writes: ResourceWrites,
    @Inject(ADMIN_API_OPTIONS) private readonly options: AdminApiOptions,
    @Inject(ROLLOUT_LOGGER) private readonly logger: Logger,
  ) {}

  /** `cancel`: the process is stopping; a gate call in flight ends and changes nothing. */
  async advance(id: string, cancel: AbortSignal = new AbortController().signal): Promise<void> {
    const rollout = await this.store.get(id);
    if (!rollout) return;
    switch (rollout.state) {
      case 'Pending':
        await this.apply(rollout, (current, _tx, now) => start(current, now));
        return;
      case 'Progressing':
      case 'Aborting':
        await this.advancePhase(rollout, cancel);
        return;
      case 'Paused':
      case 'WaitingPromotion':
      case 'Succeeded':
      case 'Aborted':
      case 'Failed':
        return;
    }
  }

  private async advancePhase(rollout: StoredRollout, cancel: AbortSignal): Promise<void> {
    switch (rollout.phase) {
      case 'SettingWeights':
        return this.setWeights(rollout);
      case 'Propagating':
        return this.checkPropagation(rollout);
      case 'CheckingGates':
        return this.checkGates(rollout, cancel);
      case 'Waiting':
        if (rollout.waitUntil && Date.now() < rollout.waitUntil.getTime()) return;
        await this.apply(rollout, (current, _tx, now) => intervalElapsed(current, now));
        return;
      case 'CheckingMetrics':
        if (rollout.waitUntil && Date.now() < rollout.waitUntil.getTime()) return;
        return this.checkMetrics(rollout, cancel);
      case null:
        return;
    }
  }

  private async setWeights(rollout: StoredRollout): Promise<void> {
    try {
      await this.apply(rollout, async (current, tx, now) => {
        const written = await this.writeWeights(tx, current);
        if ('drifted' in written) {
          return abort(
            current,
            {
              reason: `the route's weights were changed outside the rollout (${describeWeights(written.drifted)}, expected ${describeWeights(current.weights)})`,
              outcome: 'Failed',
              rollback: 'freeze',
            },
            now,
          );
        }
        return weightsWritten(current, written.revision, written.changed, now);
      });
    } catch (error) {
      // The route, a target or the mesh is gone, or the weights are not valid App Mesh any more:
      // retrying cannot help. Anything else (Postgres away) is retried on the next tick.
      if (!(error instanceof NotFoundException || error instanceof BadRequestException))
        throw error;
      await this.apply(rollout, (current, _tx, now) =>
        current.state === 'Aborting'
          ? finish(
              current,
              current.abort?.outcome ?? 'Failed',
              now,
              `${current.abort?.reason ?? 'aborted'}; the rollback could not set ${describeStep(current, current.stepIndex)}: ${error.message}`,
            )
          : abort(
              current,
              {
                reason: `${describeStep(current, current.stepIndex)} could not be set: ${error.message}`,
                outcome: 'Failed',
                rollback: current.plan.onAbort,
              },
              now,
            ),
      );
    }
  }

  /**
   * Puts the current step's weights on the route, in the rollout's transaction, as an
   * UpdateRoute would: version +1, references, change log (with the rollout's id), NOTIFY.
   * Weights already in place are not written again. While Progressing, weights that differ
   * from what the rollout last set mean someone else changed the route: reported, not written.
   */
  private async writeWeights(
    tx: RolloutTransaction,
    rollout: StoredRollout,
  ): Promise<{ revision: number; changed: boolean } | { drifted: Weights }> {
    const routeId: ResourceId = {
      meshName: rollout.meshName,
      kind: 'route',
      parentName: rollout.virtualRouter,
      name: rollout.route,
    };
    const wanted = weightsAtStep(rollout, rollout.stepIndex);
    const targets =
      rollout.stepIndex < 0
        ? rollout.originalTargets.map(({ virtualNode, weight }) => ({ virtualNode, weight }))
        : Object.entries(wanted).map(([virtualNode, weight]) => ({ virtualNode, weight }));
    let drifted: Weights | undefined;
    const written = await this.writes.update(tx.mesh, {
      id: routeId,
      expectedReferences: targets.map(({ virtualNode }) => ({
        meshName: rollout.meshName,
        kind: 'virtualNode',
        parentName: '',
        name: virtualNode,
      })),
      next: (current) => {
        const found = weightsOf(weightedTargetsOf(current.spec));
        if (rollout.state === 'Progressing' && !sameWeights(found, rollout.weights)) {
          drifted = found;
          return undefined;
        }
        if (sameWeights(found, wanted)) return undefined;
        return { spec: weightedRouteSpec(routeId, current.spec, targets) };
      },
      change: {
        operation: 'UPDATE',
        actor: (rollout.state === 'Aborting' ? rollout.abort?.by : undefined) ?? rollout.createdBy,
        // A rollback says why, so the mesh's history (`trellis history`) shows a gate's measurement.
        reason:
          rollout.state === 'Aborting'
            ? `rollout rollback to ${describeStep(rollout, rollout.stepIndex)}: ${rollout.abort?.reason ?? 'aborted'}`
            : `rollout ${describeStep(rollout, rollout.stepIndex)}`,
        rolloutId: rollout.id,
      },
      problems: {
        missingReference: (_route, _reference, target) =>
          new NotFoundException(describeMissing(target, this.options.accountId)),
      },
    });
    if (drifted) return { drifted };
    return { revision: written.revision, changed: written.changed };
  }

  /**
   * Progressing: every connected proxy must acknowledge the step's revision; a rejection of it
   * aborts, and the propagation timeout fails the rollout. Aborting: proxies that rejected the
   * rollback are not waited for, and at the timeout the rollback goes on regardless.
   */
  private async checkPropagation(rollout: StoredRollout): Promise<void> {
    const revision = rollout.revision ?? 0;
    let propagation: Propagation;
    try {
      propagation = await this.propagation.propagation(rollout.meshName, revision);
    } catch (error) {
      if (!(error instanceof NotFoundException)) throw error;
      // The mesh is gone (its routes were deleted first): nothing is left to roll out or back.
      await this.apply(rollout, (current, _tx, now) =>
        finish(
          {
            ...current,
            abort: current.abort ?? {
              reason: error.message,
              outcome: 'Failed',
              rollback: 'freeze',
            },
          },
          'Failed',
          now,
          error.message,
        ),
      );
      return;
    }
    const rejections = propagation.nacked.filter((nack) => (nack.revision ?? -1) >= revision);
    const timedOut =
      Date.now() - rollout.phaseStartedAt.getTime() > rollout.plan.propagationTimeoutMs;
    const waitingFor = (nodes: Array<{ node: string }>) =>
      [...new Set(nodes.map((proxy) => proxy.node))].join(', ');
    if (rollout.state === 'Progressing') {
      const [rejection] = rejections;
      if (rejection) {
        await this.apply(rollout, (current, _tx, now) =>
          abort(
            current,
            {
              reason:
                `proxy ${rejection.node} rejected the ${rejection.type} configuration of revision ${rejection.revision}: ${rejection.message}` +
                (rejections.length > 1 ? ` (and ${rejections.length - 1} more rejections)` : ''),
              outcome: 'Aborted',
              rollback: current.plan.onAbort,
            },
            now,
          ),
        );
      } else if (propagation.pending.length === 0) {
        await this.apply(rollout, (current, _tx, now) =>
          propagated(current, propagation.acked, propagation.proxies, now),
        );
      } else if (timedOut) {
        await this.apply(rollout, (current, _tx, now) =>
          abort(
            current,
            {
              reason: `the proxies did not acknowledge revision ${revision} within ${rollout.plan.propagationTimeoutMs} ms (${propagation.acked} of ${propagation.proxies} did; waiting for ${waitingFor(propagation.pending)})`,
              outcome: 'Failed',
              rollback: current.plan.onAbort,
            },
            now,
          ),
        );
      }
      return;
    }
    const rejected = new Set(rejections.map((nack) => nack.node));
    const pending = propagation.pending.filter((proxy) => !rejected.has(proxy.node));
    if (pending.length === 0) {
      await this.apply(rollout, (current, _tx, now) =>
        propagated(current, propagation.acked, propagation.proxies, now),
      );
    } else if (timedOut) {
      await this.apply(rollout, (current, _tx, now) => {
        const next = rollbackPropagated(current, now);
        return {
          rollout: next.rollout,
          events: [
            {
              at: now,
              type: 'RollbackPropagationTimedOut',
              message: `the proxies did not acknowledge revision ${revision} of the rollback within ${rollout.plan.propagationTimeoutMs} ms (waiting for ${waitingFor(pending)}); going on`,
              stepIndex: current.stepIndex,
              revision,
            },
            ...next.events,
          ],
        };
      });
    }
  }

  /** Calls the webhooks in order; the first that does not pass aborts the rollout. */
  private async checkGates(rollout: StoredRollout, cancel: AbortSignal): Promise<void> {
    const weight = rollout.plan.steps[rollout.stepIndex] ?? 0;
    const payload: GatePayload = {
      rollout: {
        id: rollout.id,
        meshName: rollout.meshName,
        route: { virtualRouter: rollout.virtualRouter, route: rollout.route },
        from: rollout.from,
        to: rollout.to,
      },
      step: { number: rollout.stepIndex + 1, of: rollout.plan.steps.length, weight },
      weights: rollout.weights,
      revision: rollout.revision ?? 0,
    };
    const passed: string[] = [];
    for (const gate of rollout.plan.gates) {
      if (gate.kind !== 'webhook') continue;
      const result = await callGate(gate, payload, cancel);
      // Stopping: the phase stays CheckingGates, and whoever runs the scheduler next calls again.
      if (cancel.aborted) return;
      if (!result.passed) {
        await this.abortForGate(rollout, result.message);
        return;
      }
      passed.push(result.message);
    }
    await this.apply(rollout, (current, _tx, now) => gatesPassed(current, passed, now));
  }

  /**
   * At the end of a step's interval, asks Prometheus about the traffic to `to` since the step's
   * weights were acknowledged, gate by gate: the first that fails aborts the rollout; one
   * without enough traffic holds the step and everything is asked again a little later.
   */
  private async checkMetrics(rollout: StoredRollout, cancel: AbortSignal): Promise<void> {
    const window = {
      meshName: rollout.meshName,
      virtualRouter: rollout.virtualRouter,
      route: rollout.route,
      from: rollout.from,
      to: rollout.to,
      step: rollout.stepIndex + 1,
      weight: rollout.plan.steps[rollout.stepIndex] ?? 0,
      windowMs: Date.now() - rollout.phaseStartedAt.getTime(),
    };
    const passed: string[] = [];
    for (const gate of rollout.plan.gates.filter(isMetricGate)) {
      const result = await checkMetricGate(gate, window, cancel);
      // Stopping: the phase stays CheckingMetrics, and whoever runs the scheduler next asks again.
      if (cancel.aborted) return;
      switch (result.outcome) {
        case 'passed':
          passed.push(result.message);
          continue;
        case 'failed':
          await this.abortForGate(rollout, result.message);
          return;
        case 'inconclusive': {
          const retryMs = Math.min(rollout.plan.intervalMs, METRICS_RETRY_MAX_MS);
          await this.apply(rollout, (current, _tx, now) =>
            metricsInconclusive(current, result.message, new Date(now.getTime() + retryMs), now),
          );
          return;
        }
      }
    }
    await this.apply(rollout, (current, _tx, now) => metricsPassed(current, passed, now));
  }

  /** A gate said no: the rollout is Aborted (not Failed: it did what it was told) and rolls back. */
  private abortForGate(rollout: StoredRollout, reason: string): Promise<void> {
    return this.apply(rollout, (current, _tx, now) =>
      abort(current, { reason, outcome: 'Aborted', rollback: current.plan.onAbort }, now),
    );
  }

  /**
   * Applies a step to the rollout as `seen` — with the mesh and then the rollout locked (the
   * order every rollout transaction takes), and only if nothing changed it since it was read.
   */
  private async apply(seen: StoredRollout, step: Step): Promise<void> {
    const applied = await this.store.write(seen.meshName, async (tx) => {
      await tx.mesh.lockMesh(seen.meshName);
      const current = await tx.lock(seen.id);
      if (!current || current.seq !== seen.seq) return undefined;
      const transition = await step(current, tx, new Date());
      const saved = await tx.save(transition.rollout);
      for (const event of transition.events) await tx.addEvent(saved.id, event);
      return { rollout: saved, events: transition.events };
    });
    for (const event of applied?.events ?? []) {
      this.logger.info(
        {
          mesh: seen.meshName,
          rollout: seen.id,
          state: applied?.rollout.state,
          step: event.stepIndex,
          revision: event.revision,
          event: event.type,
        },
        `rollout ${event.type}: ${event.message}`,
      );
    }
  }
}
