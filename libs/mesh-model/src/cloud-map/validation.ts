/**
 * Cloud Map request validation: the servicediscovery model (generated from botocore by
 * scripts/generate-appmesh-model.mjs) through the same walker as App Mesh, plus the documented
 * rules the model cannot express. Rule comments quote the Cloud Map API reference.
 */
import { isIP } from 'node:net';
import modelJson from '../generated/servicediscovery-model.json';
import type {
  CreateServiceRequest,
  HealthCheckConfig,
  NamespaceFilter,
  OperationFilter,
  ServiceFilter,
  StructureShapes,
} from '../generated/servicediscovery-types';
import { field, ModelValidator, type SemanticRule, type ServiceModel } from '../model-validation';
import { InvalidInput } from './errors';

export type * from '../generated/servicediscovery-types';

/** Checks an operation's input against the Cloud Map model; InvalidInput lists every issue. */
export function validateCloudMapInput(operation: string, input: Record<string, unknown>): void {
  const problems = validator.problems(operation, input);
  if (problems !== '') throw new InvalidInput(problems);
}

export function isCloudMapOperation(operation: string): boolean {
  return validator.has(operation);
}

/** The attributes Cloud Map gives a meaning; every other key is a custom attribute. */
export const RESERVED_ATTRIBUTES = {
  ipv4: 'AWS_INSTANCE_IPV4',
  ipv6: 'AWS_INSTANCE_IPV6',
  port: 'AWS_INSTANCE_PORT',
} as const;

/** RegisterInstance, Attributes: "You can add up to 30 custom attributes." */
const MAX_CUSTOM_ATTRIBUTES = 30;
/** RegisterInstance, Attributes: "The total size of all provided attributes (sum of all keys and values) must not exceed 5,000 characters." */
const MAX_ATTRIBUTES_SIZE = 5000;
const RESERVED_KEYS: readonly string[] = [
  ...Object.values(RESERVED_ATTRIBUTES),
  'AWS_ALIAS_DNS_NAME',
  'AWS_EC2_INSTANCE_ID',
  'AWS_INIT_HEALTH_STATUS',
];

/** The reserved attributes' formats, and Cloud Map's limits on an instance's attributes. */
const instanceAttributes: SemanticRule<{ Attributes: Record<string, string> }> = (
  request,
  path,
  report,
) => {
  const attributes = new Map(Object.entries(request.Attributes));
  const at = (key: string) => `${field(path, 'Attributes')}[${JSON.stringify(key)}]`;
  const ipv4 = attributes.get(RESERVED_ATTRIBUTES.ipv4);
  if (ipv4 !== undefined && isIP(ipv4) !== 4) {
    report(at(RESERVED_ATTRIBUTES.ipv4), `must be an IPv4 address, got ${JSON.stringify(ipv4)}`);
  }
  const ipv6 = attributes.get(RESERVED_ATTRIBUTES.ipv6);
  if (ipv6 !== undefined && isIP(ipv6) !== 6) {
    report(at(RESERVED_ATTRIBUTES.ipv6), `must be an IPv6 address, got ${JSON.stringify(ipv6)}`);
  }
  const port = attributes.get(RESERVED_ATTRIBUTES.port);
  if (port !== undefined && !(/^\d{1,5}$/.test(port) && Number(port) <= 65535)) {
    report(
      at(RESERVED_ATTRIBUTES.port),
      `must be a port from 0 to 65535, got ${JSON.stringify(port)}`,
    );
  }
  const health = attributes.get('AWS_INIT_HEALTH_STATUS');
  if (health !== undefined && health !== 'HEALTHY' && health !== 'UNHEALTHY') {
    report(
      at('AWS_INIT_HEALTH_STATUS'),
      `must be HEALTHY or UNHEALTHY, got ${JSON.stringify(health)}`,
    );
  }
  const custom = [...attributes.keys()].filter((key) => !RESERVED_KEYS.includes(key)).length;
  if (custom > MAX_CUSTOM_ATTRIBUTES) {
    report(
      field(path, 'Attributes'),
      `may have at most ${MAX_CUSTOM_ATTRIBUTES} custom attributes, got ${custom}`,
    );
  }
  const size = [...attributes].reduce((sum, [key, value]) => sum + key.length + value.length, 0);
  if (size > MAX_ATTRIBUTES_SIZE) {
    report(
      field(path, 'Attributes'),
      `keys and values may total at most ${MAX_ATTRIBUTES_SIZE} characters, got ${size}`,
    );
  }
};

