import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CreateMeshCommand,
  CreateRouteCommand,
  CreateVirtualNodeCommand,
  CreateVirtualRouterCommand,
  CreateVirtualServiceCommand,
  DescribeRouteCommand,
  type VirtualNodeSpec,
  type WeightedTarget,
} from '@aws-sdk/client-app-mesh';
import {
  startTestControlPlane,
  uniqueMeshName,
  type TestControlPlane,
} from './support/control-plane';
import { AnsweringSidecar as Sidecar, type Answer, type Weights } from './support/sidecar';
import { eventually } from './support/xds';

/**
 * Progressive rollouts, end to end: the REST API, the scheduler, real Postgres, and simulated
 * Envoy sidecars connected over xDS that acknowledge (or reject) what they receive.
 */

const ACTOR = 'AKIDROLLOUTS';
const SERVICE = 'api.local';

interface RolloutEvent {
  time: string;
  type: string;
  message: string;
  step?: number;
  weights?: Weights;
  revision?: number;
  actor?: string;
}

interface Rollout {
  id: string;
  state: string;
  phase: string | null;
  step: number;
  steps: number[];
  weights: Weights;
  originalWeights: Weights;
  revision: number | null;
  abort: { reason: string; outcome: string; rollback: string; by?: string } | null;
  propagation: { revision: number; proxies: number; acked: number } | null;
  events: RolloutEvent[];
}

