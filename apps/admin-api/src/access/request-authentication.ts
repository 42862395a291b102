import { createHash, randomUUID } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import type { AccessControl } from '../../../../libs/access/src/access-control';
import type { Principal } from '../../../../libs/access/src/authenticator';
import { EMPTY_PAYLOAD_SHA256 } from '../../../../libs/access/src/sigv4';
import {
  AppMeshError,
  InternalServerErrorException,
  NotFoundException,
} from '../../../../libs/mesh-model/src/errors';
import { translateDatabaseError } from '../../../../libs/persistence/src/database-errors';
import { sendAppMeshError } from '../app-mesh/app-mesh-exception.filter';
import { operationOf, PUBLIC_PATHS, type ArnContext } from './operation-actions';

/** A request as the body parser and this middleware leave it. */
export interface AuthenticatedRequest extends Request {
  /** The body's bytes as received; the signature covers them. */
  rawBody?: Buffer;
  /** Set when authentication is on and the request was verified. */
  principal?: Principal;
}

/** For the JSON body parser: keeps the bytes the signature was computed over. */
export function keepRawBody(request: Request, _response: Response, bytes: Buffer): void {
  (request as AuthenticatedRequest).rawBody = bytes;
}

/**
 * Authentication on: every request but the probes must carry a valid SigV4 signature of a
 * live key whose policy allows the operation, within the key's rate. Runs before any
 * controller, so a refused request changes nothing.
 */
export function requestAuthentication(
  access: AccessControl,
  arns: ArnContext,
  logger: Logger,
): RequestHandler {
  return (request: Request, response: Response, next: NextFunction) => {
    // The console's static files hold no data; its pages sign their API calls.
    if (
      PUBLIC_PATHS.has(request.path) ||
      request.path === '/ui' ||
      request.path.startsWith('/ui/')
    ) {
      next();
      return;
    }
    authenticate(request as AuthenticatedRequest, access, arns).then(
      () => next(),
      (error: unknown) => {
        const translated = translateDatabaseError(error);
        if (translated instanceof AppMeshError) {
          if (translated.httpStatus < 500) {
            access.refused('rest', translated, { method: request.method, path: request.path });
          }
          sendAppMeshError(response, translated);
          return;
        }
        const requestId = randomUUID();
        logger.error({ err: error, requestId, path: request.path }, 'authentication failed');
        sendAppMeshError(
          response,
          new InternalServerErrorException(`An internal error occurred (request id ${requestId})`),
        );
      },
    );
  };
}

async function authenticate(
  request: AuthenticatedRequest,
  access: AccessControl,
  arns: ArnContext,
): Promise<void> {
  const [path = '/', rawQuery = ''] = request.originalUrl.split('?', 2);
  const query: Record<string, string | string[]> = {};
  for (const [name, value] of new URLSearchParams(rawQuery)) {
    const existing = query[name];
    query[name] = existing === undefined ? value : [...[existing].flat(), value];
  }
  const body = request.rawBody;
  const principal = await access.authenticator.authenticate(
    {
      method: request.method,
      host: request.headers.host ?? '',
      path,
      query,
      headers: request.headers,
      body,
    },
    body && body.length > 0
      ? createHash('sha256').update(body).digest('hex')
      : EMPTY_PAYLOAD_SHA256,
  );
  const operation = operationOf(
    {
      method: request.method,
      path,
      query: request.query,
      body: request.body,
      headers: request.headers,
    },
    arns,
  );
  if (!operation) {
    throw new NotFoundException(`No App Mesh or Trellis operation at ${request.method} ${path}`);
  }
  access.admit(principal);
  access.authorize(principal, operation.action, operation.resource);
  request.principal = principal;
}
