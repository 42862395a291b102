import { DEFAULT_LIMITS, type ResourceLimits } from '../../admin-api/src/admin-api.options';
import { type CrossSitePolicy, LOOPBACK_HOSTS } from '../../admin-api/src/http/cross-site';
import type { RequestBodyLimits } from '../../admin-api/src/http/request-body';
import type { HttpServerLimits } from './http-server';
import type { XdsRoleConfig } from '../../xds-server/src/xds-role';
import { DEFAULT_ADS_LIMITS } from '../../../libs/xds/src/ads-server';
import type { ResolvedTracing } from '../../../libs/mesh-model/src/tracing';

/** Everything the process reads from its environment, validated once at start. */
export type Role = 'admin' | 'xds';

export interface TrellisConfig {
  /** What this process runs: the admin API, the xDS server, or both (the default). */
  roles: Set<Role>;
  /**
   * `serve`: apply pending migrations, then serve the roles. `migrate-only`
   * (TRELLIS_ROLES=migrate): apply them and exit, as a deploy's migration Job does.
   * `serve-without-migrating` (TRELLIS_MIGRATE=off): never change the schema; /readyz
   * answers 503 until the migration Job has run.
   */
  migrations: 'serve' | 'migrate-only' | 'serve-without-migrating';
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
  /** How long the registry's operations and change log are kept. */
  registryHistoryMs: number;
  /** Comment lines on idle `/v1/meshes/{mesh}/events` streams (TRELLIS_EVENTS_HEARTBEAT_MS). */
  eventsHeartbeatMs: number;
  /** External Postgres; when absent an embedded Postgres runs with its data in `dataDir`. */
  databaseUrl?: string;
  dataDir: string;
  embeddedPostgresPort?: number;
  databasePoolSize: number;
  /**
   * Longest a query may take (TRELLIS_DB_STATEMENT_TIMEOUT_MS): Postgres' statement_timeout and
   * idle_in_transaction_session_timeout, the driver's own read timeout (a hung server never
   * answers), and, up to 5 s, the time to get a connection. Past it the API answers 503.
   */
  databaseStatementTimeoutMs: number;
  region: string;
  accountId: string;
  logLevel: string;
  limits: ResourceLimits;
  auth: AuthConfig;
  /** Where the master key comes from (TRELLIS_MASTER_KEY, TRELLIS_MASTER_KEY_FILE); read at start. */
  masterKey: { TRELLIS_MASTER_KEY?: string; TRELLIS_MASTER_KEY_FILE?: string };
  /** TLS on the REST port (TRELLIS_HTTP_TLS_CERT_FILE, TRELLIS_HTTP_TLS_KEY_FILE). */
  httpTls?: TlsFiles;
}

/** Authentication on the REST and xDS ports (docs/security.md). */
export interface AuthConfig {
  /** TRELLIS_AUTH: on unless every port this process serves is bound to loopback. */
  enabled: boolean;
  /** TRELLIS_AUTH_ALLOW_SESSION_TOKENS: accept (and ignore) signed x-amz-security-token. */
  allowSessionTokens: boolean;
  /** TRELLIS_KEY_REQUESTS_PER_SECOND: each key's rate on each replica unless the key sets one. */
  defaultRequestsPerSecond: number;
}

/** A certificate chain and its private key, PEM files re-read when they change. */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

