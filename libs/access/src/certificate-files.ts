import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import type { Logger } from 'pino';

export interface CertificateFileNames {
  certFile: string;
  keyFile: string;
  /** CA bundle that client certificates must chain to. */
  caFile?: string;
}

/** PEM bytes as read, checked to belong together. */
export interface CertificateMaterial {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
}

/**
 * A certificate, its key and optionally a client CA bundle from files, re-read when any of
 * them changes (polled, so a Kubernetes secret's symlink swap is seen too). A new set is used
 * only if it parses and the key matches the certificate; otherwise the last good one stays
 * and the problem is logged, so a half-written rotation never takes the port down.
 */
export class CertificateFiles {
  private current: CertificateMaterial;
  private readonly listeners = new Set<(material: CertificateMaterial) => void>();
  private readonly poll = () => this.reload();

  constructor(
    private readonly names: CertificateFileNames,
    private readonly logger: Logger,
    private readonly pollMs = 1000,
  ) {
    // At start a bad file is an error the operator must see at once.
    this.current = readMaterial(names);
  }

  get material(): CertificateMaterial {
    return this.current;
  }

  /** Calls `listener` with every new good set of files until stop(). */
  watch(listener: (material: CertificateMaterial) => void): void {
    if (this.listeners.size === 0) {
      for (const file of this.files())
        watchFile(file, { interval: this.pollMs, persistent: false }, this.poll);
    }
    this.listeners.add(listener);
  }

  stop(): void {
    this.listeners.clear();
    for (const file of this.files()) unwatchFile(file, this.poll);
  }

  private reload(): void {
    let material: CertificateMaterial;
    try {
      material = readMaterial(this.names);
    } catch (error) {
      this.logger.error(
        { err: error, certFile: this.names.certFile },
        'TLS files changed but cannot be used; still serving the previous certificate',
      );
      return;
    }
    if (
      material.cert.equals(this.current.cert) &&
      material.key.equals(this.current.key) &&
      (material.ca?.equals(this.current.ca ?? Buffer.alloc(0)) ?? !this.current.ca)
    ) {
      return;
    }
    this.current = material;
    this.logger.info(
      { certFile: this.names.certFile, notAfter: new X509Certificate(material.cert).validTo },
      'TLS certificate reloaded',
    );
    for (const listener of this.listeners) listener(material);
  }

  private files(): string[] {
    return [
      this.names.certFile,
      this.names.keyFile,
      ...(this.names.caFile ? [this.names.caFile] : []),
    ];
  }
}

function readMaterial(names: CertificateFileNames): CertificateMaterial {
  const cert = readFileSync(names.certFile);
  const key = readFileSync(names.keyFile);
  const certificate = new X509Certificate(cert);
  if (!certificate.checkPrivateKey(createPrivateKey(key))) {
    throw new Error(
      `The private key in ${names.keyFile} does not belong to the certificate in ${names.certFile}`,
    );
  }
  const ca = names.caFile ? readFileSync(names.caFile) : undefined;
  if (ca) new X509Certificate(ca);
  return { cert, key, ...(ca ? { ca } : {}) };
}
