import { nameMembers } from '../../../../libs/mesh-model/src/resource-kinds';
import type { StoredResource } from '../../../../libs/persistence/src/mesh-store';

export type ResourceStatus = 'ACTIVE' | 'DELETED';

/** Epoch seconds, the wire format of App Mesh timestamps (fractions allowed). */
function epochSeconds(date: Date): number {
  return date.getTime() / 1000;
}

/** The `*Data` body of Create/Describe/Update/Delete: names, spec, metadata, status. */
export function resourceData(
  resource: StoredResource,
  accountId: string,
  status: ResourceStatus,
  lastUpdatedAt = resource.lastUpdatedAt,
): Record<string, unknown> {
  return {
    ...nameMembers(resource.id),
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
    ...nameMembers(resource.id),
    meshOwner: accountId,
    resourceOwner: resource.resourceOwner,
    arn: resource.arn,
    version: resource.version,
    createdAt: epochSeconds(resource.createdAt),
    lastUpdatedAt: epochSeconds(resource.lastUpdatedAt),
  };
}
