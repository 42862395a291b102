import { DEFAULT_LIMITS, type ResourceLimits } from '../../admin-api/src/admin-api.options';
import { type CrossSitePolicy, LOOPBACK_HOSTS } from '../../admin-api/src/cross-site';
import type { RequestBodyLimits } from '../../admin-api/src/request-body';
import type { HttpServerLimits } from './http-server';
import type { XdsRoleConfig } from '../../xds-server/src/xds-role';
import type { ResolvedTracing } from '../../../libs/mesh-model/src/tracing';

/** Everything the process reads from its environment, validated once at start. */
export type Role = 'admin' | 'xds';

export interface TrellisConfig {
  /** What this process runs: the admin API, the xDS server, or both (the default). */
  roles: Set<Role>;
  httpHost: string;
  httpPort: number;
  /** Bounds of the REST port (docs/operations.md, "Hostile HTTP clients"). */
  httpLimits: HttpServerLimits & RequestBodyLimits;
  /** Which hosts and browser origins the REST port answers. */
  crossSite: CrossSitePolicy;
  xds: XdsRoleConfig;
  /** Server-wide X-Ray defaults; meshes and proxies override them. */
  tracing: ResolvedTracing;
  /** The xDS address written into generated bootstraps (TRELLIS_XDS_ADVERTISE_ADDRESS, host:port). */
  xdsAdvertise?: { host: string; port: number };
  /** How often the xDS role compares mesh revisions with what it loaded. */
  resyncMs: number;
  /** How often the rollout scheduler looks for due work (TRELLIS_ROLLOUT_TICK_MS). */
  rolloutTickMs: number;
  /** External Postgres; when absent an embedded Postgres runs with its data in `dataDir`. */
  databaseUrl?: string;
  dataDir: string;
  embeddedPostgresPort?: number;
  databasePoolSize: number;
  region: string;
  accountId: string;
  logLevel: string;
  limits: ResourceLimits;
}

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

const LIMIT_VARIABLES: Record<keyof ResourceLimits, string> = {
  mesh: 'TRELLIS_LIMIT_MESHES',
  virtualNode: 'TRELLIS_LIMIT_VIRTUAL_NODES_PER_MESH',
  virtualRouter: 'TRELLIS_LIMIT_VIRTUAL_ROUTERS_PER_MESH',
  route: 'TRELLIS_LIMIT_ROUTES_PER_VIRTUAL_ROUTER',
  virtualService: 'TRELLIS_LIMIT_VIRTUAL_SERVICES_PER_MESH',
  tagsPerResource: 'TRELLIS_LIMIT_TAGS_PER_RESOURCE',
};

