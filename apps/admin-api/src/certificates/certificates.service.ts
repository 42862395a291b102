import { createPrivateKey, randomUUID, X509Certificate, type KeyObject } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { Gauge, Registry } from 'prom-client';
import {
  BadRequestException,
  InternalServerErrorException,
  NotFoundException,
  ResourceInUseException,
} from '../../../../libs/mesh-model/src/errors';
import {
  CertificateStore,
  type CertificateInfo,
} from '../../../../libs/persistence/src/certificate-store';
import { sealSecret } from '../../../../libs/persistence/src/master-key';
import { ADMIN_API_OPTIONS, type AdminApiOptions } from '../admin-api.options';

/** The master key, loaded when first needed (a Trellis without certificates needs none). */
export const MASTER_KEY = Symbol('MasterKey');
export type MasterKeySource = () => Buffer;

/** An ACM certificate ARN, as listeners name it (`arn:aws:acm:<region>:<account>:certificate/<id>`). */
const ACM_CERTIFICATE_ARN =
  /^arn:aws[a-z-]*:acm:[a-z0-9-]*:\d{12}:certificate\/[A-Za-z0-9_.-]{1,128}$/;
/** An ACM Private CA ARN, as client policies name it. */
const ACM_PCA_ARN =
  /^arn:aws[a-z-]*:acm-pca:[a-z0-9-]*:\d{12}:certificate-authority\/[A-Za-z0-9_.-]{1,128}$/;
const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;
const MAX_CERTIFICATES_PER_BUNDLE = 20;

export interface ImportRequest {
  certificateArn?: unknown;
  certificateAuthorityArn?: unknown;
  certificate?: unknown;
  certificateChain?: unknown;
  privateKey?: unknown;
}

/** The certificate store of `/v1/certificates`: validates PEM, seals keys, never returns them. */
@Injectable()
export class CertificatesService {
  constructor(
    private readonly store: CertificateStore,
    @Inject(MASTER_KEY) private readonly masterKey: MasterKeySource,
    @Inject(ADMIN_API_OPTIONS) private readonly options: AdminApiOptions,
  ) {}

  /**
   * Imports a certificate with its chain and private key under an ACM certificate ARN, or a CA
   * bundle under an ACM Private CA ARN; without an ARN, Trellis names it in this account and region.
   */
  async import(request: ImportRequest): Promise<{ info: CertificateInfo; replaced: boolean }> {
    const known = [
      'certificateArn',
      'certificateAuthorityArn',
      'certificate',
      'certificateChain',
      'privateKey',
    ];
    for (const key of Object.keys(request)) {
      if (!known.includes(key)) throw new BadRequestException(`${key}: unknown field`);
    }
    const certificate = pemText(request.certificate, 'certificate', true)!;
    if (request.privateKey !== undefined || request.certificateArn !== undefined) {
      if (request.certificateAuthorityArn !== undefined) {
        throw new BadRequestException(
          'certificateAuthorityArn: a CA bundle has no certificateArn or privateKey',
        );
      }
      return this.importCertificate(request, certificate);
    }
    if (request.certificateChain !== undefined) {
      throw new BadRequestException(
        'certificateChain: only a certificate with a privateKey has a chain',
      );
    }
    const arn = this.arnOf(
      request.certificateAuthorityArn,
      'certificateAuthorityArn',
      ACM_PCA_ARN,
      'acm-pca',
      'certificate-authority',
    );
    const bundle = certificates(certificate, 'certificate');
    const notCa = bundle.findIndex((x509) => !x509.ca);
    if (notCa >= 0) {
      throw new BadRequestException(
        `certificate: certificate ${notCa + 1} of the bundle is not a CA certificate`,
      );
    }
    return this.store.put({
      arn,
      kind: 'authority',
      certificateChain: certificate,
      ...validity(bundle),
    });
  }

  list(): Promise<CertificateInfo[]> {
    return this.store.list();
  }

  async get(arn: string): Promise<CertificateInfo> {
    const info = await this.store.get(arn);
    if (info === undefined) throw new NotFoundException(`No certificate is imported under ${arn}`);
    return info;
  }

  /** Deletes, unless a resource names it (ACM refuses to delete a certificate in use). */
  async delete(arn: string): Promise<void> {
    const users = await this.store.referencedBy(arn);
    if (users.length > 0) {
      const named = users.map((user) => `${user.meshName}/${user.kind}/${user.name}`).join(', ');
      throw new ResourceInUseException(`${arn} is in use by ${named}`);
    }
    if (!(await this.store.delete(arn))) {
      throw new NotFoundException(`No certificate is imported under ${arn}`);
    }
  }

