import type { RouteSpec } from '../../../mesh-model/src/validation';
import type { NamedRoute } from '../mesh-snapshot';
import { grpcPath, inMatchOrder } from './route-order';

const target = { weightedTargets: [{ virtualNode: 'node', weight: 100 }] };

function http(
  name: string,
  match: { prefix?: string; exact?: string; regex?: string },
  priority?: number,
): NamedRoute {
  const spec: RouteSpec = {
    httpRoute: {
      match:
        match.prefix !== undefined
          ? { prefix: match.prefix }
          : {
              path:
                match.exact !== undefined ? { exact: match.exact } : { regex: match.regex ?? '' },
            },
      action: target,
    },
    ...(priority !== undefined && { priority }),
  };
  return { name, spec };
}

function grpc(
  name: string,
  serviceName?: string,
  methodName?: string,
  priority?: number,
): NamedRoute {
  return {
    name,
    spec: {
      grpcRoute: {
        match: {
          ...(serviceName !== undefined && { serviceName }),
          ...(methodName !== undefined && { methodName }),
        },
        action: target,
      },
      ...(priority !== undefined && { priority }),
    },
  };
}

describe('inMatchOrder', () => {
  it.each<[string, NamedRoute[], string[]]>([
    [
      'lower priority values first, 0 being the highest',
      [
        http('p10', { prefix: '/' }, 10),
        http('p0', { prefix: '/' }, 0),
        http('p1000', { prefix: '/' }, 1000),
      ],
      ['p0', 'p10', 'p1000'],
    ],
    [
      'routes without a priority after every route with one',
      [http('none', { prefix: '/very/long/prefix' }), http('p1000', { prefix: '/' }, 1000)],
      ['p1000', 'none'],
    ],
    [
      'equal priority: the longer prefix first',
      [
        http('root', { prefix: '/' }),
        http('api', { prefix: '/api' }),
        http('api-v2', { prefix: '/api/v2' }),
      ],
      ['api-v2', 'api', 'root'],
    ],
    [
      'equal priority: exact paths and regexes count their length too',
      [
        http('prefix', { prefix: '/ab' }),
        http('exact', { exact: '/abcd' }),
        http('regex', { regex: '/a.' }),
      ],
      ['exact', 'prefix', 'regex'],
    ],
    [
      'equal priority and length: by route name',
      [http('b', { prefix: '/x' }, 5), http('a', { prefix: '/y' }, 5)],
      ['a', 'b'],
    ],
    [
      'gRPC: a method before its service before every call',
      [grpc('all'), grpc('service', 'pkg.Svc'), grpc('method', 'pkg.Svc', 'Call')],
      ['method', 'service', 'all'],
    ],
    [
      'gRPC: priority wins over length',
      [grpc('method', 'pkg.Svc', 'Call'), grpc('all', undefined, undefined, 0)],
      ['all', 'method'],
    ],
  ])('%s', (_case, routes, expected) => {
    expect(inMatchOrder(routes).map((route) => route.name)).toEqual(expected);
  });

  it('does not reorder its input', () => {
    const routes = [http('root', { prefix: '/' }), http('api', { prefix: '/api' })];
    inMatchOrder(routes);
    expect(routes.map((route) => route.name)).toEqual(['root', 'api']);
  });
});

describe('grpcPath', () => {
  it.each([
    ['every call', {}, { kind: 'prefix', value: '/' }],
    [
      'every method of a service',
      { serviceName: 'pkg.Svc' },
      { kind: 'prefix', value: '/pkg.Svc/' },
    ],
    [
      'one method',
      { serviceName: 'pkg.Svc', methodName: 'Call' },
      { kind: 'exact', value: '/pkg.Svc/Call' },
    ],
  ])('%s', (_case, match, expected) => {
    expect(grpcPath(match)).toEqual(expected);
  });
});
