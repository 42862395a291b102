/**
 * Per-key request rates, one token bucket per key on each replica: a key may send
 * `requestsPerSecond` requests a second on average and as many at once.
 */
export class KeyRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly defaultRequestsPerSecond: number,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Takes one request's token; false when the key is over its rate. */
  take(keyName: string, requestsPerSecond: number | null): boolean {
    const rate = requestsPerSecond ?? this.defaultRequestsPerSecond;
    const now = this.clock();
    const bucket = this.buckets.get(keyName) ?? { tokens: rate, at: now };
    bucket.tokens = Math.min(rate, bucket.tokens + ((now - bucket.at) / 1000) * rate);
    bucket.at = now;
    this.buckets.set(keyName, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}
