/**
 * One error class per Cloud Map (servicediscovery) exception, raised where the rule lives and
 * sent in awsJson1_1's error format — `{"__type": name, "message": ...}` plus the members the
 * model gives the exception — by the registry controller's filter. Cloud Map answers every
 * client error with HTTP 400 (its model declares no other status); Trellis adds 503 when
 * Postgres is unavailable and 500 for its own faults.
 */
export abstract class CloudMapError extends Error {
  readonly httpStatus: number = 400;
  /** Members the model declares on the exception besides Message (DuplicateOperationId, ...). */
  readonly details: Record<string, string> = {};

  /** The exception name as Cloud Map spells it, sent as `__type`. */
  get errorType(): string {
    return this.constructor.name;
  }
}

export class InvalidInput extends CloudMapError {}

export class NamespaceNotFound extends CloudMapError {}

export class ServiceNotFound extends CloudMapError {}

export class InstanceNotFound extends CloudMapError {}

export class OperationNotFound extends CloudMapError {}

export class CustomHealthNotFound extends CloudMapError {}

export class ResourceNotFoundException extends CloudMapError {}

export class ResourceInUse extends CloudMapError {}

export class ResourceLimitExceeded extends CloudMapError {}

export class RequestLimitExceeded extends CloudMapError {}

export class TooManyTagsException extends CloudMapError {
  constructor(message: string, resourceName: string) {
    super(message);
    this.details.ResourceName = resourceName;
  }
}

/** A creator request id reused for a different request: names the operation it was used for. */
export class DuplicateRequest extends CloudMapError {
  constructor(message: string, duplicateOperationId?: string) {
    super(message);
    if (duplicateOperationId !== undefined)
      this.details.DuplicateOperationId = duplicateOperationId;
  }
}

export class NamespaceAlreadyExists extends CloudMapError {
  constructor(message: string, namespaceId: string, creatorRequestId?: string) {
    super(message);
    this.details.NamespaceId = namespaceId;
    if (creatorRequestId !== undefined) this.details.CreatorRequestId = creatorRequestId;
  }
}

export class ServiceAlreadyExists extends CloudMapError {
  constructor(message: string, serviceId: string, creatorRequestId?: string) {
    super(message);
    this.details.ServiceId = serviceId;
    if (creatorRequestId !== undefined) this.details.CreatorRequestId = creatorRequestId;
  }
}

/** Not in Cloud Map's model: Postgres is unavailable; the request may be retried. */
export class ServiceUnavailable extends CloudMapError {
  override readonly httpStatus = 503;
}

/** Not in Cloud Map's model: an unexpected fault, answered with a request id only. */
export class InternalFailure extends CloudMapError {
  override readonly httpStatus = 500;
}

/** awsJson's answer to an X-Amz-Target that names no operation of the API. */
export class UnknownOperationException extends CloudMapError {}
