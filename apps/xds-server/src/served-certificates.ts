import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import type { CertificateStore } from '../../../libs/persistence/src/certificate-store';
import { openSecret } from '../../../libs/persistence/src/master-key';
import type { ImportedCertificate } from '../../../libs/translator/src/mesh-snapshot';

/**
 * The certificate store as the xDS role serves it: every certificate with its private key opened,
 * kept in memory (the translator reads it like a mesh snapshot) and refreshed on change.
 */
export class ServedCertificates {
  private version?: string;
  private certificates: ReadonlyMap<string, ImportedCertificate> = new Map();

  constructor(
    private readonly store: CertificateStore,
    private readonly masterKey: () => Buffer,
    private readonly logger: Logger,
  ) {}

  get current(): ReadonlyMap<string, ImportedCertificate> {
    return this.certificates;
  }

  /** Reads the store when its version moved; returns the ARNs whose content changed. */
  async refresh(): Promise<string[]> {
    if (this.version !== undefined && (await this.store.version()) === this.version) return [];
    const { version, certificates } = await this.store.servable();
    const next = new Map<string, ImportedCertificate>();
    for (const stored of certificates) {
      if (stored.kind === 'authority') {
        next.set(stored.arn, { kind: 'authority', certificateChain: stored.certificateChain });
        continue;
      }
      try {
        next.set(stored.arn, {
          kind: 'certificate',
          certificateChain: stored.certificateChain,
          privateKey: openSecret(this.masterKey(), stored.privateKeySealed ?? ''),
        });
      } catch (error) {
        // Served as not imported (the proxy keeps no dead listener), and reported as such.
        this.logger.error(
          { err: error, arn: stored.arn },
          'cannot open the private key of an imported certificate (wrong TRELLIS_MASTER_KEY?)',
        );
      }
    }
    const changed = [...new Set([...this.certificates.keys(), ...next.keys()])].filter(
      (arn) => !isDeepStrictEqual(this.certificates.get(arn), next.get(arn)),
    );
    this.certificates = next;
    this.version = version;
    return changed;
  }
}
