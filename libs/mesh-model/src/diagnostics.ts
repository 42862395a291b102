/**
 * What can keep part of a mesh from reaching its proxies as written. Every kind a translation, the
 * xDS engine or a registry reports is listed here with what it means to an operator; adding a kind
 * is adding a line (the API, metrics and CLI read this list).
 */
export const DIAGNOSTIC_KINDS = {
  'missing-reference': 'a spec names a resource that does not exist (or has nothing to route to)',
  'certificate-not-imported':
    'a spec names an ACM certificate or ACM Private CA ARN that is not in the certificate store',
  'port-conflict': 'two services or protocols claim one port; one of them is left out',
  'ambiguous-spec':
    'a spec App Mesh leaves open (prefix and path, a route without a port on a multi-listener router); Trellis applies a documented choice',
  'no-endpoints':
    'a Cloud Map service has no healthy instances matching the virtual node, so its callers get no endpoints',
  unsupported: 'a setting Trellis cannot honour for this kind of proxy; it is left out',
  'invalid-resource': "a generated resource breaks Envoy's validation rules and is withheld",
  nack: 'a proxy rejected the configuration it was sent',
} as const;

export type DiagnosticKind = keyof typeof DIAGNOSTIC_KINDS;

export function isDiagnosticKind(value: string): value is DiagnosticKind {
  return Object.prototype.hasOwnProperty.call(DIAGNOSTIC_KINDS, value);
}
