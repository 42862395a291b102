import {
  gatewayRouteAgainstGateway,
  gatewayRouteReferences,
  gatewayRouteTargetPort,
  noReferences,
  routeAgainstRouter,
  routeReferences,
  virtualServiceReferences,
  type EnforcedReference,
} from './references';

/**
 * The App Mesh resource types Trellis stores. Everything the API, the write path and the
 * history need to know about a kind is declared once, in its descriptor in
 * {@link RESOURCE_KINDS}: a new kind is a new entry there (and the compiler then lists every
 * switch that must handle it).
 */
export type ResourceKind =
  | 'mesh'
  | 'virtualNode'
  | 'virtualRouter'
  | 'route'
  | 'virtualService'
  | 'virtualGateway'
  | 'gatewayRoute'
  | 'routeHeaderRule'
  | 'gatewayRouteHeaderRule';

/**
 * Trellis' own kinds (`/v1`) that attach one to one to an App Mesh resource: they share its
 * parent and name, need it to exist, are deleted with it, and leave its App Mesh spec untouched.
 */
export type AttachedResourceKind = 'routeHeaderRule' | 'gatewayRouteHeaderRule';

/** The kinds of the App Mesh API, which have count limits, tags and `appmesh` ARNs. */
export type AppMeshResourceKind = Exclude<ResourceKind, AttachedResourceKind>;

export interface ResourceKindInfo {
  kind: ResourceKind;
  /** As in operation names and error messages: `VirtualNode`. */
  typeName: string;
  /** In sentences: `virtual node`. */
  displayName: string;
  /** The request/response member holding the resource's own name. */
  nameMember: string;
  /** The List* response member. */
  listMember: string;
  /**
   * The kind this one lives under inside its mesh (a route's virtual router), which must exist;
   * unset for kinds that live directly in a mesh. The ARN and the API paths name it.
   */
  parentKind?: ResourceKind;
  /**
   * For Trellis' own kinds, the App Mesh resource each one attaches to: same parent name and
   * name, which must exist (and is its parent), and whose delete deletes it too.
   */
  attachedTo?: 'route' | 'gatewayRoute';
  /** What the count limit of this kind is counted over; `attached`: one per resource, no limit. */
  limitScope: 'account' | 'mesh' | 'parent' | 'attached';
  /** The references its spec makes that must exist (App Mesh enforces them). */
  references: (spec: unknown) => EnforcedReference[];
  /**
   * A rule between the spec and its parent's spec (a route's type needs a matching listener on
   * its virtual router); returns the problem.
   */
  checkAgainstParent?: (
    spec: Record<string, unknown>,
    parent: { name: string; spec: Record<string, unknown> },
  ) => { field: string; message: string } | undefined;
  /**
   * A rule between the spec and what its references lead to (a gateway route's target port
   * against the listeners of its virtual service's provider). `read` gives a resource of the
   * mesh, read in the write's transaction; returns the problem.
   */
  checkAgainstReferences?: (
    spec: Record<string, unknown>,
    read: ResourceReader,
  ) => Promise<{ field: string; message: string } | undefined>;
  /**
   * What keeps a resource from being deleted besides resources referencing it: `mesh`,
   * every resource inside the mesh; otherwise the kinds whose resources live under it.
   */
  deleteBlockedBy: 'everything in the mesh' | readonly ResourceKind[];
  /**
   * Dependency order: what others reference or live under comes first when creating (and last
   * when deleting), so every reference resolves at each step of a multi-resource write.
   */
  rank: number;
}

/** A resource's spec of the mesh being written, read in the write's transaction. */
export type ResourceReader = (
  kind: ResourceKind,
  name: string,
) => Promise<Record<string, unknown> | undefined>;