export function loadConfig(env: Env): TrellisConfig {
  const accountId = env.TRELLIS_ACCOUNT_ID ?? '000000000000';
  if (!/^\d{12}$/.test(accountId)) {
    throw new ConfigError(`TRELLIS_ACCOUNT_ID must be 12 digits, got "${accountId}"`);
  }
  const region = env.TRELLIS_REGION ?? 'us-east-1';
  if (!/^[a-z0-9-]+$/.test(region))
    throw new ConfigError(`TRELLIS_REGION is not a region name: "${region}"`);
  const limits = { ...DEFAULT_LIMITS };
  for (const [key, variable] of Object.entries(LIMIT_VARIABLES) as Array<
    [keyof ResourceLimits, string]
  >) {
    limits[key] = integer(env, variable, limits[key], 1, 10_000_000);
  }
  const httpHost = env.TRELLIS_HTTP_HOST ?? '127.0.0.1';
  const headersTimeoutMs = integer(env, 'TRELLIS_HTTP_HEADERS_TIMEOUT_MS', 10_000, 100, 600_000);
  const requestTimeoutMs = integer(env, 'TRELLIS_HTTP_REQUEST_TIMEOUT_MS', 30_000, 100, 3_600_000);
  if (requestTimeoutMs < headersTimeoutMs) {
    throw new ConfigError(
      `TRELLIS_HTTP_REQUEST_TIMEOUT_MS (${requestTimeoutMs}) must be at least TRELLIS_HTTP_HEADERS_TIMEOUT_MS (${headersTimeoutMs})`,
    );
  }
  const roles = new Set<Role>();
  for (const role of (env.TRELLIS_ROLES ?? 'admin,xds').split(',').map((r) => r.trim())) {
    if (role !== 'admin' && role !== 'xds') {
      throw new ConfigError(`TRELLIS_ROLES lists "${role}"; the roles are admin and xds`);
    }
    roles.add(role);
  }
  return {
    roles,
    xds: {
      host: env.TRELLIS_XDS_HOST ?? '127.0.0.1',
      port: integer(env, 'TRELLIS_XDS_PORT', 18000, 0, 65535),
      debounceMs: integer(env, 'TRELLIS_XDS_DEBOUNCE_MS', 10, 0, 60_000),
      maxWaitMs: integer(env, 'TRELLIS_XDS_MAX_WAIT_MS', 100, 1, 600_000),
      statusIntervalMs: integer(env, 'TRELLIS_PROXY_STATUS_INTERVAL_MS', 1000, 10, 600_000),
      statusGraceSeconds: integer(env, 'TRELLIS_PROXY_STATUS_GRACE_SECONDS', 30, 1, 86_400),
    },
    tracing: {
      enabled: boolean(env, 'TRELLIS_XRAY_ENABLED', true),
      daemonAddress: env.TRELLIS_XRAY_DAEMON_ADDRESS ?? '127.0.0.1',
      daemonPort: integer(env, 'TRELLIS_XRAY_DAEMON_PORT', 2000, 1, 65535),
      samplingRate: env.TRELLIS_XRAY_SAMPLING_RATE
        ? fraction(env, 'TRELLIS_XRAY_SAMPLING_RATE')
        : undefined,
    },
    xdsAdvertise: hostPort(env, 'TRELLIS_XDS_ADVERTISE_ADDRESS'),
    resyncMs: integer(env, 'TRELLIS_XDS_RESYNC_SECONDS', 5, 1, 3600) * 1000,
    rolloutTickMs: integer(env, 'TRELLIS_ROLLOUT_TICK_MS', 250, 10, 60_000),
    httpHost,
    httpPort: integer(env, 'TRELLIS_HTTP_PORT', 8080, 0, 65535),
    httpLimits: {
      maxBodyBytes: integer(
        env,
        'TRELLIS_HTTP_MAX_BODY_BYTES',
        1024 * 1024,
        1024,
        64 * 1024 * 1024,
      ),
      maxJsonDepth: integer(env, 'TRELLIS_HTTP_MAX_JSON_DEPTH', 32, 2, 256),
      maxHeaderBytes: integer(env, 'TRELLIS_HTTP_MAX_HEADER_BYTES', 16 * 1024, 1024, 1024 * 1024),
      headersTimeoutMs,
      requestTimeoutMs,
    },
    crossSite: {
      allowedHosts: allowedHosts(env, httpHost),
      allowedOrigins: allowedOrigins(env),
    },
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: env.TRELLIS_DATA_DIR ?? './.trellis',
    embeddedPostgresPort: env.TRELLIS_EMBEDDED_POSTGRES_PORT
      ? integer(env, 'TRELLIS_EMBEDDED_POSTGRES_PORT', 0, 1, 65535)
      : undefined,
    databasePoolSize: integer(env, 'TRELLIS_DATABASE_POOL_SIZE', 10, 1, 1000),
    region,
    accountId,
    logLevel: env.TRELLIS_LOG_LEVEL ?? 'info',
    limits,
  };
}

/**
 * TRELLIS_HTTP_ALLOWED_HOSTS (comma-separated names, `*` for any). Unset, a server bound to a
 * loopback address answers its loopback names only (DNS rebinding), any other answers any Host.
 */
function allowedHosts(env: Env, httpHost: string): ReadonlySet<string> | undefined {
  const raw = env.TRELLIS_HTTP_ALLOWED_HOSTS?.trim();
  if (raw === '*') return undefined;
  if (raw) {
    const names = list(raw).map((name) => name.toLowerCase().replace(/^\[(.*)\]$/, '$1'));
    const invalid = names.find((name) => !/^[a-z0-9.:-]+$/.test(name));
    if (invalid !== undefined) {
      throw new ConfigError(
        `TRELLIS_HTTP_ALLOWED_HOSTS lists "${invalid}"; give host names or addresses without ports, or *`,
      );
    }
    return new Set(names);
  }
  return isLoopback(httpHost) ? new Set([...LOOPBACK_HOSTS, httpHost.toLowerCase()]) : undefined;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** TRELLIS_HTTP_ALLOWED_ORIGINS: comma-separated origins such as https://console.example.com. */
function allowedOrigins(env: Env): ReadonlySet<string> {
  const origins = list(env.TRELLIS_HTTP_ALLOWED_ORIGINS ?? '');
  for (const origin of origins) {
    let parsed: string | undefined;
    try {
      parsed = new URL(origin).origin;
    } catch {
      parsed = undefined;
    }
    if (parsed !== origin) {
      throw new ConfigError(
        `TRELLIS_HTTP_ALLOWED_ORIGINS lists "${origin}"; an origin is scheme://host[:port], e.g. https://console.example.com`,
      );
    }
  }
  return new Set(origins);
}

function list(raw: string): string[] {
  return raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function hostPort(env: Env, name: string): { host: string; port: number } | undefined {
  const raw = env[name];
  if (!raw) return undefined;
  const match = /^(.+):(\d+)$/.exec(raw);
  const port = Number(match?.[2]);
  if (!match || port < 1 || port > 65535)
    throw new ConfigError(`${name} must be host:port, got "${raw}"`);
  return { host: match[1]!, port };
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${env[name]}"`);
}

function fraction(env: Env, name: string): number {
  const value = Number(env[name]);
  if (!Number.isFinite(value) || value < 0 || value > 1) {
    throw new ConfigError(`${name} must be a number from 0 to 1, got "${env[name]}"`);
  }
  return value;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}