  private async importCertificate(
    request: ImportRequest,
    certificate: string,
  ): Promise<{ info: CertificateInfo; replaced: boolean }> {
    const arn = this.arnOf(
      request.certificateArn,
      'certificateArn',
      ACM_CERTIFICATE_ARN,
      'acm',
      'certificate',
    );
    const privateKeyPem = pemText(request.privateKey, 'privateKey', true)!;
    const chainPem = pemText(request.certificateChain, 'certificateChain', false);
    const [leaf, ...rest] = certificates(certificate, 'certificate');
    if (leaf === undefined || rest.length > 0) {
      throw new BadRequestException(
        'certificate: must be exactly one certificate; put intermediates in certificateChain',
      );
    }
    const chain = chainPem === undefined ? [] : certificates(chainPem, 'certificateChain');
    let key: KeyObject;
    try {
      key = createPrivateKey(privateKeyPem);
    } catch {
      throw new BadRequestException('privateKey: must be an unencrypted PEM private key');
    }
    if (!leaf.checkPrivateKey(key)) {
      throw new BadRequestException('privateKey: does not belong to the certificate');
    }
    const certificateChain =
      [leaf, ...chain].map((x509) => x509.toString().trimEnd()).join('\n') + '\n';
    return this.store.put({
      arn,
      kind: 'certificate',
      certificateChain,
      privateKeySealed: sealSecret(
        this.masterKey(),
        key.export({ format: 'pem', type: 'pkcs8' }).toString(),
      ),
      subject: leaf.subject,
      notBefore: new Date(leaf.validFrom),
      notAfter: new Date(leaf.validTo),
    });
  }

  private loadedMasterKey(): Buffer {
    try {
      return this.masterKey();
    } catch (error) {
      throw new InternalServerErrorException(
        `cannot seal the private key: ${(error as Error).message}`,
      );
    }
  }

  private arnOf(
    given: unknown,
    field: string,
    pattern: RegExp,
    service: string,
    resource: string,
  ): string {
    if (given === undefined) {
      return `arn:aws:${service}:${this.options.region}:${this.options.accountId}:${resource}/${randomUUID()}`;
    }
    if (typeof given !== 'string' || !pattern.test(given)) {
      throw new BadRequestException(
        `${field}: must be an ARN like arn:aws:${service}:<region>:<account>:${resource}/<id>`,
      );
    }
    return given;
  }
}

/** A PEM member of the request: a string of at most 64 KiB. */
function pemText(value: unknown, field: string, required: boolean): string | undefined {
  if (value === undefined) {
    if (required) throw new BadRequestException(`${field}: is required`);
    return undefined;
  }
  if (
    typeof value !== 'string' ||
    value.length === 0 ||
    value.length > 65_536 ||
    value.includes('\0')
  ) {
    throw new BadRequestException(`${field}: must be PEM text of at most 65536 characters`);
  }
  return value;
}

function certificates(pem: string, field: string): X509Certificate[] {
  const blocks = pem.match(PEM_BLOCK) ?? [];
  if (blocks.length === 0) throw new BadRequestException(`${field}: no PEM certificate found`);
  if (blocks.length > MAX_CERTIFICATES_PER_BUNDLE) {
    throw new BadRequestException(`${field}: at most ${MAX_CERTIFICATES_PER_BUNDLE} certificates`);
  }
  return blocks.map((block, index) => {
    try {
      return new X509Certificate(block);
    } catch {
      throw new BadRequestException(
        `${field}: certificate ${index + 1} is not a valid X.509 certificate`,
      );
    }
  });
}

/** A bundle is valid while every certificate in it is. */
function validity(bundle: X509Certificate[]): { subject: string; notBefore: Date; notAfter: Date } {
  const times = (pick: (x509: X509Certificate) => string) =>
    bundle.map((x509) => new Date(pick(x509)).getTime());
  return {
    subject: bundle[0]!.subject,
    notBefore: new Date(Math.max(...times((x509) => x509.validFrom))),
    notAfter: new Date(Math.min(...times((x509) => x509.validTo))),
  };
}

/** `trellis_certificate_expiry_timestamp_seconds{arn, kind}`, read from the store on each scrape. */
export function certificateMetrics(store: CertificateStore): Registry {
  const registry = new Registry();
  new Gauge({
    name: 'trellis_certificate_expiry_timestamp_seconds',
    help: 'When each imported certificate or CA bundle expires (Unix seconds)',
    labelNames: ['arn', 'kind'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const info of await store.list().catch(() => [])) {
        this.set({ arn: info.arn, kind: info.kind }, Math.floor(info.notAfter.getTime() / 1000));
      }
    },
  });
  return registry;
}
