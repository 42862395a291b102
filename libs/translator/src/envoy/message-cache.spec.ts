import { CLUSTER, ROUTE_CONFIGURATION } from '../../../xds-types/src/resource-types';
import { EnvoyMessageCache } from './message-cache';

describe('EnvoyMessageCache', () => {
  const build = (ir: { name: string; port: number }) => ({ ...ir, built: true });

  it('gives equal IR of one type the same message, built once', () => {
    const cache = new EnvoyMessageCache();
    const builder = jest.fn(build);
    const first = cache.message(CLUSTER, { name: 'a', port: 1 }, builder);
    expect(cache.message(CLUSTER, { name: 'a', port: 1 }, builder)).toBe(first);
    expect(builder).toHaveBeenCalledTimes(1);
  });

  it.each([
    ['other content', CLUSTER, { name: 'a', port: 2 }],
    ['another type', ROUTE_CONFIGURATION, { name: 'a', port: 1 }],
  ] as const)('builds a new message for %s', (_, typeUrl, ir) => {
    const cache = new EnvoyMessageCache();
    const first = cache.message(CLUSTER, { name: 'a', port: 1 }, build);
    expect(cache.message(typeUrl, ir, build)).not.toBe(first);
  });

  it('keeps messages in use when it drops the older generation', () => {
    const cache = new EnvoyMessageCache(2);
    const used = cache.message(CLUSTER, { name: 'used', port: 1 }, build);
    const unused = cache.message(CLUSTER, { name: 'unused', port: 1 }, build);
    // Turnover: the first two become the older generation; `used` is found there and kept.
    cache.message(CLUSTER, { name: 'c', port: 1 }, build);
    expect(cache.message(CLUSTER, { name: 'used', port: 1 }, build)).toBe(used);
    // Turnover again: `unused` was not asked for since and is gone.
    cache.message(CLUSTER, { name: 'd', port: 1 }, build);
    cache.message(CLUSTER, { name: 'e', port: 1 }, build);
    expect(cache.message(CLUSTER, { name: 'used', port: 1 }, build)).toBe(used);
    expect(cache.message(CLUSTER, { name: 'unused', port: 1 }, build)).not.toBe(unused);
  });
});
