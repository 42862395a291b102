import type { HeaderMatchMethod, HttpRouteMatch } from '../../../mesh-model/src/validation';
import type { HeaderMatchIr, RouteMatchIr } from '../ir';
import { grpcRouteMatch, headerMatch, httpRouteMatch } from './route-matches';

describe('headerMatch', () => {
  it.each<[string, HeaderMatchMethod | undefined, HeaderMatchIr['match']]>([
    ['no match method: present', undefined, { kind: 'present' }],
    ['exact', { exact: 'a' }, { kind: 'exact', value: 'a' }],
    ['prefix', { prefix: 'a' }, { kind: 'prefix', value: 'a' }],
    ['suffix', { suffix: 'a' }, { kind: 'suffix', value: 'a' }],
    ['regex', { regex: 'a.*' }, { kind: 'regex', value: 'a.*' }],
    [
      'range, end exclusive in both',
      { range: { start: 1, end: 100 } },
      { kind: 'range', start: 1, end: 100 },
    ],
  ])('%s', (_case, method, expected) => {
    expect(headerMatch(method)).toEqual(expected);
  });
});

describe('httpRouteMatch', () => {
  it.each<[string, HttpRouteMatch, RouteMatchIr]>([
    [
      'prefix',
      { prefix: '/a' },
      { path: { kind: 'prefix', value: '/a' }, headers: [], queryParameters: [] },
    ],
    [
      'exact path',
      { path: { exact: '/a' } },
      { path: { kind: 'exact', value: '/a' }, headers: [], queryParameters: [] },
    ],
    [
      'regex path',
      { path: { regex: '/a/.*' } },
      { path: { kind: 'regex', value: '/a/.*' }, headers: [], queryParameters: [] },
    ],
    [
      'method and scheme are pseudo-headers; the port is not a request match',
      { prefix: '/', method: 'PUT', scheme: 'https', port: 8080 },
      {
        path: { kind: 'prefix', value: '/' },
        headers: [
          { name: ':method', match: { kind: 'exact', value: 'PUT' }, invert: false },
          { name: ':scheme', match: { kind: 'exact', value: 'https' }, invert: false },
        ],
        queryParameters: [],
      },
    ],
    [
      'inverted headers and query parameters, exact or present',
      {
        prefix: '/',
        headers: [{ name: 'x-a', invert: true, match: { suffix: 'z' } }],
        queryParameters: [{ name: 'v', match: { exact: '1' } }, { name: 'debug' }],
      },
      {
        path: { kind: 'prefix', value: '/' },
        headers: [{ name: 'x-a', match: { kind: 'suffix', value: 'z' }, invert: true }],
        queryParameters: [{ name: 'v', exact: '1' }, { name: 'debug' }],
      },
    ],
  ])('%s', (_case, match, expected) => {
    expect(httpRouteMatch(match)).toEqual(expected);
  });

  it('turns gRPC metadata into header matches', () => {
    expect(
      grpcRouteMatch({
        serviceName: 'pkg.Svc',
        metadata: [
          { name: 'x-tenant', match: { exact: 'acme' } },
          { name: 'x-debug', invert: true },
        ],
      }),
    ).toEqual({
      path: { kind: 'prefix', value: '/pkg.Svc/' },
      headers: [
        { name: 'x-tenant', match: { kind: 'exact', value: 'acme' }, invert: false },
        { name: 'x-debug', match: { kind: 'present' }, invert: true },
      ],
      queryParameters: [],
    });
  });
});
