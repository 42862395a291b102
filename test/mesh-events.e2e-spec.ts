import {
  CI_ACTOR,
  CI_AUTHORIZATION,
  connectSidecar,
  createCanaryMesh,
  egressCluster,
  putWeights,
  receiveWeights,
} from './support/canary-mesh';
import {
  startTestControlPlane,
  uniqueMeshName,
  type TestControlPlane,
} from './support/control-plane';
import { EventStreamClient } from './support/events';
import { eventually, type SotwAdsClient } from './support/xds';

interface Change {
  revision: number;
  actor: string;
  kind: string;
  name: string;
  operation: string;
}
interface ProxyEvent {
  nodeId: string;
  state: string;
  syncedRevision: number | null;
}
interface PropagationEvent {
  revision: number;
  proxies: number;
  acked: number;
}
interface RolloutEvent {
  id: string;
  state: string;
  step: number;
}

/** `GET /v1/meshes/{mesh}/events`, read by a plain HTTP client as a console or a CI job would. */
describe('mesh events (Server-Sent Events)', () => {
  let trellis: TestControlPlane;
  let closed = false;
  const streams: EventStreamClient[] = [];
  const sidecars: SotwAdsClient[] = [];

  beforeAll(async () => {
    trellis = await startTestControlPlane({
      TRELLIS_EVENTS_HEARTBEAT_MS: '200',
      TRELLIS_ROLLOUT_TICK_MS: '50',
    });
  });
  afterAll(async () => {
    for (const stream of streams) stream.close();
    for (const sidecar of sidecars) sidecar.close();
    if (!closed) await trellis.close();
  });

  async function open(meshName: string): Promise<EventStreamClient> {
    const stream = await EventStreamClient.open(`${trellis.httpUrl}/v1/meshes/${meshName}/events`);
    streams.push(stream);
    return stream;
  }

  it('streams each change with revision and actor, proxy transitions, and propagation to 2 of 2', async () => {
    const meshName = uniqueMeshName('events');
    await createCanaryMesh(trellis.appMesh, meshName);
    const stream = await open(meshName);
    expect(stream.response.statusCode).toBe(200);
    expect(stream.response.headers['content-type']).toMatch(/^text\/event-stream/);
    const hello = await stream.next<{ revision: number }>('hello');
    expect(hello.revision).toBeGreaterThan(0);

    for (let index = 0; index < 2; index++) {
      const sidecar = await connectSidecar(trellis.xds!.port, meshName, 'web');
      sidecars.push(sidecar);
      await receiveWeights(sidecar, {
        [egressCluster(meshName, 'blue')]: 100,
        [egressCluster(meshName, 'green')]: 0,
      });
    }
    await stream.next<ProxyEvent>(
      'proxy',
      (proxy) => proxy.nodeId === `mesh/${meshName}/virtualNode/web` && proxy.state === 'SYNCED',
    );

    const response = await putWeights(trellis.httpUrl, meshName, {
      targets: { blue: 70, green: 30 },
    });
    expect(response.status).toBe(200);
    const revision = Number(response.headers.get('x-trellis-mesh-revision'));
    const change = await stream.next<Change>('change', (entry) => entry.revision === revision);
    expect(change).toMatchObject({
      actor: CI_ACTOR,
      kind: 'route',
      name: 'canary',
      operation: 'UPDATE',
    });

    const expected = {
      [egressCluster(meshName, 'blue')]: 70,
      [egressCluster(meshName, 'green')]: 30,
    };
    for (const sidecar of sidecars) await receiveWeights(sidecar, expected);
    await stream.next<PropagationEvent>(
      'propagation',
      (propagation) =>
        propagation.revision === revision && propagation.proxies === 2 && propagation.acked === 2,
    );
    await stream.next<ProxyEvent>('proxy', (proxy) => proxy.syncedRevision === revision);
  });

  it('streams rollout steps and their abort', async () => {
    const meshName = uniqueMeshName('events');
    await createCanaryMesh(trellis.appMesh, meshName);
    const stream = await open(meshName);
    await stream.next('hello');
    const created = await fetch(`${trellis.httpUrl}/v1/meshes/${meshName}/rollouts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: CI_AUTHORIZATION },
      body: JSON.stringify({
        route: { virtualRouter: 'api', route: 'canary' },
        from: 'blue',
        to: 'green',
        steps: [25, 100],
        interval: '1h',
      }),
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    await stream.next<RolloutEvent>(
      'rollout',
      (rollout) => rollout.id === id && rollout.step === 1,
    );
    await stream.next<Change>('change', (entry) => entry.kind === 'route');
    const aborted = await fetch(`${trellis.httpUrl}/v1/meshes/${meshName}/rollouts/${id}/abort`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: CI_AUTHORIZATION },
      body: '{}',
    });
    expect(aborted.status).toBe(200);
    await stream.next<RolloutEvent>(
      'rollout',
      (rollout) => rollout.id === id && rollout.state === 'Aborted',
    );
  });

  it('sends heartbeat comments on an idle stream', async () => {
    const meshName = uniqueMeshName('events');
    await createCanaryMesh(trellis.appMesh, meshName);
    const stream = await open(meshName);
    await stream.next('hello');
    await eventually(() => expect(stream.comments).toContain('heartbeat'), 5000);
  });

  it('answers 404 in the App Mesh error format for a mesh that does not exist', async () => {
    const response = await fetch(`${trellis.httpUrl}/v1/meshes/no-such-mesh/events`);
    expect([response.status, response.headers.get('x-amzn-errortype')]).toEqual([
      404,
      'NotFoundException',
    ]);
    expect(((await response.json()) as { message: string }).message).toMatch(/no-such-mesh/);
  });

  it('ends open streams when the control plane shuts down, so shutdown does not hang', async () => {
    const meshName = uniqueMeshName('events');
    await createCanaryMesh(trellis.appMesh, meshName);
    const stream = await open(meshName);
    await stream.next('hello');
    closed = true;
    await trellis.close();
    await stream.end();
    expect(stream.ended).toBe(true);
  });
});
