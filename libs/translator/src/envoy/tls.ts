import type { TransportSocket } from '../../../envoy-api/generated/envoy/config/core/v3/base';
import {
  SubjectAltNameMatcher_SanType,
  type CertificateValidationContext,
  type SubjectAltNameMatcher,
} from '../../../envoy-api/generated/envoy/extensions/transport_sockets/tls/v3/common';
import type {
  SdsSecretConfig,
  Secret,
} from '../../../envoy-api/generated/envoy/extensions/transport_sockets/tls/v3/secret';
import {
  DownstreamTlsContext,
  UpstreamTlsContext,
  type CommonTlsContext,
} from '../../../envoy-api/generated/envoy/extensions/transport_sockets/tls/v3/tls';
import { packAny } from '../../../envoy-api/src/any';
import type {
  CertificateSourceIr,
  DownstreamTlsIr,
  SecretIr,
  TrustSourceIr,
  UpstreamTlsIr,
} from '../ir';
import { ADS, LOCAL_SDS } from './config-sources';

/** TLS to a backend: the trust validates the server, the optional certificate is presented. */
export function upstreamTlsTransportSocket(tls: UpstreamTlsIr): TransportSocket {
  const context: UpstreamTlsContext = {
    commonTlsContext: commonTlsContext(
      tls.certificate,
      { trust: tls.trust, subjectAlternativeNames: tls.subjectAlternativeNames },
      tls.alpnProtocols,
    ),
  };
  return {
    name: 'envoy.transport_sockets.tls',
    configType: { $case: 'typedConfig', value: packAny(UpstreamTlsContext, context) },
  };
}

/** TLS termination on a listener; a validation context makes client certificates mandatory. */
export function downstreamTlsTransportSocket(tls: DownstreamTlsIr): TransportSocket {
  const context: DownstreamTlsContext = {
    commonTlsContext: commonTlsContext(tls.certificate, tls.clientValidation, tls.alpnProtocols),
    ...(tls.clientValidation !== undefined && { requireClientCertificate: true }),
  };
  return {
    name: 'envoy.transport_sockets.tls',
    configType: { $case: 'typedConfig', value: packAny(DownstreamTlsContext, context) },
  };
}

export function commonTlsContext(
  certificate: CertificateSourceIr | undefined,
  validation: { trust: TrustSourceIr; subjectAlternativeNames: string[] } | undefined,
  alpnProtocols: readonly string[],
): CommonTlsContext {
  return {
    ...(certificate?.kind === 'file' && {
      tlsCertificates: [
        {
          certificateChain: {
            specifier: { $case: 'filename', value: certificate.certificateChain },
          },
          privateKey: { specifier: { $case: 'filename', value: certificate.privateKey } },
        },
      ],
    }),
    ...((certificate?.kind === 'sds' || certificate?.kind === 'ads') && {
      tlsCertificateSdsSecretConfigs: [sdsSecretConfig(certificate)],
    }),
    ...(validation !== undefined && {
      validationContextType: validationContextType(
        validation.trust,
        validation.subjectAlternativeNames,
      ),
    }),
    ...(alpnProtocols.length > 0 && { alpnProtocols: [...alpnProtocols] }),
  };
}

/**
 * File trust is a validation context; SDS trust is the secret, combined with a context holding
 * the subject alternative names when there are any.
 */
function validationContextType(
  trust: TrustSourceIr,
  subjectAlternativeNames: readonly string[],
): CommonTlsContext['validationContextType'] {
  const names: CertificateValidationContext =
    subjectAlternativeNames.length > 0
      ? { matchTypedSubjectAltNames: subjectAlternativeNames.map(subjectAltNameMatcher) }
      : {};
  if (trust.kind === 'file') {
    return {
      $case: 'validationContext',
      value: {
        trustedCa: { specifier: { $case: 'filename', value: trust.certificateChain } },
        ...names,
      },
    };
  }
  if (subjectAlternativeNames.length === 0) {
    return { $case: 'validationContextSdsSecretConfig', value: sdsSecretConfig(trust) };
  }
  return {
    $case: 'combinedValidationContext',
    value: {
      defaultValidationContext: names,
      validationContextSdsSecretConfig: sdsSecretConfig(trust),
    },
  };
}

/** App Mesh SANs are FQDNs or URIs (SPIFFE IDs such as `spiffe://mesh.local/web`). */
export function subjectAltNameMatcher(name: string): SubjectAltNameMatcher {
  return {
    sanType: /^[a-z][a-z0-9+.-]*:\/\//i.test(name)
      ? SubjectAltNameMatcher_SanType.URI
      : SubjectAltNameMatcher_SanType.DNS,
    matcher: { matchPattern: { $case: 'exact', value: name } },
  };
}

/**
 * An SDS secret: served by the local agent (`sds`, see LOCAL_SDS), or by Trellis on the ADS stream
 * (`ads`, certificates imported by ACM ARN).
 */
export function sdsSecretConfig(secret: {
  kind: 'sds' | 'ads';
  secretName: string;
}): SdsSecretConfig {
  return { name: secret.secretName, sdsConfig: secret.kind === 'ads' ? ADS : LOCAL_SDS };
}

/** A secret Trellis serves: a certificate with its private key, or a trust bundle, inline. */
export function secret(ir: SecretIr): Secret {
  return {
    name: ir.name,
    type:
      ir.kind === 'certificate'
        ? {
            $case: 'tlsCertificate',
            value: {
              certificateChain: {
                specifier: { $case: 'inlineString', value: ir.certificateChain },
              },
              privateKey: { specifier: { $case: 'inlineString', value: ir.privateKey } },
            },
          }
        : {
            $case: 'validationContext',
            value: { trustedCa: { specifier: { $case: 'inlineString', value: ir.trustedCa } } },
          },
  };
}
