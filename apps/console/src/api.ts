import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';

/** An access key the user signed in with; kept in sessionStorage (gone when the tab closes). */
export interface AccessKey {
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

const KEY_STORAGE = 'trellis.accessKey';

export function storedKey(): AccessKey | undefined {
  const text = sessionStorage.getItem(KEY_STORAGE);
  return text ? (JSON.parse(text) as AccessKey) : undefined;
}

export function storeKey(key: AccessKey | undefined): void {
  if (key) sessionStorage.setItem(KEY_STORAGE, JSON.stringify(key));
  else sessionStorage.removeItem(KEY_STORAGE);
}

/** An error the API answered, with its App Mesh error type and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

/** Headers of a request, SigV4-signed (service appmesh) when the user signed in with a key. */
async function signedHeaders(
  method: string,
  url: URL,
  body: string | undefined,
  headers: Record<string, string>,
): Promise<Record<string, string>> {
  const key = storedKey();
  if (!key) return headers;
  const signer = new SignatureV4({
    service: 'appmesh',
    region: key.region,
    credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey },
    sha256: Sha256,
  });
  const query: Record<string, string[]> = {};
  for (const [name, value] of url.searchParams) (query[name] ??= []).push(value);
  const signed = await signer.sign({
    method,
    protocol: url.protocol,
    hostname: url.hostname,
    port: url.port ? Number(url.port) : undefined,
    path: url.pathname,
    query,
    headers: { ...headers, host: url.host },
    body,
  });
  const result = { ...(signed.headers as Record<string, string>) };
  delete result.host;
  return result;
}

/** Sends a request to the admin API; throws ApiError with the API's message on 4xx/5xx. */
export async function api<T>(
  method: string,
  path: string,
  body?: unknown,
  extraHeaders: Record<string, string> = {},
): Promise<{ body: T; headers: Headers }> {
  const url = new URL(path, window.location.origin);
  const text = body === undefined ? undefined : JSON.stringify(body);
  const headers = await signedHeaders(method, url, text, {
    ...(text !== undefined && { 'content-type': 'application/json' }),
    ...extraHeaders,
  });
  const response = await fetch(url, { method, headers, body: text });
  const answer = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok) {
    throw new ApiError(
      response.status,
      response.headers.get('x-amzn-errortype') ?? 'Error',
      typeof answer.message === 'string' ? answer.message : response.statusText,
    );
  }
  return { body: answer as T, headers: response.headers };
}

export interface MeshEvent {
  type: string;
  data: unknown;
}

/**
 * Follows `GET /v1/meshes/{mesh}/events`. A refusal, when it opens or later (the key was
 * revoked), comes as a `denied` event with the API's message, and the stream is not retried. EventSource cannot send signed headers, so this reads
 * the stream with fetch and parses it; it reconnects after an error until `stop` is called.
 */
export function followEvents(meshName: string, onEvent: (event: MeshEvent) => void): () => void {
  const controller = new AbortController();
  let stopped = false;
  const run = async (): Promise<void> => {
    while (!stopped) {
      try {
        const url = new URL(
          `/v1/meshes/${encodeURIComponent(meshName)}/events`,
          window.location.origin,
        );
        const headers = await signedHeaders('GET', url, undefined, { accept: 'text/event-stream' });
        const response = await fetch(url, { headers, signal: controller.signal });
        if (response.status >= 400 && response.status < 500) {
          // Refused (signed out, key revoked, not allowed): retrying would not help; say why.
          const answer = (await response.json().catch(() => ({}))) as { message?: unknown };
          const message = typeof answer.message === 'string' ? answer.message : response.statusText;
          onEvent({ type: 'denied', data: { message } });
          return;
        }
        if (!response.ok || !response.body) throw new Error(`events: ${response.status}`);
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let blank: number;
          while ((blank = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, blank);
            buffer = buffer.slice(blank + 2);
            let type = 'message';
            const data: string[] = [];
            for (const line of block.split('\n')) {
              if (line.startsWith('event: ')) type = line.slice(7);
              else if (line.startsWith('data: ')) data.push(line.slice(6));
            }
            if (data.length > 0) onEvent({ type, data: JSON.parse(data.join('\n')) });
            if (type === 'denied') return;
          }
        }
      } catch {
        if (stopped) return;
      }
      if (!stopped) await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  };
  void run();
  return () => {
    stopped = true;
    controller.abort();
  };
}

/** Every item of an App Mesh list (`GET …?nextToken=`), following its pages. */
export async function listAll<T>(path: string, field: string): Promise<T[]> {
  const items: T[] = [];
  let nextToken: string | undefined;
  do {
    const query = nextToken ? `?nextToken=${encodeURIComponent(nextToken)}` : '';
    const { body } = await api<Record<string, unknown>>('GET', `${path}${query}`);
    items.push(...((body[field] as T[] | undefined) ?? []));
    nextToken = typeof body.nextToken === 'string' ? body.nextToken : undefined;
  } while (nextToken);
  return items;
}
