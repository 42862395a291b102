import express, {
  type ErrorRequestHandler,
  type Request,
  type RequestHandler,
  type Response,
} from 'express';
import {
  type AppMeshError,
  BadRequestException,
  RequestEntityTooLargeException,
  UnsupportedMediaTypeException,
} from '../../../../libs/mesh-model/src/errors';
import { InvalidInput } from '../../../../libs/mesh-model/src/cloud-map/errors';
import { sendAppMeshError } from '../app-mesh/app-mesh-exception.filter';
import { keepRawBody } from '../access/request-authentication';
import { sendCloudMapError } from '../registry/cloud-map-exception.filter';

/** What a request body may be; see docs/operations.md, "Hostile HTTP clients". */
export interface RequestBodyLimits {
  /** Bytes after decompression; larger bodies get 413. */
  maxBodyBytes: number;
  /** Nesting of objects and arrays, the outermost counting 1; deeper bodies get 400. */
  maxJsonDepth: number;
}

/**
 * Media types read as JSON: `application/json` (what the AWS SDKs and CLI send for App Mesh's
 * restJson1 protocol, and the trellis CLI for /v1), any `+json` type, and the awsJson protocols'
 * `application/x-amz-json-1.0` / `-1.1` (Cloud Map's API).
 */
const JSON_MEDIA_TYPE = /^application\/(?:json|x-amz-json-1\.[01]|[!#$&^_.+\w-]+\+json)$/;

/**
 * Reads JSON request bodies, and refuses every other one before it reaches a controller:
 * a body that is not JSON (415: a browser can send `text/plain` or a form cross-site without
 * asking first), a charset other than UTF-8 (415), an unknown `Content-Encoding` (415), a corrupt
 * compressed body (400), more than `maxBodyBytes` (413), nesting deeper than `maxJsonDepth`
 * (400, checked on the raw bytes before parsing so no recursive code ever sees it), and the NUL
 * character or a lone surrogate anywhere (400: Postgres cannot store either, so no App Mesh or
 * Trellis value may hold them).
 * Objects are parsed without a prototype: a key such as `__proto__` or `toString` is plain data.
 */
export function requestBody(
  limits: RequestBodyLimits,
): Array<RequestHandler | ErrorRequestHandler> {
  const parse = express.json({
    type: () => true,
    limit: limits.maxBodyBytes,
    strict: true,
    verify: (request, response, bytes, encoding) => {
      // SigV4 signs the bytes as sent (docs/security.md).
      keepRawBody(request as Request, response as Response, bytes);
      if (encoding !== 'utf-8') {
        throw httpError(415, 'charset.unsupported', `unsupported charset "${encoding}"`);
      }
      if (jsonDepthExceeds(bytes, limits.maxJsonDepth)) {
        throw httpError(
          400,
          'entity.too.deep',
          `objects and lists are nested more than ${limits.maxJsonDepth} deep`,
        );
      }
    },
  });
  const checkMediaType: RequestHandler = (request, response, next) => {
    if (!hasBody(request)) return next();
    const contentType = request.headers['content-type'];
    const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
    if (mediaType === undefined || !JSON_MEDIA_TYPE.test(mediaType)) {
      return refuseUnread(
        request,
        response,
        new UnsupportedMediaTypeException(
          `Content-Type: a request body must be JSON sent as application/json, got ${
            contentType === undefined ? 'none' : JSON.stringify(contentType)
          }`,
        ),
      );
    }
    const length = Number(request.headers['content-length']);
    if (Number.isFinite(length) && length > limits.maxBodyBytes) {
      return refuseUnread(request, response, tooLarge(limits));
    }
    next();
  };
  const checkValues: RequestHandler = (request, response, next) => {
    const problem = textProblem(request.body, '');
    if (problem !== undefined) return refuse(request, response, new BadRequestException(problem));
    withoutPrototypes(request.body);
    next();
  };
  const bodyErrors: ErrorRequestHandler = (error: unknown, request, response, next) => {
    const refusal = bodyRefusal(error, limits);
    if (refusal === undefined) return next(error);
    refuse(request, response, refusal);
  };
  return [checkMediaType, parse, bodyErrors, checkValues];
}

/** A request with content: a length above 0, or chunked (RFC 9112 §6.3). */
function hasBody(request: Request): boolean {
  if (request.headers['transfer-encoding'] !== undefined) return true;
  const length = Number(request.headers['content-length'] ?? 0);
  return !Number.isFinite(length) || length > 0;
}

/** How long, and how many bytes of, a refused body is read and discarded before the connection is cut. */
const LINGER_MS = 2_000;
const LINGER_BYTES = 16 * 1024 * 1024;

/**
 * Answers without parsing the body. The connection then lingers: what the client is still
 * sending is read and thrown away (for at most LINGER_MS and LINGER_BYTES) so it reads the
 * refusal, instead of a reset that can discard the answer from its receive buffer before it is
 * read (RFC 9112 §9.6). A client that sends past either bound is cut off.
 */
function refuseUnread(request: Request, response: Response, error: AppMeshError): void {
  let discarded = 0;
  const cutOff = (): void => {
    request.socket.destroy();
  };
  const timer = setTimeout(cutOff, LINGER_MS);
  timer.unref();
  request.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > LINGER_BYTES) cutOff();
  });
  request.once('end', () => clearTimeout(timer));
  request.socket.once('close', () => clearTimeout(timer));
  refuse(request, response, error);
}

