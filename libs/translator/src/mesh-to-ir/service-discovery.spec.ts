import type { IpPreference } from '../../../mesh-model/src/validation';
import { bindAddress, dnsLookupFamily, localAppAddress } from './service-discovery';

describe('IP preferences', () => {
  it.each<[IpPreference | undefined, string, string, boolean, string]>([
    [undefined, 'auto', '127.0.0.1', false, '0.0.0.0'],
    ['IPv4_PREFERRED', 'v4Preferred', '127.0.0.1', true, '::'],
    ['IPv6_PREFERRED', 'auto', '::1', true, '::'],
    ['IPv4_ONLY', 'v4Only', '127.0.0.1', true, '::'],
    ['IPv6_ONLY', 'v6Only', '::1', true, '::'],
  ])(
    '%s: DNS %s, application on %s, listeners on all IPv6 too: %s',
    (preference, family, local, compat, host) => {
      expect(dnsLookupFamily(preference)).toBe(family);
      expect(localAppAddress(preference)).toBe(local);
      expect(bindAddress(preference, 15000)).toEqual({ host, port: 15000, ipv4Compat: compat });
    },
  );
});
