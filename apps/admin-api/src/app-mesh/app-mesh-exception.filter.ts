import { randomUUID } from 'node:crypto';
import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import {
  AppMeshError,
  BadRequestException,
  InternalServerErrorException,
  NotFoundException,
} from '../../../../libs/mesh-model/src/errors';
import { translateDatabaseError } from '../../../../libs/persistence/src/database-errors';

/**
 * The one place errors become App Mesh's wire format: status, `x-amzn-ErrorType` (read
 * first by the AWS SDKs) and `{"message"}`. Unexpected errors are logged with their
 * stack and answered with a request id only.
 */
@Catch()
export class AppMeshExceptionFilter implements ExceptionFilter {
  constructor(private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    sendAppMeshError(
      http.getResponse<Response>(),
      this.toAppMeshError(exception, http.getRequest<Request>()),
    );
  }

  toAppMeshError(exception: unknown, request: Request): AppMeshError {
    const translated = translateDatabaseError(exception);
    if (translated instanceof AppMeshError) return translated;
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      if (status === 404 || status === 405) {
        return new NotFoundException(
          `No App Mesh or Trellis operation at ${request.method} ${request.path}`,
        );
      }
      if (status < 500) return new BadRequestException(exception.message);
    }
    const requestId = randomUUID();
    this.logger.error(
      { err: exception, requestId, method: request.method, path: request.path },
      'internal error',
    );
    return new InternalServerErrorException(`An internal error occurred (request id ${requestId})`);
  }
}

export function sendAppMeshError(response: Response, error: AppMeshError): void {
  response
    .status(error.httpStatus)
    .setHeader('x-amzn-ErrorType', error.errorType)
    .json({ message: error.message });
}
