import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import forge from 'node-forge';

export interface IssuedCertificate {
  cert: string;
  key: string;
}

/** A test certificate authority that issues server and SPIFFE client certificates. */
export class TestCertificateAuthority {
  readonly certificate: IssuedCertificate;
  private readonly caCert: forge.pki.Certificate;
  private readonly caKey: forge.pki.rsa.PrivateKey;
  private serial = 1;

  constructor(commonName = 'Trellis test CA') {
    const keys = forge.pki.rsa.generateKeyPair(2048);
    const cert = this.newCertificate(keys.publicKey, commonName);
    cert.setIssuer(cert.subject.attributes);
    cert.setExtensions([
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ]);
    cert.sign(keys.privateKey, forge.md.sha256.create());
    this.caCert = cert;
    this.caKey = keys.privateKey;
    this.certificate = {
      cert: forge.pki.certificateToPem(cert),
      key: forge.pki.privateKeyToPem(keys.privateKey),
    };
  }

  /** A server certificate for localhost and 127.0.0.1. */
  server(): IssuedCertificate {
    return this.issue(
      'localhost',
      [
        { type: 2, value: 'localhost' },
        { type: 7, ip: '127.0.0.1' },
      ],
      { serverAuth: true },
    );
  }

  /** A client certificate whose URI SAN is `uri` (a SPIFFE id). */
  client(uri: string): IssuedCertificate {
    return this.issue('proxy', [{ type: 6, value: uri }], { clientAuth: true });
  }

  private issue(
    commonName: string,
    altNames: unknown[],
    usage: { serverAuth?: boolean; clientAuth?: boolean },
  ): IssuedCertificate {
    const keys = forge.pki.rsa.generateKeyPair(2048);
    const cert = this.newCertificate(keys.publicKey, commonName);
    cert.setIssuer(this.caCert.subject.attributes);
    cert.setExtensions([
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', ...usage },
      { name: 'subjectAltName', altNames },
    ]);
    cert.sign(this.caKey, forge.md.sha256.create());
    return {
      cert: forge.pki.certificateToPem(cert),
      key: forge.pki.privateKeyToPem(keys.privateKey),
    };
  }

  private newCertificate(
    publicKey: forge.pki.PublicKey,
    commonName: string,
  ): forge.pki.Certificate {
    const cert = forge.pki.createCertificate();
    cert.publicKey = publicKey;
    cert.serialNumber = String(this.serial++).padStart(2, '0');
    cert.validity.notBefore = new Date(Date.now() - 60_000);
    cert.validity.notAfter = new Date(Date.now() + 86_400_000);
    cert.setSubject([{ name: 'commonName', value: commonName }]);
    return cert;
  }
}

/** Writes PEM files into a fresh directory; answers their paths. */
export function writePemFiles(files: Record<string, string>): Record<string, string> {
  const directory = mkdtempSync(path.join(tmpdir(), 'trellis-tls-'));
  return Object.fromEntries(
    Object.entries(files).map(([name, pem]) => {
      const file = path.join(directory, name);
      writeFileSync(file, pem, { mode: 0o600 });
      return [name, file];
    }),
  );
}
