import type { GrpcRetryPolicy, HttpRetryPolicy } from '../../../mesh-model/src/validation';
import type { RetryIr } from '../ir';
import { DEFAULT_RETRY_POLICY, retryPolicy } from './retry-policies';

describe('retryPolicy', () => {
  const base = { maxRetries: 3, perRetryTimeout: { unit: 's' as const, value: 2 } };
  it.each<[string, HttpRetryPolicy | GrpcRetryPolicy | undefined, RetryIr]>([
    ['no policy: App Mesh default', undefined, DEFAULT_RETRY_POLICY],
    [
      'server-error is 5xx plus reset',
      { ...base, httpRetryEvents: ['server-error'] },
      { retryOn: ['5xx', 'reset'], retriableStatusCodes: [], numRetries: 3, perTryTimeoutMs: 2000 },
    ],
    [
      'gateway-error plus reset',
      { ...base, httpRetryEvents: ['gateway-error'] },
      {
        retryOn: ['gateway-error', 'reset'],
        retriableStatusCodes: [],
        numRetries: 3,
        perTryTimeoutMs: 2000,
      },
    ],
    [
      'client-error is a retriable 409',
      { ...base, httpRetryEvents: ['client-error'] },
      {
        retryOn: ['retriable-status-codes'],
        retriableStatusCodes: [409],
        numRetries: 3,
        perTryTimeoutMs: 2000,
      },
    ],
    [
      'stream-error is refused-stream',
      { ...base, httpRetryEvents: ['stream-error'] },
      {
        retryOn: ['refused-stream'],
        retriableStatusCodes: [],
        numRetries: 3,
        perTryTimeoutMs: 2000,
      },
    ],
    [
      'TCP connection-error is connect-failure plus reset',
      { ...base, tcpRetryEvents: ['connection-error'] },
      {
        retryOn: ['connect-failure', 'reset'],
        retriableStatusCodes: [],
        numRetries: 3,
        perTryTimeoutMs: 2000,
      },
    ],
    [
      'gRPC events keep their names; all events merge, sorted, without duplicates',
      {
        ...base,
        grpcRetryEvents: [
          'unavailable',
          'cancelled',
          'deadline-exceeded',
          'internal',
          'resource-exhausted',
        ],
        httpRetryEvents: ['server-error', 'gateway-error'],
      },
      {
        retryOn: [
          '5xx',
          'cancelled',
          'deadline-exceeded',
          'gateway-error',
          'internal',
          'reset',
          'resource-exhausted',
          'unavailable',
        ],
        retriableStatusCodes: [],
        numRetries: 3,
        perTryTimeoutMs: 2000,
      },
    ],
  ])('%s', (_case, policy, expected) => {
    expect(retryPolicy(policy)).toEqual(expected);
  });
});
