import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type { NestApplicationOptions } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import {
  type AppMeshError,
  BadRequestException,
  RequestHeaderFieldsTooLargeException,
  RequestTimeoutException,
} from '../../../libs/mesh-model/src/errors';

/** Connection-level bounds of the REST port; see docs/operations.md, "Hostile HTTP clients". */
export interface HttpServerLimits {
  /** Request line and headers together; larger ones get 431. */
  maxHeaderBytes: number;
  /** From a request's first byte until its headers are in; then 408 and the connection closes. */
  headersTimeoutMs: number;
  /** From a request's first byte until its whole body is in; then 408 and the connection closes. */
  requestTimeoutMs: number;
}

/**
 * Nest's Express adapter with Node's HTTP server built with Trellis' limits: Node's defaults let
 * a client take 300 s to send one request, and the header limit is an option of the server's
 * constructor only. Connection-level refusals (timeouts, oversized or malformed requests, which
 * never reach Express) are answered in App Mesh's error format too.
 */
export class BoundedExpressAdapter extends ExpressAdapter {
  constructor(private readonly limits: HttpServerLimits) {
    super();
  }

  override initHttpServer(options: NestApplicationOptions): void {
    const serverOptions: http.ServerOptions = {
      maxHeaderSize: this.limits.maxHeaderBytes,
      headersTimeout: this.limits.headersTimeoutMs,
      requestTimeout: this.limits.requestTimeoutMs,
      // How often Node looks for requests past their timeouts (30 s by default).
      connectionsCheckingInterval: Math.max(
        50,
        Math.min(1000, Math.floor(this.limits.headersTimeoutMs / 2)),
      ),
    };
    const app = this.getInstance<http.RequestListener>();
    const server = options.httpsOptions
      ? https.createServer({ ...options.httpsOptions, ...serverOptions }, app)
      : http.createServer(serverOptions, app);
    server.on('clientError', answerClientError);
    this.setHttpServer(server);
  }
}

/**
 * Node emits `clientError` for what its HTTP parser refuses and for requests past their
 * timeouts; the listener must answer and close the socket. As Node's own handler does, it
 * answers only when no response is under way on the socket.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  const inFlight = (socket as { _httpMessage?: http.ServerResponse | null })._httpMessage;
  if (error.code !== 'ECONNRESET' && socket.writable && !inFlight?.headersSent) {
    socket.write(rawResponse(clientErrorOf(error)));
  }
  socket.destroy();
}

function clientErrorOf(error: NodeJS.ErrnoException): AppMeshError {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return new RequestTimeoutException(
      'The request was not received in time (TRELLIS_HTTP_HEADERS_TIMEOUT_MS, TRELLIS_HTTP_REQUEST_TIMEOUT_MS)',
    );
  }
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    return new RequestHeaderFieldsTooLargeException(
      'The request headers are larger than this server accepts (TRELLIS_HTTP_MAX_HEADER_BYTES)',
    );
  }
  return new BadRequestException(`The request is not valid HTTP/1.1 (${error.code ?? 'unknown'})`);
}

/** A complete HTTP/1.1 response in App Mesh's error format, for a socket Express never saw. */
function rawResponse(error: AppMeshError): string {
  const body = JSON.stringify({ message: error.message });
  return [
    `HTTP/1.1 ${error.httpStatus} ${http.STATUS_CODES[error.httpStatus] ?? ''}`,
    'Content-Type: application/json',
    `x-amzn-ErrorType: ${error.errorType}`,
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    '',
    body,
  ].join('\r\n');
}