export const RESOURCE_KINDS: Record<ResourceKind, ResourceKindInfo> = {
  mesh: {
    kind: 'mesh',
    typeName: 'Mesh',
    displayName: 'mesh',
    nameMember: 'meshName',
    listMember: 'meshes',
    limitScope: 'account',
    references: noReferences,
    deleteBlockedBy: 'everything in the mesh',
    rank: 0,
  },
  virtualNode: {
    kind: 'virtualNode',
    typeName: 'VirtualNode',
    displayName: 'virtual node',
    nameMember: 'virtualNodeName',
    listMember: 'virtualNodes',
    limitScope: 'mesh',
    references: noReferences,
    deleteBlockedBy: [],
    rank: 1,
  },
  virtualRouter: {
    kind: 'virtualRouter',
    typeName: 'VirtualRouter',
    displayName: 'virtual router',
    nameMember: 'virtualRouterName',
    listMember: 'virtualRouters',
    limitScope: 'mesh',
    references: noReferences,
    deleteBlockedBy: ['route'],
    rank: 2,
  },
  route: {
    kind: 'route',
    typeName: 'Route',
    displayName: 'route',
    nameMember: 'routeName',
    listMember: 'routes',
    parentKind: 'virtualRouter',
    limitScope: 'parent',
    references: routeReferences,
    checkAgainstParent: routeAgainstRouter,
    deleteBlockedBy: [],
    rank: 3,
  },
  virtualService: {
    kind: 'virtualService',
    typeName: 'VirtualService',
    displayName: 'virtual service',
    nameMember: 'virtualServiceName',
    listMember: 'virtualServices',
    limitScope: 'mesh',
    references: virtualServiceReferences,
    deleteBlockedBy: [],
    rank: 4,
  },
  virtualGateway: {
    kind: 'virtualGateway',
    typeName: 'VirtualGateway',
    displayName: 'virtual gateway',
    nameMember: 'virtualGatewayName',
    listMember: 'virtualGateways',
    limitScope: 'mesh',
    references: noReferences,
    deleteBlockedBy: ['gatewayRoute'],
    rank: 5,
  },
  gatewayRoute: {
    kind: 'gatewayRoute',
    typeName: 'GatewayRoute',
    displayName: 'gateway route',
    nameMember: 'gatewayRouteName',
    listMember: 'gatewayRoutes',
    parentKind: 'virtualGateway',
    limitScope: 'parent',
    references: gatewayRouteReferences,
    checkAgainstParent: gatewayRouteAgainstGateway,
    checkAgainstReferences: gatewayRouteTargetPort,
    deleteBlockedBy: [],
    rank: 6,
  },
  routeHeaderRule: {
    kind: 'routeHeaderRule',
    typeName: 'RouteHeaderRule',
    displayName: 'header rule of route',
    nameMember: 'routeName',
    listMember: 'routeHeaderRules',
    attachedTo: 'route',
    limitScope: 'attached',
    references: noReferences,
    deleteBlockedBy: [],
    rank: 7,
  },
  gatewayRouteHeaderRule: {
    kind: 'gatewayRouteHeaderRule',
    typeName: 'GatewayRouteHeaderRule',
    displayName: 'header rule of gateway route',
    nameMember: 'gatewayRouteName',
    listMember: 'gatewayRouteHeaderRules',
    attachedTo: 'gatewayRoute',
    limitScope: 'attached',
    references: noReferences,
    deleteBlockedBy: [],
    rank: 8,
  },
};

/** The path segment after its resource's path that names an attached resource. */
const ATTACHED_SEGMENT = 'headerRule';

/** The resources of Trellis' own kinds attached to `id` (a route's header rule), existing or not. */
export function attachmentsOf(id: ResourceId): ResourceId[] {
  return Object.values(RESOURCE_KINDS)
    .filter((info) => info.attachedTo === id.kind)
    .map((info) => ({ ...id, kind: info.kind }));
}

/** Identifies one resource. For a mesh, `meshName` and `name` are the same. */
export interface ResourceId {
  meshName: string;
  kind: ResourceKind;
  /** The parent's name for a kind with a parent (a route's virtual router); '' otherwise. */
  parentName: string;
  name: string;
}

export function meshId(meshName: string): ResourceId {
  return { meshName, kind: 'mesh', parentName: '', name: meshName };
}

/**
 * The resource `id` lives under (a route's virtual router), or the one it is attached to (a header
 * rule's route); undefined for other kinds.
 */
export function parentId(id: ResourceId): ResourceId | undefined {
  const { parentKind, attachedTo } = RESOURCE_KINDS[id.kind];
  if (attachedTo !== undefined) return { ...id, kind: attachedTo };
  return parentKind === undefined
    ? undefined
    : { meshName: id.meshName, kind: parentKind, parentName: '', name: id.parentName };
}

