import http from 'node:http';
import { performance } from 'node:perf_hooks';

// A lean App Mesh REST client for the benchmark: node:http with one keep-alive socket per
// concurrent request, JSON in and out, SigV4-shaped Authorization header (the server reads
// only the access key id from it). Cheaper in CPU than @aws-sdk/client-app-mesh, which
// matters when the load generator shares two cores with the server (see rest-bench.ts).

/** The access key id the benchmark's writes are recorded under. */
export const BENCH_ACCESS_KEY = 'AKIDRESTBENCH';
const AUTHORIZATION = `AWS4-HMAC-SHA256 Credential=${BENCH_ACCESS_KEY}/20260101/us-east-1/appmesh/aws4_request, SignedHeaders=host, Signature=0`;

export interface AppMeshResponse {
  status: number;
  /** `x-amzn-ErrorType` of an error response. */
  errorType?: string;
  body: Record<string, unknown>;
  latencyMs: number;
}

export class AppMeshHttp {
  private readonly agent: http.Agent;
  private readonly url: URL;

  constructor(baseUrl: string, concurrency: number) {
    this.url = new URL(baseUrl);
    this.agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  }

  request(
    method: 'GET' | 'PUT' | 'POST',
    path: string,
    body?: unknown,
    extraHeaders: http.OutgoingHttpHeaders = {},
  ): Promise<AppMeshResponse> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: http.OutgoingHttpHeaders = { authorization: AUTHORIZATION };
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = payload.length;
    }
    Object.assign(headers, extraHeaders);
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const request = http.request(
        {
          agent: this.agent,
          host: this.url.hostname,
          port: this.url.port,
          method,
          path,
          headers,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            const latencyMs = performance.now() - started;
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: Record<string, unknown>;
            try {
              parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
            } catch {
              parsed = { message: text };
            }
            const errorType = response.headers['x-amzn-errortype'];
            resolve({
              status: response.statusCode ?? 0,
              errorType: typeof errorType === 'string' ? errorType : undefined,
              body: parsed,
              latencyMs,
            });
          });
          response.on('error', reject);
        },
      );
      request.on('error', reject);
      request.end(payload);
    });
  }

  /** A Cloud Map (awsJson1_1) call, `operation` as in `X-Amz-Target`, on the same connections. */
  cloudMap(operation: string, body: unknown): Promise<AppMeshResponse> {
    return this.request('POST', '/', body, {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': `Route53AutoNaming_v20170314.${operation}`,
    });
  }

  /** Like {@link request}, but an error answer throws with App Mesh's error type and message. */
  async send(method: 'GET' | 'PUT', path: string, body?: unknown): Promise<AppMeshResponse> {
    const response = await this.request(method, path, body);
    if (response.status !== 200) throw new Error(describeFailure(method, path, response));
    return response;
  }

  close(): void {
    this.agent.destroy();
  }
}

export function describeFailure(method: string, path: string, response: AppMeshResponse): string {
  const message = typeof response.body.message === 'string' ? response.body.message : '';
  return `${method} ${path}: ${response.status} ${response.errorType ?? ''} ${message}`.trim();
}

/** URL paths of the operations the benchmark calls, as the App Mesh API defines them. */
export const appMeshPaths = {
  meshes: () => '/v20190125/meshes',
  virtualNodes: (mesh: string) => `/v20190125/meshes/${encodeURIComponent(mesh)}/virtualNodes`,
  virtualRouters: (mesh: string) => `/v20190125/meshes/${encodeURIComponent(mesh)}/virtualRouters`,
  routes: (mesh: string, router: string) =>
    `/v20190125/meshes/${encodeURIComponent(mesh)}/virtualRouter/${encodeURIComponent(router)}/routes`,
  route: (mesh: string, router: string, route: string) =>
    `${appMeshPaths.routes(mesh, router)}/${encodeURIComponent(route)}`,
};

/** A canary route's spec: `blue` gets `weight` percent, `green` the rest. */
export function canaryRouteSpec(weight: number): Record<string, unknown> {
  return {
    httpRoute: {
      match: { prefix: '/' },
      action: {
        weightedTargets: [
          { virtualNode: 'blue', weight },
          { virtualNode: 'green', weight: 100 - weight },
        ],
      },
    },
  };
}
