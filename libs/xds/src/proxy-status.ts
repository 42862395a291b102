import type { ValidationFailure } from '../../envoy-api/src/validation/resource-validator';
import type { ConfigDiagnostic } from './config-source';
import type { SyncState } from './type-status';

/** One resource type of one proxy, as `GET /v1/proxies` shows it. */
export interface TypeSyncStatus {
  type: string;
  typeUrl: string;
  state: SyncState;
  /** `*` for a wildcard subscription. */
  subscribed: string[] | '*';
  sentVersion?: string;
  sentNonce?: string;
  sentAt?: string;
  sentRevision?: number;
  ackedVersion?: string;
  ackedAt?: string;
  ackedRevision?: number;
  lastNack?: { message: string; at: string; version: string };
}

/** A connected proxy and what it has, like `istioctl proxy-status`. */
export interface ProxyStatus {
  nodeId: string;
  cluster: string;
  /** The mesh the proxy belongs to, when the configuration source knows it. */
  mesh?: string;
  userAgent: string;
  userAgentVersion: string;
  protocol: 'sotw' | 'delta';
  connectedSince: string;
  /** SYNCED when every subscribed type is SYNCED; otherwise the worst state. */
  state: SyncState;
  /** The latest mesh revision whose configuration the proxy has acknowledged in full. */
  syncedRevision?: number;
  types: TypeSyncStatus[];
  /**
   * Types the proxy asked for that Trellis does not serve (it answers nothing for them), with the
   * number of requests; at most 16 are listed.
   */
  unknownTypes?: Array<{ typeUrl: string; requests: number }>;
  /** Resources withheld from this proxy because they break Envoy's validation rules. */
  rejectedResources: Array<{ typeUrl: string; name: string; failures: ValidationFailure[] }>;
  /**
   * Everything that keeps this proxy from having its configuration as written: the source's
   * translation problems, withheld resources (`invalid-resource`) and NACKs (`nack`).
   */
  diagnostics: ConfigDiagnostic[];
}

const STATE_ORDER: SyncState[] = ['NACKED', 'STALE', 'NOT_SENT', 'SYNCED'];

export function overallState(states: SyncState[]): SyncState {
  for (const state of STATE_ORDER) if (states.includes(state)) return state;
  return 'NOT_SENT';
}
