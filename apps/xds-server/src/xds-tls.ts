import * as grpc from '@grpc/grpc-js';
import type { SecureContextOptions } from 'node:tls';
import type { CertificateMaterial } from '../../../libs/access/src/certificate-files';

/**
 * gRPC server credentials whose certificate can be replaced while the server runs: grpc-js
 * applies `updateSecureContextOptions` to new connections (open streams keep theirs).
 * Client certificates are requested when a CA is given but not required, since a proxy may
 * authenticate with SigV4 metadata instead; only certificates the CA verified count
 * (grpc-js reports no peer certificate for an unverified one).
 */
export class ReloadingServerCredentials extends grpc.ServerCredentials {
  constructor(material: CertificateMaterial) {
    super(
      { requestCert: material.ca !== undefined, rejectUnauthorized: false },
      contextOptions(material),
    );
  }

  update(material: CertificateMaterial): void {
    this.updateSecureContextOptions(contextOptions(material));
  }

  _equals(other: grpc.ServerCredentials): boolean {
    return other === this;
  }
}

function contextOptions(material: CertificateMaterial): SecureContextOptions {
  return { cert: material.cert, key: material.key, ...(material.ca ? { ca: material.ca } : {}) };
}
