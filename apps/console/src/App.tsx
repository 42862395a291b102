import { useCallback, useEffect, useState } from 'react';
import { api, ApiError, followEvents, listAll, type MeshEvent, storedKey, storeKey } from './api';

const APP_MESH = '/v20190125/meshes';

interface WeightedTarget {
  virtualNode: string;
  weight: number;
}
interface RouteData {
  routeName: string;
  virtualRouterName: string;
  spec: Record<string, { action?: { weightedTargets?: WeightedTarget[] } } | undefined>;
  metadata: { version: number };
}
interface Proxy {
  nodeId: string;
  state: string;
  syncedRevision?: number;
  connected: boolean;
  userAgent?: string;
  types: Array<{ type: string; state: string; lastNack?: { message: string } }>;
}
interface Propagation {
  revision: number;
  proxies: number;
  acked: number;
  nacked: Array<{ node: string; message: string }>;
}
interface Rollout {
  id: string;
  route: { virtualRouter: string; route: string };
  from: string;
  to: string;
  steps: number[];
  state: string;
  step: number;
  weights: Record<string, number>;
}
interface Change {
  revision: number;
  time: string;
  actor: string;
  kind: string;
  name: string;
  parent: string | null;
  operation: string;
  before: unknown;
  after: unknown;
}

