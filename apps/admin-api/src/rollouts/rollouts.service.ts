import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import {
  BadRequestException,
  ConflictException,
  NotFoundException,
} from '../../../../libs/mesh-model/src/errors';
import {
  describeMissing,
  meshId,
  type ResourceId,
} from '../../../../libs/mesh-model/src/resource-kinds';
import {
  firstStepProblem,
  parseRolloutRequest,
  rolloutRouteProblem,
  ROLLOUT_STATES,
  weightedTargetsOf,
  weightsOf,
  type RolloutAbort,
  type RolloutEvent,
  type RolloutGate,
  type RolloutPhase,
  type RolloutState,
  type Weights,
} from '../../../../libs/mesh-model/src/rollout';
import {
  abortByUser,
  describeWeights,
  pause,
  promote,
  resume,
  type Transition,
} from '../../../../libs/mesh-model/src/rollout-state';
import { MeshStore } from '../../../../libs/persistence/src/mesh-store';
import { RolloutStore, type StoredRollout } from '../../../../libs/persistence/src/rollout-store';
import { ADMIN_API_OPTIONS, type AdminApiOptions } from '../admin-api.options';
import { type Propagation, PropagationService } from '../proxies/propagation.service';
import { ROLLOUT_LOGGER } from './rollout-runner';

/** A rollout as the API answers it (docs/rollouts.md). */
export interface RolloutView {
  id: string;
  meshName: string;
  route: { virtualRouter: string; route: string };
  from: string;
  to: string;
  /** The weight of `to` at each step; the last is 100. */
  steps: number[];
  preset?: string;
  intervalMs: number;
  gates: RolloutGate[];
  onAbort: string;
  requirePromotion: boolean;
  propagationTimeoutMs: number;
  state: RolloutState;
  phase: RolloutPhase | null;
  /** The step being worked on, counted from 1; 0 before the first and for the original weights. */
  step: number;
  /** The weight of `to` at `step`; null at step 0. */
  stepWeight: number | null;
  /** The weights the rollout last set (the original ones before its first step). */
  weights: Weights;
  originalWeights: Weights;
  /** The mesh revision holding `weights`; null before the first step. */
  revision: number | null;
  /** When the interval of the current step ends, in phase Waiting. */
  waitUntil: string | null;
  abort: RolloutAbort | null;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
  /** Only on single-rollout answers: how far `revision` has reached the proxies. */
  propagation?: Propagation | null;
  events?: RolloutEventView[];
}

export interface RolloutEventView {
  time: string;
  type: RolloutEvent['type'];
  message: string;
  /** As `step` of the rollout: counted from 1, 0 for the original weights. */
  step?: number;
  weights?: Weights;
  revision?: number;
  actor?: string;
}

export type RolloutAction = 'pause' | 'resume' | 'promote' | 'abort';

const LIST_LIMIT = 100;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The rollouts API: create, read, and the actions; the scheduler does the rest. */
@Injectable()
export class RolloutsService {
  constructor(
    private readonly store: RolloutStore,
    private readonly meshes: MeshStore,
    private readonly propagation: PropagationService,
    @Inject(ADMIN_API_OPTIONS) private readonly options: AdminApiOptions,
    @Inject(ROLLOUT_LOGGER) private readonly logger: Logger,
  ) {}

