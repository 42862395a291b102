import {
  SubjectAltNameMatcher_SanType,
  type SubjectAltNameMatcher,
} from '../../../envoy-api/generated/envoy/extensions/transport_sockets/tls/v3/common';
import type { CertificateSourceIr, TrustSourceIr } from '../ir';
import { ADS, LOCAL_SDS } from './config-sources';
import { commonTlsContext, sdsSecretConfig, subjectAltNameMatcher } from './tls';

describe('commonTlsContext', () => {
  const fileCertificate: CertificateSourceIr = {
    kind: 'file',
    certificateChain: '/c.pem',
    privateKey: '/k.pem',
  };
  const fileTrust: TrustSourceIr = { kind: 'file', certificateChain: '/ca.pem' };
  const sdsTrust: TrustSourceIr = { kind: 'sds', secretName: 'bundle' };

  it.each([
    [
      'file certificate and file trust with a SAN',
      fileCertificate,
      { trust: fileTrust, subjectAlternativeNames: ['a.local'] },
      {
        tlsCertificates: [
          {
            certificateChain: { specifier: { $case: 'filename', value: '/c.pem' } },
            privateKey: { specifier: { $case: 'filename', value: '/k.pem' } },
          },
        ],
        validationContextType: {
          $case: 'validationContext',
          value: {
            trustedCa: { specifier: { $case: 'filename', value: '/ca.pem' } },
            matchTypedSubjectAltNames: [subjectAltNameMatcher('a.local')],
          },
        },
      },
    ],
    [
      'SDS certificate and SDS trust without SANs',
      { kind: 'sds' as const, secretName: 'cert' },
      { trust: sdsTrust, subjectAlternativeNames: [] },
      {
        tlsCertificateSdsSecretConfigs: [sdsSecretConfig({ kind: 'sds', secretName: 'cert' })],
        validationContextType: {
          $case: 'validationContextSdsSecretConfig',
          value: sdsSecretConfig(sdsTrust),
        },
      },
    ],
    [
      'SDS trust with SANs: combined validation context',
      undefined,
      { trust: sdsTrust, subjectAlternativeNames: ['spiffe://shop/a'] },
      {
        validationContextType: {
          $case: 'combinedValidationContext',
          value: {
            defaultValidationContext: {
              matchTypedSubjectAltNames: [subjectAltNameMatcher('spiffe://shop/a')],
            },
            validationContextSdsSecretConfig: sdsSecretConfig(sdsTrust),
          },
        },
      },
    ],
  ])('%s', (_case, certificate, validation, expected) => {
    expect(commonTlsContext(certificate, validation, [])).toEqual(expected);
  });

  it('negotiates the ALPN protocols given', () => {
    expect(commonTlsContext(undefined, undefined, ['h2'])).toEqual({ alpnProtocols: ['h2'] });
  });

  it('fetches SDS secrets from the local agent', () => {
    expect(sdsSecretConfig({ kind: 'sds', secretName: 's' })).toEqual({
      name: 's',
      sdsConfig: LOCAL_SDS,
    });
  });

  it('fetches imported certificates from Trellis over ADS', () => {
    expect(sdsSecretConfig({ kind: 'ads', secretName: 'arn:c' })).toEqual({
      name: 'arn:c',
      sdsConfig: ADS,
    });
  });
});

describe('subjectAltNameMatcher', () => {
  it.each<[string, SubjectAltNameMatcher_SanType]>([
    ['cart.shop.local', SubjectAltNameMatcher_SanType.DNS],
    ['spiffe://shop.local/cart', SubjectAltNameMatcher_SanType.URI],
    ['https://example.com/x', SubjectAltNameMatcher_SanType.URI],
  ])('%s', (name, sanType) => {
    const expected: SubjectAltNameMatcher = {
      sanType,
      matcher: { matchPattern: { $case: 'exact', value: name } },
    };
    expect(subjectAltNameMatcher(name)).toEqual(expected);
  });
});
