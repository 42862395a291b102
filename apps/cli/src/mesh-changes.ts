import { formatTable } from './terminal';
import { formatWeights, weightsOfRouteSpec } from './weighted-targets';

/** A resource as it was before or after a change: spec, tags, version. */
interface ResourceState {
  spec?: unknown;
  version?: number;
}

/** A change-log entry, as `GET /v1/meshes/{mesh}/history` and a revert answer them. */
export interface MeshChange {
  revision: number;
  time: string;
  actor: string;
  kind: string;
  name: string;
  /** The virtual router of a route. */
  parent: string | null;
  operation: string;
  before: ResourceState | null;
  after: ResourceState | null;
  reason: string | null;
  rolloutId: string | null;
}

/** One row per change; for a route the weights before and after, as a canary moves them. */
export function changesTable(changes: readonly MeshChange[]): string {
  const rows = changes.map((change) => [
    String(change.revision),
    // To the second: the milliseconds only widen the column.
    change.time.replace(/\.\d+Z$/, 'Z'),
    change.actor,
    change.operation,
    `${change.kind} ${[change.parent, change.name].filter(Boolean).join('/')}`,
    describeChange(change),
    change.reason ?? (change.rolloutId ? `rollout ${change.rolloutId}` : ''),
  ]);
  return formatTable(
    ['REVISION', 'TIME', 'ACTOR', 'OPERATION', 'RESOURCE', 'CHANGE', 'REASON'],
    rows,
  );
}

/** Weights before → after for a route; versions otherwise. */
function describeChange(change: MeshChange): string {
  const before = weightsOfRouteSpec(change.before?.spec);
  const after = weightsOfRouteSpec(change.after?.spec);
  if (before || after) {
    return `${before ? formatWeights(before) : '(none)'} → ${after ? formatWeights(after) : '(none)'}`;
  }
  const from = change.before?.version;
  const to = change.after?.version;
  if (from !== undefined && to !== undefined && from !== to) return `version ${from} → ${to}`;
  return '';
}
