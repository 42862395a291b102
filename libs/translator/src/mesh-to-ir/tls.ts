import type {
  ClientPolicy,
  ClientTlsCertificate,
  ListenerTls,
  ListenerTlsValidationContextTrust,
  PortProtocol,
  SubjectAlternativeNames,
  TlsValidationContextTrust,
} from '../../../mesh-model/src/validation';
import type { CertificateSourceIr, DownstreamTlsIr, TrustSourceIr, UpstreamTlsIr } from '../ir';
import type { TranslationErrors } from '../translation-errors';

/**
 * TLS a cluster or filter chain must use: none, the settings, or settings Trellis cannot honour
 * (ACM certificates and trust live in AWS). Those fail closed: the caller sends no traffic rather
 * than sending it in plaintext.
 */
export type TlsDecision<T> = { kind: 'none' } | { kind: 'tls'; tls: T } | { kind: 'unsupported' };

/**
 * A backend's client policy for one target listener. `enforce` defaults to true; `ports` limits
 * the policy to those ports ("If you don't specify any ports, TLS is enforced for all ports").
 */
export function upstreamTls(
  policy: ClientPolicy | undefined,
  port: number,
  protocol: PortProtocol,
  errors: TranslationErrors,
  path: string,
): TlsDecision<UpstreamTlsIr> {
  const tls = policy?.tls;
  if (tls === undefined || tls.enforce === false) return { kind: 'none' };
  if (tls.ports !== undefined && tls.ports.length > 0 && !tls.ports.includes(port)) {
    return { kind: 'none' };
  }
  const trust = trustSource(tls.validation.trust);
  if (trust === undefined) {
    errors.add(
      `${path}.tls.validation.trust`,
      'ACM Private CA trust is not available outside AWS; use file or sds trust. No traffic is sent to this backend',
    );
    return { kind: 'unsupported' };
  }
  return {
    kind: 'tls',
    tls: {
      ...(tls.certificate !== undefined && { certificate: clientCertificate(tls.certificate) }),
      trust,
      subjectAlternativeNames: subjectAlternativeNames(tls.validation.subjectAlternativeNames),
      alpnProtocols: alpnProtocols(protocol),
    },
  };
}

/**
 * A listener's TLS termination. PERMISSIVE (TLS and plaintext on one port) needs Envoy's TLS
 * inspector, which Trellis does not generate yet: it is served as STRICT, with an error.
 */
export function downstreamTls(
  tls: ListenerTls | undefined,
  protocol: PortProtocol,
  errors: TranslationErrors,
  path: string,
): TlsDecision<DownstreamTlsIr> {
  if (tls === undefined || tls.mode === 'DISABLED') return { kind: 'none' };
  if (tls.mode === 'PERMISSIVE') {
    errors.add(
      `${path}.tls.mode`,
      'PERMISSIVE is served as STRICT: accepting plaintext on a TLS port needs the TLS inspector listener filter',
    );
  }
  if ('acm' in tls.certificate) {
    errors.add(
      `${path}.tls.certificate.acm`,
      'ACM certificates are not available outside AWS; use a file or sds certificate. The listener does not accept traffic',
    );
    return { kind: 'unsupported' };
  }
  const validation = tls.validation;
  return {
    kind: 'tls',
    tls: {
      certificate: clientCertificate(tls.certificate),
      ...(validation !== undefined && {
        clientValidation: {
          trust: listenerTrustSource(validation.trust),
          subjectAlternativeNames: subjectAlternativeNames(validation.subjectAlternativeNames),
        },
      }),
      alpnProtocols: alpnProtocols(protocol),
    },
  };
}

function clientCertificate(certificate: ClientTlsCertificate): CertificateSourceIr {
  return 'file' in certificate
    ? {
        kind: 'file',
        certificateChain: certificate.file.certificateChain,
        privateKey: certificate.file.privateKey,
      }
    : { kind: 'sds', secretName: certificate.sds.secretName };
}

function trustSource(trust: TlsValidationContextTrust): TrustSourceIr | undefined {
  if ('acm' in trust) return undefined;
  return listenerTrustSource(trust);
}

function listenerTrustSource(trust: ListenerTlsValidationContextTrust): TrustSourceIr {
  return 'file' in trust
    ? { kind: 'file', certificateChain: trust.file.certificateChain }
    : { kind: 'sds', secretName: trust.sds.secretName };
}

function subjectAlternativeNames(names: SubjectAlternativeNames | undefined): string[] {
  return [...(names?.match.exact ?? [])];
}

/** HTTP/2 and gRPC negotiate h2 over TLS; HTTP/1.1 and TCP need no ALPN. */
function alpnProtocols(protocol: PortProtocol): string[] {
  return protocol === 'http2' || protocol === 'grpc' ? ['h2'] : [];
}