describe('progressive rollouts', () => {
  let trellis: TestControlPlane;
  const sidecars: Sidecar[] = [];

  beforeAll(async () => {
    trellis = await startTestControlPlane({ TRELLIS_ROLLOUT_TICK_MS: '50' });
  });
  afterAll(async () => {
    for (const sidecar of sidecars) sidecar.close();
    await trellis.close();
  });

  async function api<T = Rollout>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; errorType: string | null; body: T }> {
    const response = await fetch(`${trellis.httpUrl}${path}`, {
      method,
      headers: {
        'content-type': 'application/json',
        authorization: `AWS4-HMAC-SHA256 Credential=${ACTOR}/20250101/${'eu-west-1'}/appmesh/aws4_request, SignedHeaders=host, Signature=0`,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return {
      status: response.status,
      errorType: response.headers.get('x-amzn-errortype'),
      body: (await response.json()) as T,
    };
  }

  async function startRollout(
    meshName: string,
    request: Record<string, unknown>,
  ): Promise<Rollout> {
    const created = await api('POST', `/v1/meshes/${meshName}/rollouts`, {
      route: { virtualRouter: 'api', route: 'canary' },
      from: 'blue',
      to: 'green',
      ...request,
    });
    expect(created).toMatchObject({ status: 201, body: { state: 'Pending' } });
    return created.body;
  }

  async function rollout(meshName: string, id: string): Promise<Rollout> {
    const { status, body } = await api('GET', `/v1/meshes/${meshName}/rollouts/${id}`);
    expect(status).toBe(200);
    return body;
  }

  /** Follows the rollout through the API until it is in `state` (the API is the event source). */
  async function until(meshName: string, id: string, state: string, timeoutMs = 15_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const current = await rollout(meshName, id);
      if (current.state === state) return current;
      if (Date.now() > deadline) {
        throw new Error(
          `rollout ${id} is ${current.state}, not ${state}: ${JSON.stringify(current.events)}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  async function routeTargets(meshName: string): Promise<WeightedTarget[]> {
    const { route } = await trellis.appMesh.send(
      new DescribeRouteCommand({ meshName, virtualRouterName: 'api', routeName: 'canary' }),
    );
    return route!.spec!.httpRoute!.action!.weightedTargets!;
  }

  async function connect(meshName: string, answer?: Answer) {
    const sidecar = await Sidecar.connect(trellis.xds!.port, meshName, 'web', SERVICE, answer);
    sidecars.push(sidecar);
    return sidecar;
  }

  it('moves traffic 10 → 50 → 100 with a 1 s interval: every proxy gets each step in order, and history names the rollout', async () => {
    const meshName = await canaryMesh(trellis);
    const proxies = [await connect(meshName), await connect(meshName)];

    const started = await startRollout(meshName, { steps: [10, 50, 100], interval: '1s' });
    expect(started).toMatchObject({
      steps: [10, 50, 100],
      originalWeights: { blue: 100 },
      weights: { blue: 100 },
      step: 0,
      revision: null,
    });
    const done = await until(meshName, started.id, 'Succeeded');

    const steps = done.events.filter((event) => event.type === 'WeightsSet');
    expect(steps.map((event) => [event.step, event.weights])).toEqual([
      [1, { blue: 90, green: 10 }],
      [2, { blue: 50, green: 50 }],
      [3, { blue: 0, green: 100 }],
    ]);
    // Each step held for the interval after its proxies acknowledged it.
    for (let index = 1; index < steps.length; index++) {
      const held = Date.parse(steps[index]!.time) - Date.parse(steps[index - 1]!.time);
      expect(held).toBeGreaterThanOrEqual(1000);
    }
    expect(done.events.filter((event) => event.type === 'Propagated')).toHaveLength(3);
    expect(done).toMatchObject({
      weights: { blue: 0, green: 100 },
      propagation: { revision: steps[2]!.revision, proxies: 2, acked: 2 },
    });
    expect(await routeTargets(meshName)).toEqual([
      { virtualNode: 'blue', weight: 0 },
      { virtualNode: 'green', weight: 100 },
    ]);

    // Both proxies received the route configuration of every step, in order.
    for (const proxy of proxies) {
      expect(proxy.routeWeights).toEqual([
        { blue: 100 },
        { blue: 90, green: 10 },
        { blue: 50, green: 50 },
        { blue: 0, green: 100 },
      ]);
    }

    const history = await trellis.db.query<{
      revision: string;
      actor: string;
      rollout_id: string;
      reason: string;
      after: { spec: { httpRoute: { action: { weightedTargets: WeightedTarget[] } } } };
    }>(
      `SELECT revision, actor, rollout_id, reason, after FROM change_log
       WHERE mesh_name = $1 AND kind = 'route' AND revision > $2 ORDER BY revision`,
      [meshName, steps[0]!.revision! - 1],
    );
    expect(
      history.rows.map((row) => ({
        revision: Number(row.revision),
        actor: row.actor,
        rolloutId: row.rollout_id,
        weights: row.after.spec.httpRoute.action.weightedTargets.map((t) => t.weight),
      })),
    ).toEqual(
      steps.map((step) => ({
        revision: step.revision,
        actor: ACTOR,
        rolloutId: started.id,
        weights: [100 - step.weights!.green!, step.weights!.green],
      })),
    );
    expect(history.rows.map((row) => row.reason)).toEqual([
      'rollout step 1/3 (green 10 %)',
      'rollout step 2/3 (green 50 %)',
      'rollout step 3/3 (green 100 %)',
    ]);
  });

  it('aborts when a proxy rejects a step; `instant` puts the original weights back', async () => {
    const meshName = await canaryMesh(trellis);
    const accepting = await connect(meshName);
    const rejecting = await connect(meshName, (weights) => (weights.green ? 'nack' : 'ack'));

    const started = await startRollout(meshName, {
      steps: [10, 50, 100],
      interval: '1s',
      onAbort: 'instant',
    });
    const aborted = await until(meshName, started.id, 'Aborted');

    expect(aborted.abort).toMatchObject({
      outcome: 'Aborted',
      rollback: 'instant',
      reason: expect.stringContaining(
        `proxy mesh/${meshName}/virtualNode/web rejected the RDS configuration`,
      ),
    });
    expect(aborted.abort!.reason).toContain('weights not allowed here');
    expect(aborted.events.map((event) => event.type)).toEqual([
      'Created',
      'WeightsSet',
      'Aborting',
      'WeightsSet',
      'Propagated',
      'Aborted',
    ]);
    expect(aborted.weights).toEqual({ blue: 100 });
    expect(await routeTargets(meshName)).toEqual([{ virtualNode: 'blue', weight: 100 }]);
    // The proxy that accepted the step got the original weights back; 50 % was never sent.
    expect(accepting.routeWeights).toEqual([{ blue: 100 }, { blue: 90, green: 10 }, { blue: 100 }]);
    expect(rejecting.rejected).toEqual([{ blue: 90, green: 10 }]);
  });

  it('aborts when a proxy rejects a step; `freeze` leaves the weights of that step', async () => {
    const meshName = await canaryMesh(trellis);
    await connect(meshName);
    await connect(meshName, (weights) => (weights.green ? 'nack' : 'ack'));

    const started = await startRollout(meshName, {
      steps: [10, 50, 100],
      interval: '1s',
      onAbort: 'freeze',
    });
    const aborted = await until(meshName, started.id, 'Aborted');

    expect(aborted.abort).toMatchObject({ outcome: 'Aborted', rollback: 'freeze' });
    expect(aborted.events.map((event) => event.type)).toEqual(['Created', 'WeightsSet', 'Aborted']);
    expect(aborted.weights).toEqual({ blue: 90, green: 10 });
    expect(await routeTargets(meshName)).toEqual([
      { virtualNode: 'blue', weight: 90 },
      { virtualNode: 'green', weight: 10 },
    ]);
  });

  it('fails when a proxy does not acknowledge a step within the propagation timeout, and rolls back', async () => {
    const meshName = await canaryMesh(trellis);
    await connect(meshName);
    // Goes silent from the first step on: answers neither the step nor the rollback.
    let silent = false;
    await connect(meshName, (weights) => {
      silent ||= weights.green !== undefined;
      return silent ? 'ignore' : 'ack';
    });

    const started = await startRollout(meshName, {
      steps: [10, 50, 100],
      interval: '1s',
      propagationTimeout: '1s',
    });
    const failed = await until(meshName, started.id, 'Failed');

    expect(failed.abort).toMatchObject({
      outcome: 'Failed',
      rollback: 'instant',
      reason: expect.stringMatching(
        new RegExp(
          `^the proxies did not acknowledge revision \\d+ within 1000 ms \\(1 of 2 did; waiting for mesh/${meshName}/virtualNode/web\\)$`,
        ),
      ),
    });
    // Failing rolls back as onAbort says; the rollback does not wait for the silent proxy forever.
    expect(failed.events.map((event) => event.type)).toEqual([
      'Created',
      'WeightsSet',
      'Aborting',
      'WeightsSet',
      'RollbackPropagationTimedOut',
      'Failed',
    ]);
    expect(await routeTargets(meshName)).toEqual([{ virtualNode: 'blue', weight: 100 }]);
  });

  it('calls the gates after each step and aborts on a 500; `stepped` walks back down the steps', async () => {
    const meshName = await canaryMesh(trellis);
    await connect(meshName);
    const gate = await startGate((call) => (call.step.number === 2 ? 500 : 200));

    const started = await startRollout(meshName, {
      steps: [10, 50, 100],
      interval: '1s',
      gates: [{ url: gate.url, timeout: '2s' }],
      onAbort: 'stepped',
    });
    const aborted = await until(meshName, started.id, 'Aborted');

    expect(gate.calls).toEqual([
      {
        rollout: {
          id: started.id,
          meshName,
          route: { virtualRouter: 'api', route: 'canary' },
          from: 'blue',
          to: 'green',
        },
        step: { number: 1, of: 3, weight: 10 },
        weights: { blue: 90, green: 10 },
        revision: expect.any(Number),
      },
      expect.objectContaining({
        step: { number: 2, of: 3, weight: 50 },
        weights: { blue: 50, green: 50 },
      }),
    ]);
    expect(aborted.abort).toMatchObject({
      outcome: 'Aborted',
      rollback: 'stepped',
      reason: `gate ${gate.url} answered 500`,
    });
    const written = aborted.events.filter((event) => event.type === 'WeightsSet');
    expect(written.map((event) => event.weights)).toEqual([
      { blue: 90, green: 10 },
      { blue: 50, green: 50 },
      { blue: 90, green: 10 },
      { blue: 100 },
    ]);
    // Back down one step, held for the interval, then the original weights.
    expect(Date.parse(written[3]!.time) - Date.parse(written[2]!.time)).toBeGreaterThanOrEqual(
      1000,
    );
    expect(await routeTargets(meshName)).toEqual([{ virtualNode: 'blue', weight: 100 }]);
    await gate.close();
  });

  it('refuses a second rollout of a route while one is unfinished (ConflictException)', async () => {
    const meshName = await canaryMesh(trellis);
    const first = await startRollout(meshName, { steps: [10, 100], interval: '1h' });

    const second = await api('POST', `/v1/meshes/${meshName}/rollouts`, {
      route: { virtualRouter: 'api', route: 'canary' },
      from: 'blue',
      to: 'green',
      steps: 'AllAtOnce',
    });
    expect(second.status).toBe(409);
    expect(second.errorType).toBe('ConflictException');
    expect((second.body as unknown as { message: string }).message).toContain(first.id);

    await api('POST', `/v1/meshes/${meshName}/rollouts/${first.id}/abort`);
    await until(meshName, first.id, 'Aborted');
    const third = await startRollout(meshName, { steps: 'AllAtOnce' });
    await until(meshName, third.id, 'Succeeded');
  });

  it('pauses, resumes and promotes; a rollout that requires promotion waits for it', async () => {
    const meshName = await canaryMesh(trellis);
    const started = await startRollout(meshName, { steps: [10, 50, 100], interval: '1h' });
    await eventually(async () => {
      expect(await rollout(meshName, started.id)).toMatchObject({ step: 1, phase: 'Waiting' });
    }, 10_000);

    const paused = await api('POST', `/v1/meshes/${meshName}/rollouts/${started.id}/pause`);
    expect(paused).toMatchObject({ status: 200, body: { state: 'Paused', step: 1 } });
    const resumed = await api('POST', `/v1/meshes/${meshName}/rollouts/${started.id}/resume`);
    expect(resumed).toMatchObject({ status: 200, body: { state: 'Progressing', step: 1 } });
    const promoted = await api('POST', `/v1/meshes/${meshName}/rollouts/${started.id}/promote`);
    expect(promoted).toMatchObject({ status: 200, body: { state: 'Progressing', step: 3 } });
    const done = await until(meshName, started.id, 'Succeeded');
    expect(done.events.map((event) => [event.type, event.step, event.actor])).toEqual([
      ['Created', undefined, ACTOR],
      ['WeightsSet', 1, undefined],
      ['Propagated', 1, undefined],
      ['Paused', undefined, ACTOR],
      ['Resumed', undefined, ACTOR],
      ['Promoted', 3, ACTOR],
      ['WeightsSet', 3, undefined],
      ['Propagated', 3, undefined],
      ['Succeeded', undefined, undefined],
    ]);
    const finished = await api('POST', `/v1/meshes/${meshName}/rollouts/${started.id}/pause`);
    expect([finished.status, finished.errorType]).toEqual([409, 'ConflictException']);

    // And back again.
    const gated = await startRollout(meshName, {
      from: 'green',
      to: 'blue',
      steps: 'Canary10Percent5Minutes',
      requirePromotion: true,
    });
    expect(gated).toMatchObject({ steps: [10, 100], preset: 'Canary10Percent5Minutes' });
    // The 5-minute bake of the canary step is skipped by promoting from the pause.
    await eventually(async () => {
      expect(await rollout(meshName, gated.id)).toMatchObject({ step: 1, phase: 'Waiting' });
    }, 10_000);
    await api('POST', `/v1/meshes/${meshName}/rollouts/${gated.id}/pause`);
    await api('POST', `/v1/meshes/${meshName}/rollouts/${gated.id}/promote`);
    await until(meshName, gated.id, 'Succeeded');

    const before = await routeTargets(meshName);
    const waiting = await startRollout(meshName, { steps: [100], requirePromotion: true });
    await until(meshName, waiting.id, 'WaitingPromotion');
    const resume = await api('POST', `/v1/meshes/${meshName}/rollouts/${waiting.id}/resume`);
    expect([resume.status, resume.errorType]).toEqual([409, 'ConflictException']);
    expect(await routeTargets(meshName)).toEqual(before);
    await api('POST', `/v1/meshes/${meshName}/rollouts/${waiting.id}/promote`);
    await until(meshName, waiting.id, 'Succeeded');
    expect(await routeTargets(meshName)).toEqual([
      { virtualNode: 'blue', weight: 0 },
      { virtualNode: 'green', weight: 100 },
    ]);

    const listed = await api<{ rollouts: Rollout[] }>('GET', `/v1/meshes/${meshName}/rollouts`);
    expect(listed.body.rollouts.map((r) => [r.id, r.state])).toEqual([
      [waiting.id, 'Succeeded'],
      [gated.id, 'Succeeded'],
      [started.id, 'Succeeded'],
    ]);
  });

  it.each<[string, Record<string, unknown>, number, string, string]>([
    [
      'steps going down',
      { steps: [50, 10] },
      400,
      'BadRequestException',
      'steps[1]: must be greater than the step before (50)',
    ],
    [
      'a decimal step',
      { steps: [12.5] },
      400,
      'BadRequestException',
      'steps[0]: must be an integer from 1 to 100',
    ],
    [
      'an unknown preset',
      { steps: 'Blue80Green20' },
      400,
      'BadRequestException',
      'steps: unknown preset "Blue80Green20"',
    ],
    [
      'an interval beside a preset',
      { steps: 'Linear10PercentEvery1Minute', interval: '1s' },
      400,
      'BadRequestException',
      'interval: the preset Linear10PercentEvery1Minute sets the interval',
    ],
    [
      'a malformed interval',
      { steps: [10], interval: 'soon' },
      400,
      'BadRequestException',
      'interval: must be a duration',
    ],
    [
      'a gate that is not a URL',
      { steps: [10], gates: [{ url: 'ftp://x' }] },
      400,
      'BadRequestException',
      'gates[0].url: must be an http or https URL',
    ],
    [
      'an unknown onAbort',
      { steps: [10], onAbort: 'panic' },
      400,
      'BadRequestException',
      'onAbort: must be one of instant, stepped, freeze',
    ],
    [
      'an unknown field',
      { steps: [10], canary: true },
      400,
      'BadRequestException',
      'canary: unknown field',
    ],
    [
      'from equal to to',
      { steps: [10], to: 'blue' },
      400,
      'BadRequestException',
      'to: must differ from "from"',
    ],
    [
      'a from the route does not target',
      { steps: [10], from: 'web' },
      400,
      'BadRequestException',
      'route: the route does not target web',
    ],
    [
      'a to that does not exist',
      { steps: [10], to: 'purple' },
      404,
      'NotFoundException',
      'to: VirtualNode with name purple is not present',
    ],
    [
      'a route that does not exist',
      { steps: [10], route: { virtualRouter: 'api', route: 'nope' } },
      404,
      'NotFoundException',
      'route.route: Route with name nope is not present',
    ],
  ])(
    'answers %s with the App Mesh error naming the field',
    async (_case, request, status, errorType, message) => {
      const meshName = await canaryMesh(trellis);
      const response = await api<{ message: string }>('POST', `/v1/meshes/${meshName}/rollouts`, {
        route: { virtualRouter: 'api', route: 'canary' },
        from: 'blue',
        to: 'green',
        ...request,
      });
      expect([response.status, response.errorType]).toEqual([status, errorType]);
      expect(response.body.message).toContain(message);
    },
  );

  it('answers NotFoundException for a rollout or mesh that does not exist', async () => {
    const meshName = await canaryMesh(trellis);
    const missing = await api(
      'GET',
      `/v1/meshes/${meshName}/rollouts/6f1c7e0a-0000-4000-8000-000000000000`,
    );
    expect([missing.status, missing.errorType]).toEqual([404, 'NotFoundException']);
    const noMesh = await api('GET', `/v1/meshes/no-such-mesh/rollouts`);
    expect([noMesh.status, noMesh.errorType]).toEqual([404, 'NotFoundException']);
  });
});

// ---------------------------------------------------------------------------------------------
// The mesh, sidecars and a gate.

const node = (hostname: string, backend?: string): VirtualNodeSpec => ({
  listeners: [{ portMapping: { port: 8080, protocol: 'http' } }],
  serviceDiscovery: { dns: { hostname } },
  ...(backend ? { backends: [{ virtualService: { virtualServiceName: backend } }] } : {}),
});

/** blue and green behind the virtual router `api` (route `canary`: all to blue), and `web` calling it. */
async function canaryMesh(trellis: TestControlPlane): Promise<string> {
  const meshName = uniqueMeshName('rollout');
  const { appMesh } = trellis;
  await appMesh.send(new CreateMeshCommand({ meshName }));
  for (const [name, spec] of [
    ['blue', node('blue.local')],
    ['green', node('green.local')],
    ['web', node('web.local', SERVICE)],
  ] as const) {
    await appMesh.send(new CreateVirtualNodeCommand({ meshName, virtualNodeName: name, spec }));
  }
  await appMesh.send(
    new CreateVirtualRouterCommand({
      meshName,
      virtualRouterName: 'api',
      spec: { listeners: [{ portMapping: { port: 8080, protocol: 'http' } }] },
    }),
  );
  await appMesh.send(
    new CreateRouteCommand({
      meshName,
      virtualRouterName: 'api',
      routeName: 'canary',
      spec: {
        httpRoute: {
          match: { prefix: '/' },
          action: { weightedTargets: [{ virtualNode: 'blue', weight: 100 }] },
        },
      },
    }),
  );
  await appMesh.send(
    new CreateVirtualServiceCommand({
      meshName,
      virtualServiceName: SERVICE,
      spec: { provider: { virtualRouter: { virtualRouterName: 'api' } } },
    }),
  );
  return meshName;
}

interface GateCall {
  rollout: unknown;
  step: { number: number; of: number; weight: number };
  weights: Weights;
  revision: number;
}

/** A gate webhook on a free port that answers each call with the status `answer` picks. */
async function startGate(
  answer: (call: GateCall) => number,
): Promise<{ url: string; calls: GateCall[]; close(): Promise<void> }> {
  const calls: GateCall[] = [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const call = JSON.parse(body) as GateCall;
      calls.push(call);
      response.writeHead(answer(call)).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/gate`,
    calls,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
