import { randomUUID } from 'node:crypto';
import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  HttpException,
  Inject,
  Injectable,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import {
  CloudMapError,
  InternalFailure,
  InvalidInput,
  ServiceUnavailable,
} from '../../../../libs/mesh-model/src/cloud-map/errors';
import { AppMeshError } from '../../../../libs/mesh-model/src/errors';
import { translateDatabaseError } from '../../../../libs/persistence/src/database-errors';

export const CLOUD_MAP_CONTENT_TYPE = 'application/x-amz-json-1.1';

/**
 * The one place registry errors become Cloud Map's wire format (awsJson1_1): the status,
 * `x-amzn-ErrorType`, and a body with `__type`, the message and the exception's members.
 */
export const REGISTRY_LOGGER = Symbol('RegistryLogger');

@Catch()
@Injectable()
export class CloudMapExceptionFilter implements ExceptionFilter {
  constructor(@Inject(REGISTRY_LOGGER) private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    sendCloudMapError(
      http.getResponse<Response>(),
      this.toCloudMapError(exception, http.getRequest<Request>()),
    );
  }

  private toCloudMapError(exception: unknown, request: Request): CloudMapError {
    if (exception instanceof CloudMapError) return exception;
    const translated = translateDatabaseError(exception);
    if (translated instanceof AppMeshError) {
      return translated.httpStatus === 503
        ? new ServiceUnavailable(translated.message)
        : translated.httpStatus < 500
          ? new InvalidInput(translated.message)
          : new InternalFailure(translated.message);
    }
    if (exception instanceof HttpException && exception.getStatus() < 500) {
      return new InvalidInput(exception.message);
    }
    const requestId = randomUUID();
    this.logger.error(
      { err: exception, requestId, target: request.headers['x-amz-target'] },
      'internal error',
    );
    return new InternalFailure(`An internal error occurred (request id ${requestId})`);
  }
}

export function sendCloudMapError(response: Response, error: CloudMapError): void {
  response
    .status(error.httpStatus)
    .setHeader('x-amzn-ErrorType', error.errorType)
    .setHeader('content-type', CLOUD_MAP_CONTENT_TYPE)
    .send(
      JSON.stringify({
        __type: error.errorType,
        message: error.message,
        Message: error.message,
        ...error.details,
      }),
    );
}
