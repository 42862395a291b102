import { UsageError } from './command-line';
import { signRequest, type SigningConfig } from './request-signing';

export const DEFAULT_ENDPOINT = 'http://127.0.0.1:8080';
export const MESH_REVISION_HEADER = 'x-trellis-mesh-revision';

/** The mesh revision a write answered with; undefined when the server did not say. */
export function meshRevisionOf(headers: Headers): number | undefined {
  const value = Number(headers.get(MESH_REVISION_HEADER) ?? NaN);
  return Number.isInteger(value) ? value : undefined;
}

/** A request that never answers must not hold a CI job: each one gives up after this. */
const REQUEST_TIMEOUT_MS = 30_000;

/** An App Mesh error answer: status, `x-amzn-ErrorType`, `{"message"}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorType: string,
    message: string,
  ) {
    super(message);
  }
}

/** The server has no operation at this path: it predates the feature the command uses. */
export class UnsupportedOperationError extends Error {
  constructor(
    readonly feature: string,
    readonly endpoint: string,
    readonly operation: string,
  ) {
    super(`the server at ${endpoint} does not support ${feature} yet (no ${operation})`);
  }
}

/** No HTTP answer at all: connection refused, DNS, timeout. */
export class UnreachableError extends Error {}

/**
 * Worth asking again while waiting: no answer, or the server is failing or restarting
 * (5xx, e.g. ServiceUnavailableException while Postgres is away).
 */
export function isTransient(error: unknown): error is Error {
  return error instanceof UnreachableError || (error instanceof ApiError && error.status >= 500);
}

export interface ApiResponse<T> {
  body: T;
  headers: Headers;
}

export interface CallOptions {
  query?: Record<string, string | undefined>;
  body?: unknown;
  /** Named in the message when the server has no such operation, e.g. "rollouts". */
  feature: string;
  /** Gives up earlier than the request timeout, e.g. at the deadline of a wait. */
  timeoutMs?: number;
}

/** Trellis' REST API at `TRELLIS_ENDPOINT`, signed with SigV4 when AWS credentials are set. */
export class TrellisApi {
  readonly endpoint: string;
  private readonly base: URL;

  constructor(
    endpoint: string,
    private readonly signing: SigningConfig | undefined,
  ) {
    try {
      this.base = new URL(endpoint);
    } catch {
      throw new UsageError(`TRELLIS_ENDPOINT is not a URL: ${endpoint}`);
    }
    if (this.base.protocol !== 'http:' && this.base.protocol !== 'https:') {
      throw new UsageError(`TRELLIS_ENDPOINT must be an http or https URL, got ${endpoint}`);
    }
    this.endpoint = endpoint;
  }

  /**
   * One call. Path segments in `pathSegments` are URL-encoded here; an error answer
   * becomes an ApiError, or UnsupportedOperationError when Trellis has no operation there.
   */
  async call<T>(
    method: 'GET' | 'PUT' | 'POST' | 'DELETE',
    pathSegments: readonly string[],
    options: CallOptions,
  ): Promise<ApiResponse<T>> {
    const url = new URL(this.base);
    url.pathname = [
      this.base.pathname.replace(/\/+$/, ''),
      ...pathSegments.map(encodeURIComponent),
    ].join('/');
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, value);
    }
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    let headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.signing) headers = await signRequest({ method, url, headers, body }, this.signing);

    let response: Response;
    let text: string;
    try {
      response = await fetch(url, {
        method,
        headers,
        body,
        signal: AbortSignal.timeout(options.timeoutMs ?? REQUEST_TIMEOUT_MS),
      });
      text = await response.text();
    } catch (error) {
      throw new UnreachableError(`cannot reach Trellis at ${this.endpoint}: ${reason(error)}`);
    }
    if (!response.ok) throw this.errorOf(response, text, method, url, options.feature);
    try {
      return { body: (text === '' ? undefined : JSON.parse(text)) as T, headers: response.headers };
    } catch {
      throw new ApiError(
        response.status,
        'InvalidResponse',
        `${method} ${url.pathname} answered ${response.status} with a body that is not JSON`,
      );
    }
  }

  private errorOf(
    response: Response,
    text: string,
    method: string,
    url: URL,
    feature: string,
  ): Error {
    // `x-amzn-ErrorType` may carry a suffix after a colon (AWS services add a URL there).
    const errorType = response.headers.get('x-amzn-errortype')?.split(':')[0];
    let message: string | undefined;
    try {
      message = (JSON.parse(text) as { message?: unknown }).message as string | undefined;
    } catch {
      // Not App Mesh's shape, e.g. a proxy in front of Trellis; the status says enough.
    }
    if (!errorType || typeof message !== 'string') {
      return new ApiError(
        response.status,
        `HTTP ${response.status}`,
        `${method} ${url.pathname}: ${text.slice(0, 200) || response.statusText}`,
      );
    }
    // Trellis' answer for a path with no operation (its exception filter); a real "not found"
    // names the missing resource instead.
    if (response.status === 404 && message.startsWith('No App Mesh or Trellis operation at')) {
      return new UnsupportedOperationError(feature, this.endpoint, `${method} ${url.pathname}`);
    }
    return new ApiError(response.status, errorType, message);
  }
}

function reason(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') return 'no answer in time';
  // fetch reports "fetch failed" and keeps the socket error as the cause.
  const cause =
    error instanceof Error ? (error.cause as { message?: string } | undefined) : undefined;
  return cause?.message ?? (error instanceof Error ? error.message : String(error));
}