function useHash(): string[] {
  const [hash, setHash] = useState(window.location.hash);
  useEffect(() => {
    const update = () => setHash(window.location.hash);
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, []);
  return hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
}

/** Data from the API, reloaded when `reload` is called; errors show the API's message. */
function useLoad<T>(
  load: () => Promise<T>,
  deps: unknown[],
): [T | undefined, string | undefined, () => void] {
  const [value, setValue] = useState<T>();
  const [error, setError] = useState<string>();
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    load().then(
      (result) => live && (setValue(result), setError(undefined)),
      (failure: Error) => live && setError(failure.message),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  return [value, error, useCallback(() => setTick((count) => count + 1), [])];
}

/**
 * Whether a view showing `type` of data reads it again for this event: on its own events, on
 * `hello` (each new connection: what changed before the stream began is read afresh) and on
 * `resync` (the server skipped events).
 */
const reloadOn = (event: MeshEvent, type: string): boolean =>
  event.type === type || event.type === 'hello' || event.type === 'resync';

/** Why the live updates stopped, shown above every view (the API's message). */
const LIVE_UPDATES_STOPPED = 'trellis-live-updates-stopped';

/** Calls `onEvent` for each event of the mesh while the view is shown. */
function useMeshEvents(meshName: string, onEvent: (event: MeshEvent) => void): void {
  useEffect(
    () =>
      followEvents(meshName, (event) => {
        if (event.type === 'denied') {
          const { message } = event.data as { message: string };
          window.dispatchEvent(new CustomEvent(LIVE_UPDATES_STOPPED, { detail: message }));
        }
        onEvent(event);
      }),
    [meshName, onEvent],
  );
}

/** The banner that says live updates stopped and why. */
function LiveUpdatesStopped() {
  const [message, setMessage] = useState<string>();
  useEffect(() => {
    const show = (event: Event) => setMessage((event as CustomEvent<string>).detail);
    window.addEventListener(LIVE_UPDATES_STOPPED, show);
    return () => window.removeEventListener(LIVE_UPDATES_STOPPED, show);
  }, []);
  return message ? (
    <p className="error" role="alert" data-testid="live-updates-stopped">
      Live updates stopped: {message}
    </p>
  ) : null;
}

const path = (...parts: string[]) => '#/' + parts.map(encodeURIComponent).join('/');
const targetsOf = (route: RouteData): WeightedTarget[] =>
  Object.values(route.spec).find((kind) => kind?.action?.weightedTargets)?.action
    ?.weightedTargets ?? [];

export function App() {
  const route = useHash();
  const [signedIn, setSignedIn] = useState(storedKey()?.accessKeyId);
  const [mesh, view, ...rest] = route;
  return (
    <>
      <header>
        <a className="brand" href="#/">
          Trellis
        </a>
        {mesh && <a href={path(mesh)}>{mesh}</a>}
        <span style={{ flex: 1 }} />
        {signedIn ? (
          <span>
            {signedIn}{' '}
            <button
              className="secondary"
              onClick={() => (storeKey(undefined), setSignedIn(undefined))}
            >
              Sign out
            </button>
          </span>
        ) : (
          <SignIn onSignedIn={setSignedIn} />
        )}
      </header>
      <main>
        <LiveUpdatesStopped />
        {!mesh ? (
          <Meshes />
        ) : (
          <>
            <nav className="tabs">
              <a href={path(mesh)}>Topology</a>
              <a href={path(mesh, 'proxies')}>Proxies</a>
              <a href={path(mesh, 'rollouts')}>Rollouts</a>
              <a href={path(mesh, 'history')}>History</a>
              <a href={path(mesh, 'diagnostics')}>Diagnostics</a>
            </nav>
            {view === undefined && <Topology mesh={mesh} />}
            {view === 'route' && <RouteView mesh={mesh} router={rest[0]} route={rest[1]} />}
            {view === 'proxies' && <Proxies mesh={mesh} />}
            {view === 'rollouts' && <Rollouts mesh={mesh} />}
            {view === 'history' && <History mesh={mesh} />}
            {view === 'diagnostics' && <Diagnostics mesh={mesh} />}
          </>
        )}
      </main>
    </>
  );
}

function SignIn({ onSignedIn }: { onSignedIn: (id: string) => void }) {
  const [open, setOpen] = useState(false);
  const [id, setId] = useState('');
  const [secret, setSecret] = useState('');
  const [region, setRegion] = useState('us-east-1');
  if (!open)
    return (
      <button className="secondary" onClick={() => setOpen(true)}>
        Sign in with an access key
      </button>
    );
  return (
    <form
      onSubmit={(event) => {
        event.preventDefault();
        storeKey({ accessKeyId: id, secretAccessKey: secret, region });
        onSignedIn(id);
        window.location.reload();
      }}
    >
      <input placeholder="Access key id" value={id} onChange={(e) => setId(e.target.value)} />{' '}
      <input
        placeholder="Secret"
        type="password"
        value={secret}
        onChange={(e) => setSecret(e.target.value)}
      />{' '}
      <input
        placeholder="Region"
        value={region}
        onChange={(e) => setRegion(e.target.value)}
        size={10}
      />{' '}
      <button type="submit">Sign in</button>
    </form>
  );
}

function Failure({ error }: { error?: string }) {
  return error ? (
    <p className="error" role="alert">
      {error}
    </p>
  ) : null;
}

function Meshes() {
  const [meshes, error] = useLoad(() => listAll<{ meshName: string }>(APP_MESH, 'meshes'), []);
  return (
    <>
      <h2>Meshes</h2>
      <Failure error={error} />
      {meshes?.length === 0 && (
        <p>No meshes yet: create one with the AWS CLI, an SDK or the trellis CLI.</p>
      )}
      <ul>
        {meshes?.map((mesh) => (
          <li key={mesh.meshName}>
            <a href={path(mesh.meshName)}>{mesh.meshName}</a>
          </li>
        ))}
      </ul>
    </>
  );
}

interface Topology {
  gateways: Array<{ name: string; routes: Array<{ name: string; service?: string }> }>;
  services: Array<{ name: string; router?: string; node?: string }>;
  routes: RouteData[];
  nodes: Array<{ name: string; backends: string[] }>;
  proxies: Proxy[];
}

/** An httpRoute, http2Route or grpcRoute of a gateway route's spec (beside its priority). */
interface GatewayRouteKind {
  action?: { target?: { virtualService?: { virtualServiceName?: string } } };
}

async function loadTopology(mesh: string): Promise<Topology> {
  const base = `${APP_MESH}/${encodeURIComponent(mesh)}`;
  type Provider = {
    virtualRouter?: { virtualRouterName: string };
    virtualNode?: { virtualNodeName: string };
  };
  const [gateways, services, routers, nodes, proxies] = await Promise.all([
    listAll<{ virtualGatewayName: string }>(`${base}/virtualGateways`, 'virtualGateways'),
    listAll<{ virtualServiceName: string }>(`${base}/virtualServices`, 'virtualServices'),
    listAll<{ virtualRouterName: string }>(`${base}/virtualRouters`, 'virtualRouters'),
    listAll<{ virtualNodeName: string }>(`${base}/virtualNodes`, 'virtualNodes'),
    api<{ proxies: Proxy[] }>('GET', `/v1/proxies?mesh=${encodeURIComponent(mesh)}`),
  ]);
  const serviceData = await Promise.all(
    services.map(async ({ virtualServiceName }) => {
      const { body } = await api<{ spec: { provider?: Provider } }>(
        'GET',
        `${base}/virtualServices/${encodeURIComponent(virtualServiceName)}`,
      );
      return {
        name: virtualServiceName,
        router: body.spec.provider?.virtualRouter?.virtualRouterName,
        node: body.spec.provider?.virtualNode?.virtualNodeName,
      };
    }),
  );
  const routes = (
    await Promise.all(
      routers.map(async ({ virtualRouterName }) => {
        const routerPath = `${base}/virtualRouter/${encodeURIComponent(virtualRouterName)}/routes`;
        const list = await listAll<{ routeName: string }>(routerPath, 'routes');
        return Promise.all(
          list.map(
            async ({ routeName }) =>
              (await api<RouteData>('GET', `${routerPath}/${encodeURIComponent(routeName)}`)).body,
          ),
        );
      }),
    )
  ).flat();
  const nodeData = await Promise.all(
    nodes.map(async ({ virtualNodeName }) => {
      const { body } = await api<{
        spec: { backends?: Array<{ virtualService?: { virtualServiceName: string } }> };
      }>('GET', `${base}/virtualNodes/${encodeURIComponent(virtualNodeName)}`);
      return {
        name: virtualNodeName,
        backends: (body.spec.backends ?? []).flatMap((b) =>
          b.virtualService ? [b.virtualService.virtualServiceName] : [],
        ),
      };
    }),
  );
  const gatewayData = await Promise.all(
    gateways.map(async ({ virtualGatewayName }) => {
      const routesPath = `${base}/virtualGateway/${encodeURIComponent(virtualGatewayName)}/gatewayRoutes`;
      const names = await listAll<{ gatewayRouteName: string }>(routesPath, 'gatewayRoutes');
      const gatewayRoutes = await Promise.all(
        names.map(async ({ gatewayRouteName }) => {
          const { body } = await api<{ spec: Record<string, GatewayRouteKind | number> }>(
            'GET',
            `${routesPath}/${encodeURIComponent(gatewayRouteName)}`,
          );
          const kind = Object.values(body.spec).find(
            (value): value is GatewayRouteKind => typeof value === 'object',
          );
          return {
            name: gatewayRouteName,
            service: kind?.action?.target?.virtualService?.virtualServiceName,
          };
        }),
      );
      return { name: virtualGatewayName, routes: gatewayRoutes };
    }),
  );
  return {
    gateways: gatewayData,
    services: serviceData,
    routes,
    nodes: nodeData,
    proxies: proxies.body.proxies,
  };
}

function syncSummary(
  proxies: Proxy[],
  mesh: string,
  kind: 'virtualNode' | 'virtualGateway',
  name: string,
) {
  // A proxy names itself by path or by ARN (DESIGN.md, proxy identity).
  const path = `mesh/${mesh}/${kind}/${name}`;
  const mine = proxies.filter(
    (proxy) => proxy.connected && (proxy.nodeId === path || proxy.nodeId.endsWith(`:${path}`)),
  );
  if (mine.length === 0) return <span className="edge">no proxies</span>;
  const synced = mine.filter((proxy) => proxy.state === 'SYNCED').length;
  const nacked = mine.some((proxy) => proxy.state === 'NACKED');
  return (
    <span className={nacked ? 'nacked' : synced === mine.length ? 'synced' : 'pending'}>
      {synced}/{mine.length} proxies in sync
    </span>
  );
}

function Topology({ mesh }: { mesh: string }) {
  const [topology, error, reload] = useLoad(() => loadTopology(mesh), [mesh]);
  useMeshEvents(
    mesh,
    useCallback((event: MeshEvent) => event.type !== 'propagation' && reload(), [reload]),
  );
  if (!topology) return <Failure error={error} />;
  return (
    <>
      <Failure error={error} />
      <div className="columns" data-testid="topology">
        <div className="column">
          <h3>Gateways</h3>
          {topology.gateways.length === 0 && <p className="edge">no virtual gateways</p>}
          {topology.gateways.map((gateway) => (
            <div className="card" key={gateway.name} data-testid={`gateway-${gateway.name}`}>
              <strong>{gateway.name}</strong>
              <div>{syncSummary(topology.proxies, mesh, 'virtualGateway', gateway.name)}</div>
              {gateway.routes.map((route) => (
                <div className="edge" key={route.name}>
                  {route.name} → {route.service ?? 'no target'}
                </div>
              ))}
            </div>
          ))}
        </div>
        <div className="column">
          <h3>Virtual services</h3>
          {topology.services.map((service) => (
            <div className="card" key={service.name} data-testid={`service-${service.name}`}>
              <strong>{service.name}</strong>
              <div className="edge">
                →{' '}
                {service.router
                  ? `router ${service.router}`
                  : service.node
                    ? `node ${service.node}`
                    : 'no provider'}
              </div>
              <div className="edge">
                called by{' '}
                {topology.nodes
                  .filter((node) => node.backends.includes(service.name))
                  .map((node) => node.name)
                  .join(', ') || 'no node'}
              </div>
            </div>
          ))}
        </div>
        <div className="column">
          <h3>Routers and routes</h3>
          {topology.routes.map((route) => (
            <div
              className="card"
              key={`${route.virtualRouterName}/${route.routeName}`}
              data-testid={`route-${route.routeName}`}
            >
              <a href={path(mesh, 'route', route.virtualRouterName, route.routeName)}>
                {route.virtualRouterName} / {route.routeName}
              </a>
              {targetsOf(route).map((target) => (
                <div className="edge" key={target.virtualNode}>
                  →{' '}
                  <span
                    className="weight"
                    data-testid={`weight-${route.routeName}-${target.virtualNode}`}
                  >
                    {target.weight}
                  </span>{' '}
                  {target.virtualNode}
                </div>
              ))}
            </div>
          ))}
        </div>
        <div className="column">
          <h3>Virtual nodes</h3>
          {topology.nodes.map((node) => (
            <div className="card" key={node.name} data-testid={`node-${node.name}`}>
              <strong>{node.name}</strong>
              <div>{syncSummary(topology.proxies, mesh, 'virtualNode', node.name)}</div>
              {node.backends.length > 0 && (
                <div className="edge">backends: {node.backends.join(', ')}</div>
              )}
            </div>
          ))}
        </div>
      </div>
    </>
  );
}

/**
 * The later of two views of propagation: a higher revision, or the same one with more proxies
 * answered (a read and an event can arrive in either order).
 */
function newerPropagation(shown: Propagation | undefined, next: Propagation): Propagation {
  if (!shown || next.revision > shown.revision) return next;
  if (next.revision < shown.revision) return shown;
  return next.acked + next.nacked.length >= shown.acked + shown.nacked.length ? next : shown;
}

function RouteView({ mesh, router, route }: { mesh: string; router: string; route: string }) {
  const routePath = `${APP_MESH}/${encodeURIComponent(mesh)}/virtualRouter/${encodeURIComponent(router)}/routes/${encodeURIComponent(route)}`;
  const weightsPath = `/v1/meshes/${encodeURIComponent(mesh)}/virtualRouters/${encodeURIComponent(router)}/routes/${encodeURIComponent(route)}/weights`;
  const [data, error, reload] = useLoad(
    async () => (await api<RouteData>('GET', routePath)).body,
    [routePath],
  );
  const [draft, setDraft] = useState<Record<string, number>>({});
  const [preview, setPreview] = useState<unknown>();
  const [applied, setApplied] = useState<number>();
  const [propagation, setPropagation] = useState<Propagation>();
  const [failure, setFailure] = useState<string>();
  // The editor starts from the route as read, and again only when the route's version moves:
  // a reload on an event that left the route as it was keeps what the user is typing.
  const version = data?.metadata.version;
  useEffect(() => {
    if (data) setDraft(Object.fromEntries(targetsOf(data).map((t) => [t.virtualNode, t.weight])));
  }, [version]);
  // Events carry each change of propagation; a read fills in what came before the stream did.
  const showPropagation = useCallback(
    (next: Propagation) => setPropagation((shown) => newerPropagation(shown, next)),
    [],
  );
  const readPropagation = useCallback(
    () =>
      api<Propagation>('GET', `/v1/meshes/${encodeURIComponent(mesh)}/propagation`).then(
        ({ body }) => showPropagation(body),
        (problem: Error) => setFailure(problem.message),
      ),
    [mesh, showPropagation],
  );
  useMeshEvents(
    mesh,
    useCallback(
      (event: MeshEvent) => {
        if (event.type === 'propagation') showPropagation(event.data as Propagation);
        if (reloadOn(event, 'change')) reload();
        if (event.type === 'hello' || event.type === 'resync') void readPropagation();
      },
      [reload, readPropagation, showPropagation],
    ),
  );
  const run = async (dryRun: boolean) => {
    setFailure(undefined);
    try {
      const { body, headers } = await api<unknown>(
        'PUT',
        `${weightsPath}${dryRun ? '?dryRun=true' : ''}`,
        { targets: draft },
        data ? { 'if-match': `"${data.metadata.version}"` } : {},
      );
      if (dryRun) setPreview(body);
      else {
        setApplied(Number(headers.get('x-trellis-mesh-revision')));
        setPreview(undefined);
        reload();
        void readPropagation();
      }
    } catch (problem) {
      setFailure(
        problem instanceof ApiError ? `${problem.type}: ${problem.message}` : String(problem),
      );
    }
  };
  if (!data) return <Failure error={error} />;
  const reached = applied !== undefined && propagation && propagation.revision >= applied;
  return (
    <>
      <h2>
        Route {router} / {route} <span className="edge">version {data.metadata.version}</span>
      </h2>
      <table style={{ maxWidth: '36rem' }}>
        <tbody>
          {Object.entries(draft).map(([node, weight]) => (
            <tr key={node}>
              <td>{node}</td>
              <td>
                <input
                  type="range"
                  min={0}
                  max={100}
                  value={weight}
                  aria-label={`weight of ${node}`}
                  onChange={(e) => setDraft({ ...draft, [node]: Number(e.target.value) })}
                />
              </td>
              <td>
                <input
                  type="number"
                  min={0}
                  max={100}
                  value={weight}
                  aria-label={`weight of ${node} (number)`}
                  onChange={(e) => setDraft({ ...draft, [node]: Number(e.target.value) })}
                  style={{ width: '4rem' }}
                />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p>
        <button className="secondary" onClick={() => void run(true)}>
          Preview
        </button>{' '}
        <button onClick={() => void run(false)}>Apply</button>
      </p>
      <Failure error={failure} />
      {preview !== undefined && (
        <details open>
          <summary>Preview: what the clients' sidecars would receive</summary>
          <pre>{JSON.stringify(preview, null, 2)}</pre>
        </details>
      )}
      {applied !== undefined && (
        <div data-testid="propagation">
          <p>Revision {applied} applied.</p>
          {reached ? (
            <>
              <div className="bar">
                <div
                  style={{
                    width: `${propagation.proxies ? (100 * propagation.acked) / propagation.proxies : 100}%`,
                  }}
                />
              </div>
              <p
                className={
                  propagation.nacked.length
                    ? 'nacked'
                    : propagation.acked === propagation.proxies
                      ? 'synced'
                      : 'pending'
                }
              >
                {propagation.acked} of {propagation.proxies} proxies in sync
              </p>
              {propagation.nacked.map((nack) => (
                <p className="nacked" key={nack.node}>
                  {nack.node}: {nack.message}
                </p>
              ))}
            </>
          ) : (
            <p className="pending">waiting for proxies…</p>
          )}
        </div>
      )}
    </>
  );
}

function Proxies({ mesh }: { mesh: string }) {
  const [proxies, error, reload] = useLoad(
    async () =>
      (await api<{ proxies: Proxy[] }>('GET', `/v1/proxies?mesh=${encodeURIComponent(mesh)}`)).body
        .proxies,
    [mesh],
  );
  useMeshEvents(
    mesh,
    useCallback((event: MeshEvent) => reloadOn(event, 'proxy') && reload(), [reload]),
  );
  return (
    <>
      <h2>Proxies</h2>
      <Failure error={error} />
      <table data-testid="proxies">
        <thead>
          <tr>
            <th>Node</th>
            <th>State</th>
            <th>Revision</th>
            <th>Types</th>
          </tr>
        </thead>
        <tbody>
          {proxies?.map((proxy, index) => (
            <tr
              key={index}
              className={proxy.state === 'NACKED' ? 'nacked' : undefined}
              data-state={proxy.state}
            >
              <td>
                {proxy.nodeId}
                {proxy.connected ? '' : ' (disconnected)'}
              </td>
              <td
                className={
                  proxy.state === 'SYNCED'
                    ? 'synced'
                    : proxy.state === 'NACKED'
                      ? 'nacked'
                      : 'pending'
                }
              >
                {proxy.state}
              </td>
              <td>{proxy.syncedRevision ?? '–'}</td>
              <td>
                {proxy.types.map((type) => (
                  <div key={type.type} className={type.state === 'NACKED' ? 'nacked' : undefined}>
                    {type.type} {type.state}
                    {type.lastNack && type.state === 'NACKED' ? `: ${type.lastNack.message}` : ''}
                  </div>
                ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function Rollouts({ mesh }: { mesh: string }) {
  const base = `/v1/meshes/${encodeURIComponent(mesh)}/rollouts`;
  const [rollouts, error, reload] = useLoad(
    async () => (await api<{ rollouts: Rollout[] }>('GET', base)).body.rollouts,
    [base],
  );
  const [failure, setFailure] = useState<string>();
  useMeshEvents(
    mesh,
    useCallback((event: MeshEvent) => reloadOn(event, 'rollout') && reload(), [reload]),
  );
  const act = async (id: string, action: string) => {
    setFailure(undefined);
    try {
      await api('POST', `${base}/${id}/${action}`, {});
      reload();
    } catch (problem) {
      setFailure(problem instanceof Error ? problem.message : String(problem));
    }
  };
  return (
    <>
      <h2>Rollouts</h2>
      <Failure error={error ?? failure} />
      {rollouts?.length === 0 && (
        <p>No rollouts: start one with `trellis rollout start` or POST {base}.</p>
      )}
      {rollouts?.map((rollout) => (
        <div
          className="card"
          key={rollout.id}
          data-testid={`rollout-${rollout.id}`}
          style={{ marginBottom: '0.8rem' }}
        >
          <strong>
            {rollout.route.virtualRouter}/{rollout.route.route}: {rollout.from} → {rollout.to}
          </strong>{' '}
          <span data-testid="rollout-state">{rollout.state}</span>
          <ol>
            {rollout.steps.map((weight, index) => (
              <li
                key={index}
                className={
                  index + 1 < rollout.step
                    ? 'synced'
                    : index + 1 === rollout.step
                      ? 'weight'
                      : 'edge'
                }
              >
                {weight}% to {rollout.to} {index + 1 === rollout.step ? '← current step' : ''}
              </li>
            ))}
          </ol>
          <div className="edge">
            weights now:{' '}
            {Object.entries(rollout.weights)
              .map(([n, w]) => `${n} ${w}`)
              .join(', ')}
          </div>
          {!['Succeeded', 'Aborted', 'Failed'].includes(rollout.state) && (
            <p>
              {['pause', 'resume', 'promote', 'abort'].map((action) => (
                <button
                  key={action}
                  className={action === 'abort' ? undefined : 'secondary'}
                  onClick={() => void act(rollout.id, action)}
                >
                  {action}
                </button>
              ))}
            </p>
          )}
        </div>
      ))}
    </>
  );
}

function History({ mesh }: { mesh: string }) {
  const [page, error, reload] = useLoad(
    async () =>
      (
        await api<{ revision: number; changes: Change[] }>(
          'GET',
          `/v1/meshes/${encodeURIComponent(mesh)}/history?limit=50`,
        )
      ).body,
    [mesh],
  );
  const [failure, setFailure] = useState<string>();
  useMeshEvents(
    mesh,
    useCallback((event: MeshEvent) => reloadOn(event, 'change') && reload(), [reload]),
  );
  const revert = async (revision: number) => {
    if (!window.confirm(`Revert mesh ${mesh} to revision ${revision}? This writes a new revision.`))
      return;
    setFailure(undefined);
    try {
      await api('POST', `/v1/meshes/${encodeURIComponent(mesh)}/revisions/${revision}/revert`, {});
      reload();
    } catch (problem) {
      setFailure(problem instanceof Error ? problem.message : String(problem));
    }
  };
  return (
    <>
      <h2>
        History <span className="edge">revision {page?.revision}</span>
      </h2>
      <Failure error={error ?? failure} />
      <table data-testid="history">
        <thead>
          <tr>
            <th>Revision</th>
            <th>When</th>
            <th>Who</th>
            <th>What</th>
            <th>Change</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {page?.changes.map((change) => (
            <tr key={change.revision} data-revision={change.revision}>
              <td>{change.revision}</td>
              <td>{new Date(change.time).toLocaleString()}</td>
              <td>{change.actor}</td>
              <td>
                {change.operation} {change.kind} {change.parent ? `${change.parent}/` : ''}
                {change.name}
              </td>
              <td>
                <Diff before={change.before} after={change.after} />
              </td>
              <td>
                <button className="secondary" onClick={() => void revert(change.revision)}>
                  Revert to here
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function Diff({ before, after }: { before: unknown; after: unknown }) {
  const spec = (value: unknown) =>
    JSON.stringify((value as { spec?: unknown } | null)?.spec ?? null);
  if (spec(before) === spec(after)) return <span className="edge">tags or metadata only</span>;
  return (
    <details>
      <summary>spec</summary>
      <pre className="nacked">- {spec(before)}</pre>
      <pre className="synced">+ {spec(after)}</pre>
    </details>
  );
}

function Diagnostics({ mesh }: { mesh: string }) {
  const [data, error, reload] = useLoad(
    async () =>
      (
        await api<{
          revision: number;
          status: string;
          diagnostics: Array<{
            kind: string;
            message?: string;
            description?: string;
            proxy?: string;
          }>;
        }>('GET', `/v1/meshes/${encodeURIComponent(mesh)}/diagnostics`)
      ).body,
    [mesh],
  );
  useMeshEvents(
    mesh,
    useCallback((event: MeshEvent) => reloadOn(event, 'diagnostics') && reload(), [reload]),
  );
  return (
    <>
      <h2>
        Diagnostics{' '}
        <span className="edge">
          revision {data?.revision} {data?.status}
        </span>
      </h2>
      <Failure error={error} />
      {data?.diagnostics.length === 0 && (
        <p className="synced">Nothing keeps this mesh's configuration from its proxies.</p>
      )}
      <ul>
        {data?.diagnostics.map((diagnostic, index) => (
          <li key={index} className="nacked">
            {diagnostic.kind}
            {diagnostic.proxy ? ` (${diagnostic.proxy})` : ''}:{' '}
            {diagnostic.message ?? diagnostic.description}
          </li>
        ))}
      </ul>
    </>
  );
}
