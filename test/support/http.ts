import http from 'node:http';
import net from 'node:net';

export interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface RawRequest {
  method: string;
  /** Sent exactly as given: no normalisation of `..`, no encoding. */
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/**
 * One request over a fresh connection with node:http, which (unlike fetch) sends any path,
 * Host, Origin and Content-Encoding as given.
 */
export function sendRaw(
  baseUrl: string,
  request: RawRequest,
  agent: http.Agent | false = false,
): Promise<RawAnswer> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const outgoing = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: request.method,
        path: request.path,
        headers: request.headers,
        agent,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    outgoing.on('error', reject);
    outgoing.end(request.body);
  });
}

/**
 * Writes `firstBytes` on a new connection, then nothing more, and resolves with everything the
 * server sent once it closes the connection: how a client that stalls mid-request is answered.
 */
export function stallAfter(baseUrl: string, firstBytes: string): Promise<string> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(url.port), url.hostname, () => socket.write(firstBytes));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    const received = () => Buffer.concat(chunks).toString('utf8');
    // A reset after the answer still counts as the server closing the connection.
    socket.on('error', (error: NodeJS.ErrnoException) =>
      error.code === 'ECONNRESET' ? resolve(received()) : reject(error),
    );
    socket.on('close', () => resolve(received()));
  });
}
