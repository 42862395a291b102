import type { HeaderMatchIr, RetryIr, RouteMatchIr } from '../ir';
import { duration } from './addresses';
import { headerMatcher, retryPolicy, routeAction, routeMatch, weightedClusters } from './routes';

describe('routeMatch', () => {
  const match = (path: RouteMatchIr['path']): RouteMatchIr => ({
    path,
    headers: [],
    queryParameters: [],
  });
  it.each([
    [
      'prefix',
      match({ kind: 'prefix', value: '/a' }),
      { pathSpecifier: { $case: 'prefix', value: '/a' } },
    ],
    [
      'exact path',
      match({ kind: 'exact', value: '/a' }),
      { pathSpecifier: { $case: 'path', value: '/a' } },
    ],
    [
      'regex, RE2 through safe_regex',
      match({ kind: 'regex', value: '/a/[0-9]+' }),
      { pathSpecifier: { $case: 'safeRegex', value: { regex: '/a/[0-9]+' } } },
    ],
    [
      'query parameters: exact value or presence',
      {
        ...match({ kind: 'prefix', value: '/' }),
        queryParameters: [{ name: 'v', exact: '2' }, { name: 'debug' }],
      },
      {
        pathSpecifier: { $case: 'prefix', value: '/' },
        queryParameters: [
          {
            name: 'v',
            queryParameterMatchSpecifier: {
              $case: 'stringMatch',
              value: { matchPattern: { $case: 'exact', value: '2' } },
            },
          },
          { name: 'debug', queryParameterMatchSpecifier: { $case: 'presentMatch', value: true } },
        ],
      },
    ],
  ])('%s', (_case, ir, expected) => {
    expect(routeMatch(ir)).toEqual(expected);
  });
});

describe('headerMatcher', () => {
  it.each<[string, HeaderMatchIr, object]>([
    [
      'exact through string_match',
      { name: 'x', match: { kind: 'exact', value: 'v' }, invert: false },
      {
        name: 'x',
        headerMatchSpecifier: {
          $case: 'stringMatch',
          value: { matchPattern: { $case: 'exact', value: 'v' } },
        },
      },
    ],
    [
      'prefix',
      { name: 'x', match: { kind: 'prefix', value: 'v' }, invert: false },
      {
        name: 'x',
        headerMatchSpecifier: {
          $case: 'stringMatch',
          value: { matchPattern: { $case: 'prefix', value: 'v' } },
        },
      },
    ],
    [
      'suffix',
      { name: 'x', match: { kind: 'suffix', value: 'v' }, invert: false },
      {
        name: 'x',
        headerMatchSpecifier: {
          $case: 'stringMatch',
          value: { matchPattern: { $case: 'suffix', value: 'v' } },
        },
      },
    ],
    [
      'regex',
      { name: 'x', match: { kind: 'regex', value: 'v.*' }, invert: false },
      {
        name: 'x',
        headerMatchSpecifier: {
          $case: 'stringMatch',
          value: { matchPattern: { $case: 'safeRegex', value: { regex: 'v.*' } } },
        },
      },
    ],
    [
      'range',
      { name: 'x', match: { kind: 'range', start: 1, end: 10 }, invert: false },
      { name: 'x', headerMatchSpecifier: { $case: 'rangeMatch', value: { start: 1, end: 10 } } },
    ],
    [
      'present, inverted',
      { name: 'x', match: { kind: 'present' }, invert: true },
      {
        name: 'x',
        headerMatchSpecifier: { $case: 'presentMatch', value: true },
        invertMatch: true,
      },
    ],
  ])('%s', (_case, ir, expected) => {
    expect(headerMatcher(ir)).toEqual(expected);
  });
});

describe('routeAction', () => {
  it.each([
    [
      'one cluster',
      { destination: { kind: 'cluster' as const, name: 'c' } },
      { clusterSpecifier: { $case: 'cluster', value: 'c' } },
    ],
    [
      'weighted clusters with timeouts',
      {
        destination: {
          kind: 'weightedClusters' as const,
          clusters: [
            { name: 'a', weight: 100 },
            { name: 'b', weight: 0 },
          ],
        },
        timeoutMs: 15_000,
        idleTimeoutMs: 300_000,
      },
      {
        clusterSpecifier: {
          $case: 'weightedClusters',
          value: weightedClusters([
            { name: 'a', weight: 100 },
            { name: 'b', weight: 0 },
          ]),
        },
        timeout: duration(15_000),
        idleTimeout: duration(300_000),
      },
    ],
    [
      'a gRPC deadline as max_stream_duration',
      { destination: { kind: 'cluster' as const, name: 'c' }, maxStreamDurationMs: 3_000 },
      {
        clusterSpecifier: { $case: 'cluster', value: 'c' },
        maxStreamDuration: { maxStreamDuration: duration(3_000) },
      },
    ],
  ])('%s', (_case, ir, expected) => {
    expect(routeAction(ir)).toEqual(expected);
  });
});

describe('weightedClusters', () => {
  it('keeps zero weights and sets no total (Envoy sums the weights)', () => {
    expect(weightedClusters([{ name: 'a', weight: 0 }])).toEqual({
      clusters: [{ name: 'a', weight: 0 }],
    });
  });
});

describe('retryPolicy', () => {
  it.each<[string, RetryIr, object]>([
    [
      'conditions joined, status codes listed',
      {
        retryOn: ['reset', 'retriable-status-codes'],
        retriableStatusCodes: [409],
        numRetries: 2,
        perTryTimeoutMs: 1500,
      },
      {
        retryOn: 'reset,retriable-status-codes',
        numRetries: 2,
        perTryTimeout: { seconds: 1, nanos: 500_000_000 },
        retriableStatusCodes: [409],
      },
    ],
    [
      'no per-try timeout, no status codes',
      { retryOn: ['5xx'], retriableStatusCodes: [], numRetries: 0 },
      { retryOn: '5xx', numRetries: 0 },
    ],
  ])('%s', (_case, ir, expected) => {
    expect(retryPolicy(ir)).toEqual(expected);
  });
});
