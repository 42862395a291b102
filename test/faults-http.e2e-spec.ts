import http from 'node:http';
import { gzipSync } from 'node:zlib';
import {
  meshContents,
  startTestControlPlane,
  uniqueMeshName,
  type TestControlPlane,
} from './support/control-plane';
import { type RawAnswer, type RawRequest, sendRaw, stallAfter } from './support/http';

/**
 * Hostile HTTP clients against the real server over real sockets (docs/operations.md, "Hostile
 * HTTP clients"). Every refusal is App Mesh's error format and changes nothing. Single App Mesh
 * requests that are wrong in one way live in app-mesh-invalid-requests.e2e-spec.ts.
 */
const JSON_HEADERS = { 'content-type': 'application/json' };

function expectAppMeshError(answer: RawAnswer, status: number, errorType: string, message: string) {
  expect({ status: answer.status, errorType: answer.headers['x-amzn-errortype'] }).toEqual({
    status,
    errorType,
  });
  const payload = JSON.parse(answer.body) as Record<string, unknown>;
  expect(Object.keys(payload)).toEqual(['message']);
  expect(payload.message).toContain(message);
}

describe('hostile HTTP clients', () => {
  let trellis: TestControlPlane;
  const mesh = uniqueMeshName('hostile');
  const send = (request: RawRequest) => sendRaw(trellis.httpUrl, request);
  const write = (method: string, path: string, body: unknown) =>
    send({ method, path, headers: JSON_HEADERS, body: JSON.stringify(body) });

  beforeAll(async () => {
    trellis = await startTestControlPlane({
      TRELLIS_HTTP_REQUEST_TIMEOUT_MS: '1000',
      TRELLIS_HTTP_HEADERS_TIMEOUT_MS: '500',
      TRELLIS_HTTP_MAX_HEADER_BYTES: '4096',
    });
    const listener = { portMapping: { port: 8080, protocol: 'http' } };
    const base = `/v20190125/meshes/${mesh}`;
    for (const [path, body] of [
      ['/v20190125/meshes', { meshName: mesh }],
      [`${base}/virtualNodes`, { virtualNodeName: 'blue', spec: {} }],
      [`${base}/virtualNodes`, { virtualNodeName: 'green', spec: {} }],
      [`${base}/virtualRouters`, { virtualRouterName: 'web', spec: { listeners: [listener] } }],
      [
        `${base}/virtualRouter/web/routes`,
        {
          routeName: 'main',
          spec: {
            httpRoute: {
              match: { prefix: '/' },
              action: { weightedTargets: [{ virtualNode: 'blue', weight: 100 }] },
            },
          },
        },
      ],
    ] as const) {
      expect((await write('PUT', path, body)).status).toBe(200);
    }
  });
  afterAll(() => trellis.close());

  /** Runs a request that must be refused, and checks that the mesh is as it was. */
  async function refused(request: RawRequest): Promise<RawAnswer> {
    const before = await meshContents(trellis.db, mesh);
    const answer = await send(request);
    expect(await meshContents(trellis.db, mesh)).toEqual(before);
    return answer;
  }

  describe('500s that are now 4xx (issue 17 point 3)', () => {
    const deep = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
    const rollout = (fields: Record<string, unknown>) => ({
      route: { virtualRouter: 'web', route: 'main' },
      from: 'blue',
      to: 'green',
      ...fields,
    });

    it.each([
      {
        name: 'a rollout with deeply nested steps',
        path: `/rollouts`,
        body: `{"route":{"virtualRouter":"web","route":"main"},"from":"blue","to":"green","steps":${deep(20_000)}}`,
        message: 'nested more than 32 deep',
      },
      {
        name: 'a rollout gate URL nested deeply',
        path: `/rollouts`,
        body: `{"from":"blue","gates":[{"url":${deep(20_000)}}]}`,
        message: 'nested more than 32 deep',
      },
      {
        name: 'weights nested deeply',
        path: `/virtualRouters/web/routes/main/weights`,
        method: 'PUT',
        body: `{"targets":{"blue":${deep(20_000)}}}`,
        message: 'nested more than 32 deep',
      },
      {
        name: 'tracing nested deeply',
        path: `/tracing`,
        method: 'PUT',
        body: `{"enabled":${deep(20_000)}}`,
        message: 'nested more than 32 deep',
      },
      {
        name: 'an object where a rollout step number belongs',
        path: `/rollouts`,
        body: JSON.stringify(rollout({ steps: [5, { toString: 1 }, 50] })),
        message: 'steps[1]: must be an integer',
      },
      {
        name: 'an object whose valueOf is data as the first rollout step',
        path: `/rollouts`,
        body: JSON.stringify(rollout({ steps: [{ valueOf: 1, toString: 1 }, 50] })),
        message: 'steps[0]: must be an integer',
      },
      {
        name: 'a NUL in a weights reason',
        path: `/virtualRouters/web/routes/main/weights`,
        method: 'PUT',
        body: JSON.stringify({ targets: { blue: 100 }, reason: 'a\u0000b' }),
        message: 'reason: must not contain the NUL character',
      },
      {
        name: 'a NUL in a rollout virtual node name',
        path: `/rollouts`,
        body: JSON.stringify(rollout({ to: 'gr\u0000een', steps: [50] })),
        message: 'to: must not contain the NUL character',
      },
    ])('$name → 400', async ({ path, body, method, message }) => {
      const answer = await refused({
        method: method ?? 'POST',
        path: `/v1/meshes/${mesh}${path}`,
        headers: JSON_HEADERS,
        body,
      });
      expectAppMeshError(answer, 400, 'BadRequestException', message);
    });

    it.each([
      { name: 'the history of a mesh', path: `/v1/meshes/a%00b/history` },
      { name: 'a proxy node id', path: `/v1/proxies/mesh%2Fa%00b%2FvirtualNode%2Fx` },
      {
        name: 'a query parameter',
        path: `/v1/proxies?mesh=a%00b`,
        message: 'mesh (query parameter)',
      },
      {
        name: 'an App Mesh path label',
        path: `/v20190125/meshes/${mesh}/virtualNodes/blue%00`,
      },
    ])('a NUL in the URL of $name → 400', async ({ path, message }) => {
      const answer = await refused({ method: 'GET', path });
      expectAppMeshError(
        answer,
        400,
        'BadRequestException',
        message ?? 'URL path: must not contain the NUL character',
      );
    });

    it('answers a body compressed with gzip, and refuses one that does not decompress', async () => {
      const body = gzipSync(JSON.stringify({ targets: { blue: 100 }, reason: 'compressed' }));
      const headers = { ...JSON_HEADERS, 'content-encoding': 'gzip' };
      const path = `/v1/meshes/${mesh}/virtualRouters/web/routes/main/weights?dryRun=true`;
      expect((await send({ method: 'PUT', path, headers, body })).status).toBe(200);
      const corrupt = await refused({ method: 'PUT', path, headers, body: body.subarray(0, 12) });
      expectAppMeshError(corrupt, 400, 'BadRequestException', 'could not be read');
    });
  });

  describe('a web page cannot change the mesh (issue 17 point 4)', () => {
    const revert = `/v1/meshes/${mesh}/revisions/1/revert`;

    it.each<{
      name: string;
      headers: Record<string, string>;
      body?: string;
      status: number;
      errorType: string;
      message: string;
    }>([
      {
        name: 'a cross-site POST of text/plain to revert',
        headers: { 'content-type': 'text/plain', origin: 'http://evil.example' },
        body: '{}',
        status: 403,
        errorType: 'ForbiddenException',
        message: 'Origin "http://evil.example"',
      },
      {
        name: 'a body that is not JSON, even without an Origin',
        headers: { 'content-type': 'text/plain' },
        body: '{}',
        status: 415,
        errorType: 'UnsupportedMediaTypeException',
        message: 'application/json',
      },
      {
        name: 'a write a browser marks cross-site',
        headers: { 'sec-fetch-site': 'cross-site' },
        status: 403,
        errorType: 'ForbiddenException',
        message: 'Sec-Fetch-Site: cross-site',
      },
    ])('refuses $name', async ({ headers, body, status, errorType, message }) => {
      const answer = await refused({ method: 'POST', path: revert, headers, body });
      expectAppMeshError(answer, status, errorType, message);
    });

    it('refuses a Host that is not a loopback name (DNS rebinding)', async () => {
      const port = new URL(trellis.httpUrl).port;
      const answer = await refused({
        method: 'POST',
        path: revert,
        headers: {
          host: `rebound.evil.example:${port}`,
          origin: `http://rebound.evil.example:${port}`,
        },
      });
      expectAppMeshError(answer, 403, 'ForbiddenException', 'rebound.evil.example');
      const read = await send({
        method: 'GET',
        path: `/v20190125/meshes/${mesh}`,
        headers: { host: `rebound.evil.example:${port}` },
      });
      expectAppMeshError(read, 403, 'ForbiddenException', 'TRELLIS_HTTP_ALLOWED_HOSTS');
    });

    it('answers its own origin, as a console served at /ui calls it', async () => {
      const { origin, port } = new URL(trellis.httpUrl);
      for (const headers of <Array<Record<string, string>>>[
        { origin },
        { host: `localhost:${port}`, origin: `http://localhost:${port}` },
      ]) {
        const answer = await send({ method: 'GET', path: `/v20190125/meshes/${mesh}`, headers });
        expect(answer.status).toBe(200);
      }
    });
  });

  describe('slow and oversized requests (issue 17 point 6, issue 12 part 5)', () => {
    it('closes a connection whose body stalls, with 408, and writes nothing', async () => {
      const before = await meshContents(trellis.db, mesh);
      const received = await stallAfter(
        trellis.httpUrl,
        `PUT /v20190125/meshes/${mesh} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
          'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"spec":',
      );
      expect(received).toMatch(/^HTTP\/1\.1 408 /);
      expect(received).toContain('x-amzn-ErrorType: RequestTimeoutException');
      expect(await meshContents(trellis.db, mesh)).toEqual(before);
    });

    it('closes a connection whose headers stall, with 408', async () => {
      const received = await stallAfter(
        trellis.httpUrl,
        `GET /v20190125/meshes/${mesh} HTTP/1.1\r\nHost: 127.0.0.1\r\n`,
      );
      expect(received).toMatch(/^HTTP\/1\.1 408 /);
    });

    it('refuses headers larger than the limit with 431', async () => {
      const answer = await send({
        method: 'GET',
        path: `/v20190125/meshes/${mesh}`,
        headers: { 'x-padding': 'x'.repeat(8 * 1024) },
      });
      expectAppMeshError(
        answer,
        431,
        'RequestHeaderFieldsTooLargeException',
        'TRELLIS_HTTP_MAX_HEADER_BYTES',
      );
    });

    it.each([
      { name: 'announced by Content-Length', chunked: false },
      { name: 'sent chunked', chunked: true },
    ])('refuses a body over the size limit $name with 413', async ({ chunked }) => {
      const body = JSON.stringify({ spec: {}, clientToken: 'x'.repeat(2 * 1024 * 1024) });
      const answer = await refused({
        method: 'PUT',
        path: `/v20190125/meshes/${mesh}`,
        headers: chunked ? { ...JSON_HEADERS, 'transfer-encoding': 'chunked' } : JSON_HEADERS,
        body,
      });
      expectAppMeshError(answer, 413, 'RequestEntityTooLargeException', '1048576 bytes');
    });

    it('lets a client that sends its oversized body anyway read the 413, on a connection it can reuse', async () => {
      // The server reads and discards what is still coming rather than reset the connection,
      // which would make the client lose the answer (a write error instead of a 413).
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const body = JSON.stringify({ spec: {}, clientToken: 'x'.repeat(1100 * 1024) });
        for (let attempt = 0; attempt < 10; attempt++) {
          const answer = await sendRaw(
            trellis.httpUrl,
            { method: 'PUT', path: `/v20190125/meshes/${mesh}`, headers: JSON_HEADERS, body },
            agent,
          );
          expect(answer.status).toBe(413);
          expect(answer.headers.connection).toBe('keep-alive');
        }
      } finally {
        agent.destroy();
      }
    });

    it('is still up and answering after all of the above', async () => {
      expect((await send({ method: 'GET', path: '/healthz' })).status).toBe(200);
    });
  });
});
