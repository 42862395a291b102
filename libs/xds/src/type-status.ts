import type { TypeUrl } from '../../xds-types/src/resource-types';

export type SyncState = 'SYNCED' | 'STALE' | 'NACKED' | 'NOT_SENT';

export interface SentResponse {
  version: string;
  nonce: string;
  at: number;
  revision?: number;
  /** `performance.now()` of the snapshot's publication, for push latency. */
  publishedAt: number;
}

export interface Nack {
  message: string;
  at: number;
  /** The version of the response the proxy rejected. */
  version: string;
  nonce: string;
}

/** Called when a proxy answers a response: `nack` tells an ACK from a NACK. */
export type AnswerListener = (
  typeUrl: TypeUrl,
  response: SentResponse,
  nack: boolean,
  now: number,
) => void;

/** What one stream knows about one resource type: the proxy-status row for that type. */
export class TypeStatus {
  lastSent?: SentResponse;
  lastAcked?: SentResponse;
  lastNack?: Nack;
  /** Responses sent and not yet answered, by nonce. */
  private readonly inFlight = new Map<string, SentResponse>();

  constructor(
    readonly typeUrl: TypeUrl,
    private readonly onAnswer?: AnswerListener,
  ) {}

  sent(response: SentResponse): void {
    this.lastSent = response;
    this.inFlight.set(response.nonce, response);
  }

  /**
   * Records that the proxy already has `version` without being sent it, as when it reconnects
   * reporting what it has: nothing is sent and the type is in sync.
   */
  alreadyHas(version: string, revision: number | undefined, now: number): void {
    this.sent({ version, nonce: '', at: now, revision, publishedAt: now });
    this.answered('', undefined, now);
  }

  /** Records the proxy's answer to `nonce`; returns the response answered, if it was in flight. */
  answered(nonce: string, errorMessage: string | undefined, now: number): SentResponse | undefined {
    const response = this.inFlight.get(nonce);
    if (!response) return undefined;
    // Answers come in order: everything sent before this nonce is settled too.
    for (const key of this.inFlight.keys()) {
      this.inFlight.delete(key);
      if (key === nonce) break;
    }
    if (errorMessage === undefined) {
      this.lastAcked = response;
    } else {
      this.lastNack = { message: errorMessage, at: now, version: response.version, nonce };
    }
    if (nonce !== '') this.onAnswer?.(this.typeUrl, response, errorMessage !== undefined, now);
    return response;
  }

  get state(): SyncState {
    if (!this.lastSent) return 'NOT_SENT';
    if (this.lastNack && this.lastNack.nonce === this.lastSent.nonce) return 'NACKED';
    if (this.lastAcked && this.lastAcked.nonce === this.lastSent.nonce) return 'SYNCED';
    return 'STALE';
  }
}