/** The references App Mesh enforces for a spec of `kind`. */
export function enforcedReferences(kind: ResourceKind, spec: unknown): EnforcedReference[] {
  return RESOURCE_KINDS[kind].references(spec);
}

/** The resource a reference of a spec in `meshName` names. */
export function referencedId(meshName: string, reference: EnforcedReference): ResourceId {
  return { meshName, kind: reference.kind, parentName: '', name: reference.name };
}

/** `mesh/<mesh>/virtualRouter/<router>/route/<route>` and the other forms App Mesh uses. */
export function resourcePath(id: ResourceId): string {
  if (id.kind === 'mesh') return `mesh/${id.meshName}`;
  const parent = parentId(id);
  if (parent && RESOURCE_KINDS[id.kind].attachedTo) {
    return `${resourcePath(parent)}/${ATTACHED_SEGMENT}`;
  }
  const own = `${id.kind}/${id.name}`;
  return `mesh/${id.meshName}/${parent ? `${parent.kind}/${parent.name}/` : ''}${own}`;
}

/**
 * App Mesh's ARN; Trellis' own kinds get the `trellis` service instead, so that no App Mesh call
 * addressed by ARN (TagResource, ListTagsForResource) reaches them.
 */
export function resourceArn(region: string, accountId: string, id: ResourceId): string {
  const service = RESOURCE_KINDS[id.kind].attachedTo ? 'trellis' : 'appmesh';
  return `arn:aws:${service}:${region}:${accountId}:${resourcePath(id)}`;
}

/** The mesh an App Mesh ARN names; undefined when it is not one. */
export function meshNameOfArn(arn: string): string | undefined {
  return /^arn:[^:]+:appmesh:[^:]*:[^:]*:mesh\/([^/]+)/.exec(arn)?.[1];
}

/** The request/response members naming a resource: `{meshName, virtualRouterName, routeName}`. */
export function nameMembers(id: ResourceId): Record<string, string> {
  if (id.kind === 'mesh') return { meshName: id.meshName };
  const info = RESOURCE_KINDS[id.kind];
  const attached = info.attachedTo && parentId(id);
  if (attached) return nameMembers(attached);
  const parent = info.parentKind && RESOURCE_KINDS[info.parentKind];
  return {
    meshName: id.meshName,
    ...(parent && { [parent.nameMember]: id.parentName }),
    [info.nameMember]: id.name,
  };
}

/** `Route web/canary`, `VirtualNode blue`. */
export function describeResource(id: ResourceId): string {
  const name = id.parentName ? `${id.parentName}/${id.name}` : id.name;
  return `${RESOURCE_KINDS[id.kind].typeName} ${name}`;
}

/** "VirtualNode with name web already exists under mesh demo" */
export function describeExisting(id: ResourceId): string {
  const typeName = RESOURCE_KINDS[id.kind].typeName;
  if (id.kind === 'mesh') return `Mesh with name ${id.name} already exists`;
  return `${typeName} with name ${id.name} already exists under ${container(id)}`;
}

/** Where a resource lives: `virtual router web in mesh demo`, `mesh demo`. */
function container(id: ResourceId): string {
  const parent = parentId(id);
  return parent
    ? `${RESOURCE_KINDS[parent.kind].displayName} ${parent.name} in mesh ${id.meshName}`
    : `mesh ${id.meshName}`;
}

/** What a count limit of `id`'s kind is counted over: `this account`, `virtual router web`. */
export function limitScopeOf(id: ResourceId): string {
  switch (RESOURCE_KINDS[id.kind].limitScope) {
    case 'account':
      return 'this account';
    case 'mesh':
      return `mesh ${id.meshName}`;
    case 'parent':
    case 'attached': {
      const parent = parentId(id);
      return parent ? `${RESOURCE_KINDS[parent.kind].displayName} ${parent.name}` : '';
    }
  }
}

/** "VirtualNode with name web is not present under mesh demo" — App Mesh's own wording. */
export function describeMissing(id: ResourceId, accountId: string): string {
  if (id.kind === 'mesh')
    return `Mesh with name ${id.name} is not present for account ${accountId}`;
  const typeName = RESOURCE_KINDS[id.kind].typeName;
  return `${typeName} with name ${id.name} is not present under ${container(id)} for account ${accountId}`;
}