  /**
   * Validates the request against the route as it is now and stores a Pending rollout. The
   * mesh lock serialises this with every write of the mesh, so two rollouts of one route
   * cannot both pass the check.
   */
  async create(meshName: string, body: unknown, actor: string): Promise<RolloutView> {
    const request = parseRolloutRequest(body);
    const { accountId } = this.options;
    const rollout = await this.store.write(meshName, async (tx) => {
      if (!(await tx.mesh.lockMesh(meshName))) {
        throw new NotFoundException(describeMissing(meshId(meshName), accountId));
      }
      const routerId: ResourceId = {
        meshName,
        kind: 'virtualRouter',
        parentName: '',
        name: request.virtualRouter,
      };
      if (!(await tx.mesh.get(routerId))) {
        throw new NotFoundException(`route.virtualRouter: ${describeMissing(routerId, accountId)}`);
      }
      const routeId: ResourceId = {
        meshName,
        kind: 'route',
        parentName: request.virtualRouter,
        name: request.route,
      };
      const route = await tx.mesh.get(routeId);
      if (!route) {
        throw new NotFoundException(`route.route: ${describeMissing(routeId, accountId)}`);
      }
      const targets = weightedTargetsOf(route.spec);
      const problem = rolloutRouteProblem(targets, request.from, request.to);
      if (problem !== undefined) throw new BadRequestException(`route: ${problem}`);
      const backwards = firstStepProblem(targets, request.to, request.plan.steps[0] ?? 100);
      if (backwards !== undefined) throw new BadRequestException(`steps[0]: ${backwards}`);
      if ((await tx.mesh.missing(meshName, 'virtualNode', [request.to])).length > 0) {
        const toId: ResourceId = {
          meshName,
          kind: 'virtualNode',
          parentName: '',
          name: request.to,
        };
        throw new NotFoundException(`to: ${describeMissing(toId, accountId)}`);
      }
      const running = await tx.unfinishedOnRoute(meshName, request.virtualRouter, request.route);
      if (running) {
        throw new ConflictException(
          `Route ${request.virtualRouter}/${request.route} already has rollout ${running.id} (${running.state}); abort it or wait until it ends`,
        );
      }
      const now = new Date();
      const created: StoredRollout = {
        id: randomUUID(),
        meshName,
        virtualRouter: request.virtualRouter,
        route: request.route,
        from: request.from,
        to: request.to,
        plan: request.plan,
        originalTargets: targets,
        state: 'Pending',
        phase: null,
        stepIndex: -1,
        writtenStep: null,
        weights: weightsOf(targets),
        revision: null,
        phaseStartedAt: now,
        waitUntil: null,
        pausedAt: null,
        pausedFrom: null,
        abort: null,
        createdBy: actor,
        createdAt: now,
        updatedAt: now,
        finishedAt: null,
        seq: 0,
      };
      await tx.insert(created);
      await tx.addEvent(created.id, {
        at: now,
        type: 'Created',
        message: `created by ${actor}: ${request.from} → ${request.to} in steps of ${request.plan.steps.join(', ')} %${request.plan.steps.length > 1 ? ` every ${request.plan.intervalMs} ms` : ''}, from ${describeWeights(created.weights)}`,
        actor,
      });
      return created;
    });
    this.logger.info(
      { mesh: meshName, rollout: rollout.id, route: `${rollout.virtualRouter}/${rollout.route}` },
      'rollout created',
    );
    return this.detailed(rollout);
  }

  async get(meshName: string, id: string): Promise<RolloutView> {
    return this.detailed(await this.find(meshName, id));
  }

  async list(meshName: string, state: unknown): Promise<{ rollouts: RolloutView[] }> {
    if (state !== undefined && !(ROLLOUT_STATES as readonly unknown[]).includes(state)) {
      throw new BadRequestException(
        `state: must be one of ${ROLLOUT_STATES.join(', ')}, got ${JSON.stringify(state)}`,
      );
    }
    await this.requireMesh(meshName);
    const rollouts = await this.store.list(meshName, state as RolloutState | undefined, LIST_LIMIT);
    return { rollouts: rollouts.map(view) };
  }

  /** pause, resume, promote, abort (with an optional `{"reason": "..."}`). */
  async act(
    meshName: string,
    id: string,
    action: RolloutAction,
    body: unknown,
    actor: string,
  ): Promise<RolloutView> {
    const reason = actionReason(action, body);
    const seen = await this.find(meshName, id);
    const saved = await this.store.write(meshName, async (tx) => {
      await tx.mesh.lockMesh(meshName);
      const current = await tx.lock(seen.id);
      if (!current) throw new NotFoundException(missingRollout(meshName, id));
      const now = new Date();
      const transition: Transition<StoredRollout> =
        action === 'pause'
          ? pause(current, actor, now)
          : action === 'resume'
            ? resume(current, actor, now)
            : action === 'promote'
              ? promote(current, actor, now)
              : abortByUser(current, actor, reason, now);
      if (transition.events.length === 0) return current;
      const next = await tx.save(transition.rollout);
      for (const event of transition.events) await tx.addEvent(next.id, event);
      return next;
    });
    this.logger.info(
      { mesh: meshName, rollout: id, action, actor, state: saved.state },
      `rollout ${action}`,
    );
    return this.detailed(saved);
  }

