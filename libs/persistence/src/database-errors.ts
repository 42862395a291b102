import {
  AppMeshError,
  ConflictException,
  ServiceUnavailableException,
} from '../../mesh-model/src/errors';

/**
 * SQLSTATE classes and driver errors that mean "Postgres is not there right now", or did not
 * answer in time: 57014 is a statement cancelled by statement_timeout, 25P03 a session ended by
 * idle_in_transaction_session_timeout.
 */
const UNAVAILABLE_SQLSTATE = /^(08|53|57P|57014$|25P03$)/;
const UNAVAILABLE_DRIVER_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
]);
const UNAVAILABLE_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'Connection is not established',
  'Driver not Connected',
  'Query read timeout',
];

/**
 * Translates driver failures into App Mesh exceptions at the persistence boundary:
 * Postgres unreachable → 503 ServiceUnavailableException; a unique-key race that the
 * mesh lock did not prevent → 409 ConflictException. Anything else passes through.
 */
export function translateDatabaseError(error: unknown): unknown {
  if (error instanceof AppMeshError) return error;
  const { code, message } = errorFields(error);
  if (
    (code !== undefined &&
      (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_DRIVER_CODES.has(code))) ||
    UNAVAILABLE_MESSAGES.some((text) => message.includes(text))
  ) {
    return new ServiceUnavailableException('The database is unavailable; retry the request');
  }
  if (code === '23505') {
    return new ConflictException(
      'A resource with this identity was written concurrently; retry the request',
    );
  }
  return error;
}

function errorFields(error: unknown): { code?: string; message: string } {
  if (typeof error !== 'object' || error === null) return { message: String(error) };
  const record = error as { code?: unknown; message?: unknown; driverError?: unknown };
  const driver = record.driverError as { code?: unknown } | undefined;
  const code =
    typeof record.code === 'string'
      ? record.code
      : typeof driver?.code === 'string'
        ? driver.code
        : undefined;
  return { code, message: typeof record.message === 'string' ? record.message : '' };
}

/** Runs database work, translating driver failures as {@link translateDatabaseError} says. */
export async function withDatabaseErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw translateDatabaseError(error);
  }
}
