/** What a proxy runs as, from its node id: a virtual node or a virtual gateway of a mesh. */
export interface ProxyIdentity {
  kind: 'virtualNode' | 'virtualGateway';
  meshName: string;
  name: string;
  /**
   * The account the node id says owns the mesh (`mesh/<mesh>@<owner>/…`, the form the App Mesh
   * controller for Kubernetes writes for a mesh shared from another account); unset when the id
   * names none.
   */
  meshOwner?: string;
}

/**
 * Every form App Mesh's Envoy image puts in `node.id` from `APPMESH_RESOURCE_ARN`:
 * `mesh/<mesh>/virtualNode/<name>`, `mesh/<mesh>/virtualGateway/<name>`, the full ARN of either,
 * and `mesh/<mesh>@<owner>/…` with a 12-digit owner account. App Mesh names may contain `@`
 * (the model gives them no pattern), so only `@` followed by exactly 12 digits at the end of the
 * mesh segment is read as an owner.
 */
const PROXY_PATH =
  /^(?:arn:[^:]+:appmesh[^:]*:[^:]*:[^:]*:)?mesh\/([^/]+?)(?:@(\d{12}))?\/(virtualNode|virtualGateway)\/([^/]+)$/;

/** The proxy a node id (or cluster) names; undefined when it names none. */
export function parseProxyIdentity(text: string | undefined): ProxyIdentity | undefined {
  const match = text ? PROXY_PATH.exec(text) : null;
  if (!match) return undefined;
  const [, meshName, meshOwner, kind, name] = match;
  return {
    kind: kind as ProxyIdentity['kind'],
    meshName: meshName!,
    name: name!,
    ...(meshOwner !== undefined && { meshOwner }),
  };
}

/** `mesh/<mesh>/<kind>/<name>`, the ARN resource path of the proxy (without any owner). */
export function proxyPath(identity: ProxyIdentity): string {
  return `mesh/${identity.meshName}/${identity.kind}/${identity.name}`;
}

/**
 * Why a node id naming another account's mesh cannot be served: Trellis holds the meshes of one
 * account (`TRELLIS_ACCOUNT_ID`); undefined when the owner is this account or unnamed.
 */
export function foreignOwnerProblem(
  identity: ProxyIdentity,
  accountId: string,
): string | undefined {
  if (identity.meshOwner === undefined || identity.meshOwner === accountId) return undefined;
  return (
    `the node id names mesh ${identity.meshName} owned by account ${identity.meshOwner}; ` +
    `this control plane serves the meshes of account ${accountId} only`
  );
}
