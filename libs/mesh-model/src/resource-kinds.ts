/**
 * The App Mesh resource types Trellis stores, and how the API names them. A route is the
 * only kind with a parent (its virtual router); every other kind lives directly in a mesh.
 */
export type ResourceKind = 'mesh' | 'virtualNode' | 'virtualRouter' | 'route' | 'virtualService';

export interface ResourceKindInfo {
  kind: ResourceKind;
  /** As in operation names and error messages: `VirtualNode`. */
  typeName: string;
  /** The request/response member holding the resource's own name. */
  nameMember: string;
  /** The List* response member. */
  listMember: string;
  parentKind?: ResourceKind;
}

export const RESOURCE_KINDS: Record<ResourceKind, ResourceKindInfo> = {
  mesh: { kind: 'mesh', typeName: 'Mesh', nameMember: 'meshName', listMember: 'meshes' },
  virtualNode: {
    kind: 'virtualNode',
    typeName: 'VirtualNode',
    nameMember: 'virtualNodeName',
    listMember: 'virtualNodes',
  },
  virtualRouter: {
    kind: 'virtualRouter',
    typeName: 'VirtualRouter',
    nameMember: 'virtualRouterName',
    listMember: 'virtualRouters',
  },
  route: {
    kind: 'route',
    typeName: 'Route',
    nameMember: 'routeName',
    listMember: 'routes',
    parentKind: 'virtualRouter',
  },
  virtualService: {
    kind: 'virtualService',
    typeName: 'VirtualService',
    nameMember: 'virtualServiceName',
    listMember: 'virtualServices',
  },
};

/** Identifies one resource. For a mesh, `meshName` and `name` are the same. */
export interface ResourceId {
  meshName: string;
  kind: ResourceKind;
  /** The virtual router of a route; '' for every other kind. */
  parentName: string;
  name: string;
}

export function meshId(meshName: string): ResourceId {
  return { meshName, kind: 'mesh', parentName: '', name: meshName };
}

/** `mesh/<mesh>/virtualRouter/<router>/route/<route>` and the other forms App Mesh uses. */
export function resourcePath(id: ResourceId): string {
  switch (id.kind) {
    case 'mesh':
      return `mesh/${id.meshName}`;
    case 'route':
      return `mesh/${id.meshName}/virtualRouter/${id.parentName}/route/${id.name}`;
    case 'virtualNode':
    case 'virtualRouter':
    case 'virtualService':
      return `mesh/${id.meshName}/${id.kind}/${id.name}`;
  }
}

export function resourceArn(region: string, accountId: string, id: ResourceId): string {
  return `arn:aws:appmesh:${region}:${accountId}:${resourcePath(id)}`;
}

/** "VirtualNode with name web already exists under mesh demo" */
export function describeExisting(id: ResourceId): string {
  const typeName = RESOURCE_KINDS[id.kind].typeName;
  if (id.kind === 'mesh') return `Mesh with name ${id.name} already exists`;
  return `${typeName} with name ${id.name} already exists under ${container(id)}`;
}

function container(id: ResourceId): string {
  return id.kind === 'route'
    ? `virtual router ${id.parentName} in mesh ${id.meshName}`
    : `mesh ${id.meshName}`;
}

/** "VirtualNode with name web is not present under mesh demo" — App Mesh's own wording. */
export function describeMissing(id: ResourceId, accountId: string): string {
  if (id.kind === 'mesh')
    return `Mesh with name ${id.name} is not present for account ${accountId}`;
  const typeName = RESOURCE_KINDS[id.kind].typeName;
  return `${typeName} with name ${id.name} is not present under ${container(id)} for account ${accountId}`;
}
