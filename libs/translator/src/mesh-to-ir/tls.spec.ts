import type { ClientPolicy } from '../../../mesh-model/src/validation';
import { TranslationErrors } from '../translation-errors';
import type { ImportedCertificate } from '../mesh-snapshot';
import { ServedSecrets, upstreamTls } from './tls';

describe('upstreamTls', () => {
  const fileTrust = { trust: { file: { certificateChain: '/ca.pem' } } };
  it.each<[string, ClientPolicy | undefined, number, string]>([
    ['no policy', undefined, 8080, 'none'],
    ['enforced by default', { tls: { validation: fileTrust } }, 8080, 'tls'],
    [
      'enforce false turns it off',
      { tls: { enforce: false, validation: fileTrust } },
      8080,
      'none',
    ],
    [
      'ports list includes the port',
      { tls: { ports: [8080], validation: fileTrust } },
      8080,
      'tls',
    ],
    [
      'ports list excludes the port',
      { tls: { ports: [8443], validation: fileTrust } },
      8080,
      'none',
    ],
    [
      'an empty ports list means every port',
      { tls: { ports: [], validation: fileTrust } },
      8080,
      'tls',
    ],
    [
      'ACM Private CA trust not imported: fail closed',
      { tls: { validation: { trust: { acm: { certificateAuthorityArns: ['arn:missing'] } } } } },
      8080,
      'unsupported',
    ],
    [
      'ACM Private CA trust imported',
      { tls: { validation: { trust: { acm: { certificateAuthorityArns: ['arn:ca'] } } } } },
      8080,
      'tls',
    ],
  ])('%s', (_case, policy, port, kind) => {
    const secrets = new ServedSecrets(imported);
    expect(
      upstreamTls(policy, { port, protocol: 'http' }, secrets, new TranslationErrors(), 'p').kind,
    ).toBe(kind);
  });

  it('checks the service discovery name when ACM trust names no SANs, as App Mesh did', () => {
    const policy: ClientPolicy = {
      tls: { validation: { trust: { acm: { certificateAuthorityArns: ['arn:ca'] } } } },
    };
    const decision = upstreamTls(
      policy,
      { port: 8080, protocol: 'http', defaultSubjectAlternativeName: 'api.shop.local' },
      new ServedSecrets(imported),
      new TranslationErrors(),
      'p',
    );
    expect(decision).toMatchObject({ tls: { subjectAlternativeNames: ['api.shop.local'] } });
  });
});

const imported = new Map<string, ImportedCertificate>([
  ['arn:ca', { kind: 'authority', certificateChain: 'CA PEM' }],
]);
