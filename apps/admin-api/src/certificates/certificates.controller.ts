import { Body, Controller, Delete, Get, HttpCode, Param, Post, Res } from '@nestjs/common';
import type { Response } from 'express';
import { BadRequestException } from '../../../../libs/mesh-model/src/errors';
import type { CertificateInfo } from '../../../../libs/persistence/src/certificate-store';
import { CertificatesService } from './certificates.service';

/**
 * Trellis' certificate store: what listeners and client policies naming ACM and ACM Private CA ARNs
 * are served over SDS. Private keys are accepted, sealed, and never returned. ARNs go in the path
 * URL-encoded: `/v1/certificates/arn%3Aaws%3Aacm%3A...`.
 */
@Controller('v1/certificates')
export class CertificatesController {
  constructor(private readonly certificates: CertificatesService) {}

  /** 201 for a new ARN, 200 when it replaces the certificate already imported under it. */
  @Post()
  async import(
    @Body() body: unknown,
    @Res({ passthrough: true }) response: Response,
  ): Promise<Record<string, unknown>> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new BadRequestException('The request body must be a JSON object');
    }
    const { info, replaced } = await this.certificates.import(body);
    response.status(replaced ? 200 : 201);
    return view(info);
  }

  @Get()
  async list(): Promise<{ certificates: Record<string, unknown>[] }> {
    return { certificates: (await this.certificates.list()).map(view) };
  }

  @Get(':arn')
  async get(@Param('arn') arn: string): Promise<Record<string, unknown>> {
    return view(await this.certificates.get(arn));
  }

  @Delete(':arn')
  @HttpCode(204)
  async delete(@Param('arn') arn: string): Promise<void> {
    await this.certificates.delete(arn);
  }
}

function view(info: CertificateInfo): Record<string, unknown> {
  return {
    arn: info.arn,
    kind: info.kind,
    subject: info.subject,
    notBefore: info.notBefore.toISOString(),
    notAfter: info.notAfter.toISOString(),
    createdAt: info.createdAt.toISOString(),
    updatedAt: info.updatedAt.toISOString(),
  };
}
