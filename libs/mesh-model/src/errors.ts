/**
 * One error class per App Mesh exception. They are raised where the rule lives (model
 * validation, repositories, services) and mapped to the wire format — HTTP status,
 * `x-amzn-ErrorType` header and `{"message"}` body — in one place, the admin API's filter.
 * Status codes follow the App Mesh service model (see docs/api.md).
 */
export abstract class AppMeshError extends Error {
  abstract readonly httpStatus: number;

  /** The exception name as App Mesh spells it, sent in `x-amzn-ErrorType`. */
  get errorType(): string {
    return this.constructor.name;
  }
}

export class BadRequestException extends AppMeshError {
  readonly httpStatus = 400;
}

export class LimitExceededException extends AppMeshError {
  readonly httpStatus = 400;
}

export class TooManyTagsException extends AppMeshError {
  readonly httpStatus = 400;
}

export class ForbiddenException extends AppMeshError {
  readonly httpStatus = 403;
}

export class NotFoundException extends AppMeshError {
  readonly httpStatus = 404;
}

export class ConflictException extends AppMeshError {
  readonly httpStatus = 409;
}

export class ResourceInUseException extends AppMeshError {
  readonly httpStatus = 409;
}

/**
 * Not an App Mesh exception: Trellis' native API answers it when an `If-Match` header names
 * a version the resource no longer has (HTTP 412, RFC 9110 §13.1.1).
 */
export class PreconditionFailedException extends AppMeshError {
  readonly httpStatus = 412;
}

// Not App Mesh exceptions either: HTTP's own refusals of a request Trellis will not read
// (docs/operations.md, "Hostile HTTP clients"). The names are the ones AWS services use.

/** The request was not received in time (RFC 9110 §15.5.9). */
export class RequestTimeoutException extends AppMeshError {
  readonly httpStatus = 408;
}

/** The body is larger than the server accepts (RFC 9110 §15.5.14). */
export class RequestEntityTooLargeException extends AppMeshError {
  readonly httpStatus = 413;
}

/** A body whose media type, charset or content coding the server does not read (RFC 9110 §15.5.16). */
export class UnsupportedMediaTypeException extends AppMeshError {
  readonly httpStatus = 415;
}

/** The request's headers are larger than the server accepts (RFC 6585 §5). */
export class RequestHeaderFieldsTooLargeException extends AppMeshError {
  readonly httpStatus = 431;
}

export class TooManyRequestsException extends AppMeshError {
  readonly httpStatus = 429;
}

export class InternalServerErrorException extends AppMeshError {
  readonly httpStatus = 500;
}

export class ServiceUnavailableException extends AppMeshError {
  readonly httpStatus = 503;
}

/*
 * Authentication and authorization: AWS' common errors, as the SDKs and CLI name them
 * (https://docs.aws.amazon.com/appmesh/latest/APIReference/CommonErrors.html).
 */

/** No `Authorization` header where one is required. */
export class MissingAuthenticationTokenException extends AppMeshError {
  readonly httpStatus = 403;
}

/** The `Authorization` header or a header it needs is malformed. */
export class IncompleteSignatureException extends AppMeshError {
  readonly httpStatus = 400;
}

/** The access key id is not a Trellis key (or it is revoked or expired). */
export class UnrecognizedClientException extends AppMeshError {
  readonly httpStatus = 403;
}

/** The signature does not match, or the request's time is outside the allowed skew. */
export class InvalidSignatureException extends AppMeshError {
  readonly httpStatus = 403;
}

/** The key's policy does not allow the operation on the resource. */
export class AccessDeniedException extends AppMeshError {
  readonly httpStatus = 403;
}