/** CreateService: "You can specify a health check configuration or a custom health check configuration, but not both." */
const oneHealthCheckKind: SemanticRule<CreateServiceRequest> = (request, path, report) => {
  if (request.HealthCheckConfig !== undefined && request.HealthCheckCustomConfig !== undefined) {
    report(path, 'HealthCheckConfig and HealthCheckCustomConfig cannot both be set');
  }
};

/** HealthCheckConfig, ResourcePath: "Don't specify a value for ResourcePath ... if Type is TCP." */
const tcpHealthCheckHasNoPath: SemanticRule<HealthCheckConfig> = (config, path, report) => {
  if (config.Type === 'TCP' && config.ResourcePath !== undefined) {
    report(field(path, 'ResourcePath'), 'must not be set when Type is TCP');
  }
};

/**
 * The list filters' conditions (NamespaceFilter, ServiceFilter, OperationFilter): EQ takes one
 * value, IN one or more, BETWEEN two (and only for UPDATE_DATE); which conditions each name
 * allows is listed per filter.
 */
function filterConditions<F extends { Name: string; Condition?: string; Values: string[] }>(
  allowed: Record<F['Name'], readonly string[]>,
): SemanticRule<F> {
  return (filter, path, report) => {
    const condition = filter.Condition ?? 'EQ';
    const conditions = allowed[filter.Name as F['Name']];
    if (!conditions.includes(condition)) {
      report(
        field(path, 'Condition'),
        `must be one of ${conditions.join(', ')} for ${filter.Name}, got ${JSON.stringify(condition)}`,
      );
      return;
    }
    const count = filter.Values.length;
    const expected =
      condition === 'EQ' ? count === 1 : condition === 'BETWEEN' ? count === 2 : count >= 1;
    if (!expected) {
      const wanted =
        condition === 'EQ'
          ? 'one value'
          : condition === 'BETWEEN'
            ? 'two values'
            : 'at least one value';
      report(field(path, 'Values'), `must have ${wanted} for condition ${condition}, got ${count}`);
    }
  };
}

const semanticRules: { [S in keyof StructureShapes]?: SemanticRule<StructureShapes[S]>[] } = {
  RegisterInstanceRequest: [instanceAttributes],
  CreateServiceRequest: [oneHealthCheckKind],
  HealthCheckConfig: [tcpHealthCheckHasNoPath],
  NamespaceFilter: [
    filterConditions<NamespaceFilter>({
      TYPE: ['EQ', 'IN'],
      NAME: ['EQ', 'BEGINS_WITH'],
      HTTP_NAME: ['EQ', 'BEGINS_WITH'],
    }),
  ],
  ServiceFilter: [filterConditions<ServiceFilter>({ NAMESPACE_ID: ['EQ'] })],
  OperationFilter: [
    filterConditions<OperationFilter>({
      NAMESPACE_ID: ['EQ'],
      SERVICE_ID: ['EQ'],
      STATUS: ['EQ', 'IN'],
      TYPE: ['EQ', 'IN'],
      UPDATE_DATE: ['BETWEEN'],
    }),
  ],
};

const validator = new ModelValidator(
  'Cloud Map',
  modelJson as ServiceModel,
  semanticRules as Partial<Record<string, SemanticRule<unknown>[]>>,
);
