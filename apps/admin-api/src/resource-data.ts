import type { StoredResource } from '../../../libs/persistence/src/mesh-store';

export type ResourceStatus = 'ACTIVE' | 'DELETED';

/** Epoch seconds, the wire format of App Mesh timestamps (fractions allowed). */
function epochSeconds(date: Date): number {
  return date.getTime() / 1000;
}

function names(resource: StoredResource): Record<string, string> {
  const { meshName, kind, parentName, name } = resource.id;
  switch (kind) {
    case 'mesh':
      return { meshName };
    case 'virtualNode':
      return { meshName, virtualNodeName: name };
    case 'virtualRouter':
      return { meshName, virtualRouterName: name };
    case 'route':
      return { meshName, virtualRouterName: parentName, routeName: name };
    case 'virtualService':
      return { meshName, virtualServiceName: name };
  }
}

/** The `*Data` body of Create/Describe/Update/Delete: names, spec, metadata, status. */
export function resourceData(
  resource: StoredResource,
  accountId: string,
  status: ResourceStatus,
  lastUpdatedAt = resource.lastUpdatedAt,
): Record<string, unknown> {
  return {
    ...names(resource),
    spec: resource.spec,
    metadata: {
      arn: resource.arn,
      uid: resource.uid,
      version: resource.version,
      createdAt: epochSeconds(resource.createdAt),
      lastUpdatedAt: epochSeconds(lastUpdatedAt),
      meshOwner: accountId,
      resourceOwner: resource.resourceOwner,
    },
    status: { status },
  };
}

/** A List* item: names plus the metadata App Mesh puts in its `*Ref` shapes. */
export function resourceRef(resource: StoredResource, accountId: string): Record<string, unknown> {
  return {
    ...names(resource),
    meshOwner: accountId,
    resourceOwner: resource.resourceOwner,
    arn: resource.arn,
    version: resource.version,
    createdAt: epochSeconds(resource.createdAt),
    lastUpdatedAt: epochSeconds(resource.lastUpdatedAt),
  };
}