const LIMIT_VARIABLES: Record<keyof ResourceLimits, string> = {
  mesh: 'TRELLIS_LIMIT_MESHES',
  virtualNode: 'TRELLIS_LIMIT_VIRTUAL_NODES_PER_MESH',
  virtualRouter: 'TRELLIS_LIMIT_VIRTUAL_ROUTERS_PER_MESH',
  route: 'TRELLIS_LIMIT_ROUTES_PER_VIRTUAL_ROUTER',
  virtualService: 'TRELLIS_LIMIT_VIRTUAL_SERVICES_PER_MESH',
  virtualGateway: 'TRELLIS_LIMIT_VIRTUAL_GATEWAYS_PER_MESH',
  gatewayRoute: 'TRELLIS_LIMIT_GATEWAY_ROUTES_PER_VIRTUAL_GATEWAY',
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
  const listed = (env.TRELLIS_ROLES || 'admin,xds').split(',').map((r) => r.trim());
  const migrateOnly = listed.includes('migrate');
  if (migrateOnly && listed.length > 1) {
    throw new ConfigError('TRELLIS_ROLES=migrate runs alone: it applies migrations and exits');
  }
  for (const role of migrateOnly ? [] : listed) {
    if (role !== 'admin' && role !== 'xds') {
      throw new ConfigError(`TRELLIS_ROLES lists "${role}"; the roles are admin, xds and migrate`);
    }
    roles.add(role);
  }
  const xdsHost = env.TRELLIS_XDS_HOST ?? '127.0.0.1';
  const httpTls = tlsFiles(env, 'TRELLIS_HTTP_TLS');
  const xdsTls = tlsFiles(env, 'TRELLIS_XDS_TLS');
  const clientCaFile = env.TRELLIS_XDS_TLS_CLIENT_CA_FILE || undefined;
  if (clientCaFile && !xdsTls) {
    throw new ConfigError(
      'TRELLIS_XDS_TLS_CLIENT_CA_FILE needs TLS on the xDS port: set TRELLIS_XDS_TLS_CERT_FILE and TRELLIS_XDS_TLS_KEY_FILE too',
    );
  }
  // The ports anyone else can reach: the API's only with the admin role (else it serves probes).
  const exposed = [
    ...(roles.has('admin') && !isLoopback(httpHost)
      ? [
          {
            name: 'TRELLIS_HTTP_HOST',
            host: httpHost,
            tls: httpTls,
            tlsVariable: 'TRELLIS_HTTP_TLS',
          },
        ]
      : []),
    ...(roles.has('xds') && !isLoopback(xdsHost)
      ? [{ name: 'TRELLIS_XDS_HOST', host: xdsHost, tls: xdsTls, tlsVariable: 'TRELLIS_XDS_TLS' }]
      : []),
  ];
  const auth = (env.TRELLIS_AUTH ?? '').trim().toLowerCase();
  if (!['', 'on', 'off'].includes(auth)) {
    throw new ConfigError(`TRELLIS_AUTH must be on or off, got "${env.TRELLIS_AUTH}"`);
  }
  const authEnabled = auth === '' ? exposed.length > 0 : auth === 'on';
  const allowInsecure = boolean(env, 'TRELLIS_ALLOW_INSECURE', false);
  if (!allowInsecure) {
    for (const port of exposed) {
      const missing = [
        ...(authEnabled ? [] : ['TRELLIS_AUTH=on (SigV4 with Trellis access keys)']),
        ...(port.tls
          ? []
          : [`${port.tlsVariable}_CERT_FILE and ${port.tlsVariable}_KEY_FILE (TLS)`]),
      ];
      if (missing.length > 0) {
        throw new ConfigError(
          `${port.name}=${port.host} is not a loopback address, so anyone who reaches it could change the mesh. ` +
            `Set ${missing.join(' and ')}, or TRELLIS_ALLOW_INSECURE=1 to run without them (docs/security.md).`,
        );
      }
    }
  }
  const migrateOnStart = boolean(env, 'TRELLIS_MIGRATE', true);
  return {
    roles,
    migrations: migrateOnly ? 'migrate-only' : migrateOnStart ? 'serve' : 'serve-without-migrating',
    auth: {
      enabled: authEnabled,
      allowSessionTokens: boolean(env, 'TRELLIS_AUTH_ALLOW_SESSION_TOKENS', false),
      defaultRequestsPerSecond: integer(env, 'TRELLIS_KEY_REQUESTS_PER_SECOND', 100, 1, 100_000),
    },
    masterKey: {
      TRELLIS_MASTER_KEY: env.TRELLIS_MASTER_KEY || undefined,
      TRELLIS_MASTER_KEY_FILE: env.TRELLIS_MASTER_KEY_FILE || undefined,
    },
    httpTls,
    xds: {
      host: xdsHost,
      tls: xdsTls && {
        ...xdsTls,
        clientCaFile,
        spiffeTrustDomain: env.TRELLIS_XDS_SPIFFE_TRUST_DOMAIN || undefined,
      },
      port: integer(env, 'TRELLIS_XDS_PORT', 18000, 0, 65535),
      debounceMs: integer(env, 'TRELLIS_XDS_DEBOUNCE_MS', 10, 0, 60_000),
      maxWaitMs: integer(env, 'TRELLIS_XDS_MAX_WAIT_MS', 100, 1, 600_000),
      statusIntervalMs: integer(env, 'TRELLIS_PROXY_STATUS_INTERVAL_MS', 1000, 10, 600_000),
      statusGraceSeconds: integer(env, 'TRELLIS_PROXY_STATUS_GRACE_SECONDS', 30, 1, 86_400),
      limits: {
        maxStreamsPerConnection: integer(
          env,
          'TRELLIS_XDS_MAX_STREAMS_PER_CONNECTION',
          DEFAULT_ADS_LIMITS.maxStreamsPerConnection,
          1,
          100_000,
        ),
        maxRequestBytes: integer(
          env,
          'TRELLIS_XDS_MAX_REQUEST_BYTES',
          DEFAULT_ADS_LIMITS.maxRequestBytes,
          1024,
          256 * 1024 * 1024,
        ),
        maxResourceNamesPerRequest: integer(
          env,
          'TRELLIS_XDS_MAX_RESOURCE_NAMES',
          DEFAULT_ADS_LIMITS.maxResourceNamesPerRequest,
          1,
          10_000_000,
        ),
      },
      drainMs: integer(env, 'TRELLIS_XDS_DRAIN_SECONDS', 10, 0, 3600) * 1000,
      maxStreamAgeMs: env.TRELLIS_XDS_MAX_STREAM_AGE_SECONDS
        ? integer(env, 'TRELLIS_XDS_MAX_STREAM_AGE_SECONDS', 0, 1, 604_800) * 1000
        : undefined,
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
    registryHistoryMs:
      integer(env, 'TRELLIS_REGISTRY_HISTORY_DAYS', 7, 1, 3650) * 24 * 60 * 60 * 1000,
    eventsHeartbeatMs: integer(env, 'TRELLIS_EVENTS_HEARTBEAT_MS', 15_000, 100, 600_000),
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
    databaseStatementTimeoutMs: integer(
      env,
      'TRELLIS_DB_STATEMENT_TIMEOUT_MS',
      10_000,
      100,
      3_600_000,
    ),
    region,
    accountId,
    logLevel: env.TRELLIS_LOG_LEVEL ?? 'info',
    limits,
  };
}

/** Loopback addresses: reachable from this machine only. `0.0.0.0` and `::` are every address. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function tlsFiles(env: Env, prefix: string): TlsFiles | undefined {
  const certFile = env[`${prefix}_CERT_FILE`] || undefined;
  const keyFile = env[`${prefix}_KEY_FILE`] || undefined;
  if (!certFile && !keyFile) return undefined;
  if (!certFile || !keyFile) {
    throw new ConfigError(
      `${prefix}_CERT_FILE and ${prefix}_KEY_FILE go together (${certFile ? `${prefix}_KEY_FILE` : `${prefix}_CERT_FILE`} is missing)`,
    );
  }
  return { certFile, keyFile };
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
