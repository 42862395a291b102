import { setTimeout as delay } from 'node:timers/promises';
import { Controller, Get, Param, Query } from '@nestjs/common';
import { DIAGNOSTIC_KINDS } from '../../../../libs/mesh-model/src/diagnostics';
import { BadRequestException, NotFoundException } from '../../../../libs/mesh-model/src/errors';
import {
  diagnosticKey,
  MeshDiagnosticsStore,
  type StoredDiagnostic,
} from '../../../../libs/persistence/src/mesh-diagnostics-store';
import { ProxyStatusStore } from '../../../../libs/persistence/src/proxy-status-store';
import { ADMIN_API_OPTIONS, type AdminApiOptions } from '../admin-api.options';
import { Inject } from '@nestjs/common';

/** How long a request for a revision not computed yet waits before answering PENDING. */
const WAIT_MS = 2_000;
const POLL_MS = 50;

/**
 * What keeps a mesh's configuration from its proxies as written: the translation problems of a
 * revision (computed by the xDS role, stored per revision) and what proxies reported at run time
 * (NACKs, resources withheld by Envoy's validation rules). Writes point here with
 * `x-trellis-diagnostics`.
 */
@Controller('v1/meshes/:meshName/diagnostics')
export class DiagnosticsController {
  constructor(
    private readonly diagnostics: MeshDiagnosticsStore,
    private readonly proxies: ProxyStatusStore,
    @Inject(ADMIN_API_OPTIONS) private readonly options: AdminApiOptions,
  ) {}

  @Get()
  async get(
    @Param('meshName') meshName: string,
    @Query('revision') revisionParam: unknown,
  ): Promise<Record<string, unknown>> {
    const current = await this.diagnostics.meshRevision(meshName);
    if (current === undefined) throw new NotFoundException(`Mesh ${meshName} does not exist`);
    const revision = revisionParam === undefined ? current : revisionOf(revisionParam);
    let row = await this.diagnostics.find(meshName, revision);
    for (let waited = 0; row === undefined && waited < WAIT_MS; waited += POLL_MS) {
      await delay(POLL_MS);
      row = await this.diagnostics.find(meshName, revision);
    }
    // What proxies reported beyond the mesh's translation: NACKs, withheld resources, and
    // problems only a kind of proxy has (a proxyless client cannot use client TLS).
    const known = new Set((row?.diagnostics ?? []).map(diagnosticKey));
    const proxies = await this.proxies.list(
      { mesh: meshName },
      this.options.proxyStatusGraceSeconds,
    );
    const reported = proxies.flatMap((proxy) => {
      const status = proxy.status as { nodeId?: string; diagnostics?: StoredDiagnostic[] };
      return (status.diagnostics ?? [])
        .filter((diagnostic) => !known.has(diagnosticKey(diagnostic)))
        .map((diagnostic) => ({ ...diagnostic, proxy: status.nodeId }));
    });
    const diagnostics = [...(row?.diagnostics ?? []), ...reported];
    return {
      meshName,
      revision: row?.revision ?? revision,
      // PENDING: the xDS role has not translated this revision yet (none running, or busy).
      status: row === undefined ? 'PENDING' : 'COMPUTED',
      ...(row !== undefined && { computedAt: row.computedAt.toISOString() }),
      diagnostics: diagnostics.map((diagnostic) => ({
        ...diagnostic,
        description: DIAGNOSTIC_KINDS[diagnostic.kind as keyof typeof DIAGNOSTIC_KINDS],
      })),
    };
  }
}

function revisionOf(value: unknown): number {
  if (typeof value !== 'string' || !/^\d{1,15}$/.test(value)) {
    throw new BadRequestException('revision: must be a non-negative integer, given once');
  }
  return Number(value);
}
