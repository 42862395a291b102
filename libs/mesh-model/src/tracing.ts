import { BadRequestException } from './errors';

/**
 * X-Ray settings of Trellis' native API. Each level — server default, mesh, proxy node
 * metadata — sets what it names; unset fields fall through to the level before.
 */
export interface TracingOverrides {
  enabled?: boolean;
  daemonPort?: number;
  /** Fraction of requests sampled beyond the first each second, 0–1. */
  samplingRate?: number;
  segmentName?: string;
}

export interface ResolvedTracing {
  enabled: boolean;
  daemonAddress: string;
  daemonPort: number;
  samplingRate?: number;
  segmentName?: string;
}

const FIELDS = ['enabled', 'daemonPort', 'samplingRate'] as const;

/** Validates the body of `PUT /v1/meshes/{mesh}/tracing` (segment names are per proxy only). */
export function parseMeshTracing(body: unknown): TracingOverrides {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new BadRequestException('The request body must be a JSON object');
  }
  const record = body as Record<string, unknown>;
  const issues: string[] = [];
  for (const key of Object.keys(record)) {
    if (!(FIELDS as readonly string[]).includes(key)) issues.push(`${key}: unknown field`);
  }
  const { enabled, daemonPort, samplingRate } = record;
  if (enabled !== undefined && typeof enabled !== 'boolean')
    issues.push('enabled: must be a boolean');
  if (
    daemonPort !== undefined &&
    !(
      Number.isInteger(daemonPort) &&
      (daemonPort as number) >= 1 &&
      (daemonPort as number) <= 65535
    )
  ) {
    issues.push('daemonPort: must be an integer from 1 to 65535');
  }
  if (
    samplingRate !== undefined &&
    !(typeof samplingRate === 'number' && samplingRate >= 0 && samplingRate <= 1)
  ) {
    issues.push('samplingRate: must be a number from 0 to 1');
  }
  if (issues.length > 0) throw new BadRequestException(issues.join('; '));
  return record;
}

/**
 * The overrides a proxy sets through node metadata keys named like App Mesh's Envoy
 * environment variables, so a sidecar configured for App Mesh keeps its tracing. Values
 * may be strings (as the App Mesh agent writes them) or JSON numbers and booleans;
 * unusable values are ignored.
 */
export function nodeTracingOverrides(
  metadata: Record<string, unknown> | undefined,
): TracingOverrides {
  const overrides: TracingOverrides = {};
  if (!metadata) return overrides;
  const enabled = metadata.ENABLE_ENVOY_XRAY_TRACING;
  if (enabled !== undefined) {
    const text =
      typeof enabled === 'string' ? enabled.trim().toLowerCase() : JSON.stringify(enabled);
    if (['1', 'true'].includes(text)) overrides.enabled = true;
    if (['0', 'false'].includes(text)) overrides.enabled = false;
  }
  const port = Number(metadata.XRAY_DAEMON_PORT);
  if (
    metadata.XRAY_DAEMON_PORT !== undefined &&
    Number.isInteger(port) &&
    port >= 1 &&
    port <= 65535
  ) {
    overrides.daemonPort = port;
  }
  const rate = Number(metadata.XRAY_SAMPLING_RATE);
  if (
    metadata.XRAY_SAMPLING_RATE !== undefined &&
    Number.isFinite(rate) &&
    rate >= 0 &&
    rate <= 1
  ) {
    overrides.samplingRate = rate;
  }
  const segment = metadata.XRAY_SEGMENT_NAME;
  if (typeof segment === 'string' && segment.length > 0) overrides.segmentName = segment;
  return overrides;
}

/** Later levels win, field by field. */
export function resolveTracing(
  defaults: ResolvedTracing,
  ...levels: Array<TracingOverrides | undefined>
): ResolvedTracing {
  const resolved = { ...defaults };
  for (const level of levels) {
    if (!level) continue;
    if (level.enabled !== undefined) resolved.enabled = level.enabled;
    if (level.daemonPort !== undefined) resolved.daemonPort = level.daemonPort;
    if (level.samplingRate !== undefined) resolved.samplingRate = level.samplingRate;
    if (level.segmentName !== undefined) resolved.segmentName = level.segmentName;
  }
  return resolved;
}
