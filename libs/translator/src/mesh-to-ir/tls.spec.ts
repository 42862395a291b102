import type { ClientPolicy } from '../../../mesh-model/src/validation';
import { TranslationErrors } from '../translation-errors';
import { upstreamTls } from './tls';

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
      'ACM trust cannot be honoured: fail closed',
      { tls: { validation: { trust: { acm: { certificateAuthorityArns: ['arn:ca'] } } } } },
      8080,
      'unsupported',
    ],
  ])('%s', (_case, policy, port, kind) => {
    expect(upstreamTls(policy, port, 'http', new TranslationErrors(), 'path').kind).toBe(kind);
  });
});
