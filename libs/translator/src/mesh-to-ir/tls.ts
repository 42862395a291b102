import type {
  ClientPolicy,
  ClientTlsCertificate,
  ListenerTls,
  ListenerTlsValidationContextTrust,
  PortProtocol,
  SubjectAlternativeNames,
} from '../../../mesh-model/src/validation';
import type {
  CertificateSourceIr,
  DownstreamTlsIr,
  SecretIr,
  TrustSourceIr,
  UpstreamTlsIr,
} from '../ir';
import type { ImportedCertificate } from '../mesh-snapshot';
import { compareStrings, type TranslationErrors } from '../translation-errors';

/**
 * TLS a cluster or filter chain must use: none, the settings, or settings that cannot be honoured
 * (an ACM ARN that is not imported). Those fail closed: the caller sends no traffic rather than
 * sending it in plaintext.
 */
export type TlsDecision<T> = { kind: 'none' } | { kind: 'tls'; tls: T } | { kind: 'unsupported' };

/**
 * The secrets a proxy's TLS settings name that Trellis serves itself: certificates and CA bundles
 * imported under ACM and ACM Private CA ARNs. They reach the proxy over SDS on the ADS stream,
 * never inside a listener or cluster, so replacing a certificate changes only its secret.
 */
export class ServedSecrets {
  private readonly served = new Map<string, SecretIr>();

  constructor(
    private readonly certificates: ReadonlyMap<string, ImportedCertificate> | undefined,
  ) {}

  /** The certificate imported under an ACM certificate ARN; undefined when it is not. */
  certificate(arn: string): CertificateSourceIr | undefined {
    const imported = this.certificates?.get(arn);
    if (imported?.kind !== 'certificate') return undefined;
    this.served.set(arn, {
      name: arn,
      kind: 'certificate',
      certificateChain: imported.certificateChain,
      privateKey: imported.privateKey,
    });
    return { kind: 'ads', secretName: arn };
  }

  /**
   * One trust bundle of the CA certificates imported under ACM Private CA ARNs (Envoy validates
   * against one secret), named by the ARNs; `missing` lists the ARNs not imported.
   */
  authorities(arns: readonly string[]): { trust: TrustSourceIr } | { missing: string[] } {
    const sorted = [...new Set(arns)].sort(compareStrings);
    const bundles: string[] = [];
    const missing: string[] = [];
    for (const arn of sorted) {
      const imported = this.certificates?.get(arn);
      if (imported === undefined) missing.push(arn);
      else bundles.push(imported.certificateChain.trimEnd());
    }
    if (missing.length > 0) return { missing };
    const name = sorted.join(',');
    this.served.set(name, { name, kind: 'trust', trustedCa: `${bundles.join('\n')}\n` });
    return { trust: { kind: 'ads', secretName: name } };
  }

  list(): SecretIr[] {
    return [...this.served.values()];
  }
}

/**
 * A backend's client policy for one target listener. `enforce` defaults to true; `ports` limits
 * the policy to those ports ("If you don't specify any ports, TLS is enforced for all ports").
 * With ACM Private CA trust and no subject alternative names, the server certificate must name
 * the target's service discovery name, as App Mesh required of ACM certificates
 * (`defaultSubjectAlternativeName`).
 */
export function upstreamTls(
  policy: ClientPolicy | undefined,
  target: { port: number; protocol: PortProtocol; defaultSubjectAlternativeName?: string },
  secrets: ServedSecrets,
  errors: TranslationErrors,
  path: string,
): TlsDecision<UpstreamTlsIr> {
  const tls = policy?.tls;
  if (tls === undefined || !clientPolicyRequiresTls(policy, target.port)) return { kind: 'none' };
  const validationTrust = tls.validation.trust;
  let trust: TrustSourceIr;
  let subjectAlternativeNames = namesOf(tls.validation.subjectAlternativeNames);
  if ('acm' in validationTrust) {
    const resolved = secrets.authorities(validationTrust.acm.certificateAuthorityArns);
    if ('missing' in resolved) {
      errors.add(
        'certificate-not-imported',
        `${path}.tls.validation.trust.acm.certificateAuthorityArns`,
        `${resolved.missing.join(', ')} not imported (trellis certificates import); ` +
          'no traffic is sent to this backend rather than sending it unverified',
      );
      return { kind: 'unsupported' };
    }
    trust = resolved.trust;
    if (subjectAlternativeNames.length === 0 && target.defaultSubjectAlternativeName) {
      subjectAlternativeNames = [target.defaultSubjectAlternativeName];
    }
  } else {
    trust = listenerTrustSource(validationTrust);
  }
  return {
    kind: 'tls',
    tls: {
      ...(tls.certificate !== undefined && { certificate: clientCertificate(tls.certificate) }),
      trust,
      subjectAlternativeNames,
      alpnProtocols: alpnProtocols(target.protocol),
    },
  };
}

/** Whether a client policy makes calls to `port` use TLS. */
export function clientPolicyRequiresTls(policy: ClientPolicy | undefined, port: number): boolean {
  const tls = policy?.tls;
  if (tls === undefined || tls.enforce === false) return false;
  return tls.ports === undefined || tls.ports.length === 0 || tls.ports.includes(port);
}

/**
 * A listener's TLS termination. STRICT and PERMISSIVE both terminate TLS with these settings;
 * the caller adds a plaintext filter chain beside a PERMISSIVE one. An ACM certificate that is not
 * imported is reported and fails closed (no TLS filter chain).
 */
export function downstreamTls(
  tls: ListenerTls | undefined,
  protocol: PortProtocol,
  secrets: ServedSecrets,
  errors: TranslationErrors,
  path: string,
): TlsDecision<DownstreamTlsIr> {
  if (tls === undefined || tls.mode === 'DISABLED') return { kind: 'none' };
  let certificate: CertificateSourceIr;
  if ('acm' in tls.certificate) {
    const arn = tls.certificate.acm.certificateArn;
    const imported = secrets.certificate(arn);
    if (imported === undefined) {
      errors.add(
        'certificate-not-imported',
        `${path}.tls.certificate.acm.certificateArn`,
        `${arn} is not imported (trellis certificates import); ` +
          (tls.mode === 'PERMISSIVE'
            ? 'the port accepts plaintext only'
            : 'the port is not served rather than served without TLS'),
      );
      return { kind: 'unsupported' };
    }
    certificate = imported;
  } else {
    certificate = clientCertificate(tls.certificate);
  }
  const validation = tls.validation;
  return {
    kind: 'tls',
    tls: {
      certificate,
      ...(validation !== undefined && {
        clientValidation: {
          trust: listenerTrustSource(validation.trust),
          subjectAlternativeNames: namesOf(validation.subjectAlternativeNames),
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

function listenerTrustSource(trust: ListenerTlsValidationContextTrust): TrustSourceIr {
  return 'file' in trust
    ? { kind: 'file', certificateChain: trust.file.certificateChain }
    : { kind: 'sds', secretName: trust.sds.secretName };
}

function namesOf(names: SubjectAlternativeNames | undefined): string[] {
  return [...(names?.match.exact ?? [])];
}

/** HTTP/2 and gRPC negotiate h2 over TLS; HTTP/1.1 and TCP need no ALPN. */
function alpnProtocols(protocol: PortProtocol): string[] {
  return protocol === 'http2' || protocol === 'grpc' ? ['h2'] : [];
}