/**
 * Sends a refusal in the format of the API asked: Cloud Map's (`__type`, InvalidInput) for its
 * awsJson1_1 requests, App Mesh's for everything else.
 */
function refuse(request: Request, response: Response, error: AppMeshError): void {
  if (request.headers['x-amz-target'] === undefined) return sendAppMeshError(response, error);
  const invalid = new InvalidInput(error.message);
  sendCloudMapError(response, Object.assign(invalid, { httpStatus: error.httpStatus }));
}

function tooLarge(limits: RequestBodyLimits): AppMeshError {
  return new RequestEntityTooLargeException(
    `The request body is larger than ${limits.maxBodyBytes} bytes (TRELLIS_HTTP_MAX_BODY_BYTES)`,
  );
}

/** body-parser's errors (http-errors with a status and a type) as App Mesh errors. */
function bodyRefusal(error: unknown, limits: RequestBodyLimits): AppMeshError | undefined {
  const { status, type, message } = (error ?? {}) as {
    status?: unknown;
    type?: unknown;
    message?: unknown;
  };
  if (typeof status !== 'number' || status < 400 || status >= 500) return undefined;
  const detail = typeof message === 'string' ? message : 'unreadable';
  switch (type) {
    case 'entity.too.large':
      return tooLarge(limits);
    case 'entity.parse.failed':
      return new BadRequestException(`The request body is not valid JSON: ${detail}`);
    case 'entity.too.deep':
      return new BadRequestException(`The request body is too deeply nested: ${detail}`);
    case 'charset.unsupported':
      return new UnsupportedMediaTypeException(`Content-Type: ${detail}; send UTF-8 JSON`);
    case 'encoding.unsupported':
      return new UnsupportedMediaTypeException(
        `Content-Encoding: ${detail}; send identity, gzip, deflate or br`,
      );
    default:
      // A compressed body that does not decompress, a body cut short, a length that lies.
      return status === 413
        ? tooLarge(limits)
        : new BadRequestException(`The request body could not be read: ${detail}`);
  }
}

function httpError(status: number, type: string, message: string): Error {
  return Object.assign(new Error(message), { status, type });
}

/**
 * Whether the JSON text nests objects and arrays deeper than `maxDepth`. Works on the UTF-8
 * bytes: the structural characters are ASCII, and no byte of a multi-byte UTF-8 sequence is.
 * Invalid JSON is left to the parser, which reports it.
 */
export function jsonDepthExceeds(bytes: Uint8Array, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < bytes.length; index++) {
    const byte = bytes[index];
    if (inString) {
      if (byte === BACKSLASH) index++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) {
      inString = true;
    } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
      if (++depth > maxDepth) return true;
    } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
      depth--;
    }
  }
  return false;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/**
 * The first string of a parsed body that no App Mesh or Trellis value may hold, as
 * `spec.listeners[0].name: ...`, or undefined: one with the NUL character, or one that is not
 * well-formed Unicode (a lone surrogate such as `\ud800`, which has no UTF-8 form to store).
 */
function textProblem(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') {
    const problem = stringProblem(value);
    return problem === undefined ? undefined : `${path || 'body'}: ${problem}`;
  }
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const problem = textProblem(item, `${path}[${index}]`);
      if (problem !== undefined) return problem;
    }
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      const keyPath = path === '' ? key : `${path}.${key}`;
      const keyProblem = stringProblem(key);
      if (keyProblem !== undefined)
        return `${JSON.stringify(keyPath)}: ${keyProblem} in a field name`;
      const problem = textProblem(item, keyPath);
      if (problem !== undefined) return problem;
    }
  }
  return undefined;
}

function stringProblem(text: string): string | undefined {
  if (text.includes('\0')) return NUL_RULE;
  if (LONE_SURROGATE.test(text)) return 'must be well-formed Unicode (it holds a lone surrogate)';
  return undefined;
}

const NUL_RULE = 'must not contain the NUL character (U+0000)';
/** With the `u` flag a surrogate class matches only a surrogate that is not half of a pair. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** Objects of a parsed body without Object.prototype, so no user key ever resolves to it. */
function withoutPrototypes(value: unknown): void {
  if (typeof value !== 'object' || value === null) return;
  if (!Array.isArray(value)) Object.setPrototypeOf(value, null);
  for (const item of Object.values(value)) withoutPrototypes(item);
}

/** Refuses a URL whose path or query holds an encoded NUL (`%00`), naming where it is. */
export const refuseNulInUrl: RequestHandler = (request, response, next) => {
  if (!/%00/i.test(request.url)) return next();
  const url = new URL(request.url, 'http://trellis.invalid');
  const query = [...url.searchParams.entries()].find(
    ([name, value]) => name.includes('\0') || value.includes('\0'),
  );
  const where = query ? `${query[0]} (query parameter)` : 'URL path';
  refuse(request, response, new BadRequestException(`${where}: ${NUL_RULE}`));
};