  private async find(meshName: string, id: string): Promise<StoredRollout> {
    await this.requireMesh(meshName);
    const rollout = UUID.test(id) ? await this.store.get(id) : undefined;
    if (!rollout || rollout.meshName !== meshName) {
      throw new NotFoundException(missingRollout(meshName, id));
    }
    return rollout;
  }

  private async requireMesh(meshName: string): Promise<void> {
    if (!(await this.meshes.get(meshId(meshName)))) {
      throw new NotFoundException(describeMissing(meshId(meshName), this.options.accountId));
    }
  }

  /** The view with the events and the propagation of the rollout's weights. */
  private async detailed(rollout: StoredRollout): Promise<RolloutView> {
    const events = await this.store.events(rollout.id);
    let propagation: Propagation | null = null;
    if (rollout.revision !== null) {
      propagation = await this.propagation
        .propagation(rollout.meshName, rollout.revision)
        .catch(() => null);
    }
    return {
      ...view(rollout),
      propagation,
      events: events.map((event) => ({
        time: event.at.toISOString(),
        type: event.type,
        message: event.message,
        ...(event.stepIndex !== undefined && { step: event.stepIndex + 1 }),
        ...(event.weights !== undefined && { weights: event.weights }),
        ...(event.revision !== undefined && { revision: event.revision }),
        ...(event.actor !== undefined && { actor: event.actor }),
      })),
    };
  }
}

function view(rollout: StoredRollout): RolloutView {
  const { plan } = rollout;
  return {
    id: rollout.id,
    meshName: rollout.meshName,
    route: { virtualRouter: rollout.virtualRouter, route: rollout.route },
    from: rollout.from,
    to: rollout.to,
    steps: plan.steps,
    ...(plan.preset !== undefined && { preset: plan.preset }),
    intervalMs: plan.intervalMs,
    gates: plan.gates,
    onAbort: plan.onAbort,
    requirePromotion: plan.requirePromotion,
    propagationTimeoutMs: plan.propagationTimeoutMs,
    state: rollout.state,
    phase: rollout.phase,
    step: Math.max(rollout.stepIndex + 1, 0),
    stepWeight: plan.steps[rollout.stepIndex] ?? null,
    weights: rollout.weights,
    originalWeights: weightsOf(rollout.originalTargets),
    revision: rollout.revision,
    waitUntil: rollout.waitUntil?.toISOString() ?? null,
    abort: rollout.abort,
    createdBy: rollout.createdBy,
    createdAt: rollout.createdAt.toISOString(),
    updatedAt: rollout.updatedAt.toISOString(),
    finishedAt: rollout.finishedAt?.toISOString() ?? null,
  };
}

function missingRollout(meshName: string, id: string): string {
  return `Rollout with id ${id} is not present under mesh ${meshName}`;
}

/** Actions take no body, except abort's optional reason. */
function actionReason(action: RolloutAction, body: unknown): string | undefined {
  if (body === undefined) return undefined;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new BadRequestException('The request body must be a JSON object');
  }
  const record = body as Record<string, unknown>;
  const allowed = action === 'abort' ? ['reason'] : [];
  const unknown = Object.keys(record).filter((key) => !allowed.includes(key));
  if (unknown.length > 0) {
    throw new BadRequestException(unknown.map((key) => `${key}: unknown field`).join('; '));
  }
  const { reason } = record;
  if (
    reason !== undefined &&
    (typeof reason !== 'string' || reason.length < 1 || reason.length > 1024)
  ) {
    throw new BadRequestException('reason: must be a string of 1 to 1024 characters');
  }
  return reason;
}
