import { BadRequestException } from './errors';

/**
 * IAM-style policies of Trellis access keys: the subset of the IAM policy language that
 * App Mesh's own permissions need — Effect, Action and Resource with `*` and `?` wildcards.
 * Evaluation follows IAM: an explicit Deny wins, then an Allow, and anything else is denied.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
 */
export interface AccessPolicy {
  Version: string;
  Statement: PolicyStatement[];
}

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action: string[];
  Resource: string[];
}

export type PolicyDecision = 'allow' | 'explicitDeny' | 'implicitDeny';

/** A policy that allows everything: the first (bootstrap) key's. */
export const ADMINISTRATOR_POLICY: AccessPolicy = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: ['*'], Resource: ['*'] }],
};

const MAX_STATEMENTS = 100;
const MAX_PATTERNS = 100;
const MAX_PATTERN_LENGTH = 2048;
const STATEMENT_KEYS = new Set(['Sid', 'Effect', 'Action', 'Resource']);
/** `service:Action` with wildcards, or `*` alone. */
const ACTION_PATTERN = /^(\*|[a-z0-9-]+:[A-Za-z0-9*?]+)$/;

/**
 * Checks a policy document as a client sent it and answers it in normal form (Action and
 * Resource always lists). Every rejection names the field and the rule.
 */
export function parseAccessPolicy(document: unknown, field = 'policy'): AccessPolicy {
  const object = plainObject(document, field);
  for (const key of Object.keys(object)) {
    if (key !== 'Version' && key !== 'Statement') {
      throw new BadRequestException(`${field}.${key}: not supported (Version and Statement only)`);
    }
  }
  const version = object.Version ?? '2012-10-17';
  if (version !== '2012-10-17') {
    throw new BadRequestException(`${field}.Version: must be "2012-10-17"`);
  }
  const raw = Array.isArray(object.Statement) ? object.Statement : [object.Statement];
  if (object.Statement === undefined || raw.length === 0) {
    throw new BadRequestException(`${field}.Statement: at least one statement is required`);
  }
  if (raw.length > MAX_STATEMENTS) {
    throw new BadRequestException(`${field}.Statement: at most ${MAX_STATEMENTS} statements`);
  }
  return {
    Version: version,
    Statement: raw.map((statement, index) =>
      parseStatement(statement, `${field}.Statement[${index}]`),
    ),
  };
}

function parseStatement(value: unknown, field: string): PolicyStatement {
  const object = plainObject(value, field);
  for (const key of Object.keys(object)) {
    if (!STATEMENT_KEYS.has(key)) {
      throw new BadRequestException(
        `${field}.${key}: not supported (Sid, Effect, Action and Resource only)`,
      );
    }
  }
  if (object.Effect !== 'Allow' && object.Effect !== 'Deny') {
    throw new BadRequestException(`${field}.Effect: must be "Allow" or "Deny"`);
  }
  if (object.Sid !== undefined && (typeof object.Sid !== 'string' || object.Sid.length > 128)) {
    throw new BadRequestException(`${field}.Sid: must be a string of at most 128 characters`);
  }
  const actions = patterns(object.Action, `${field}.Action`);
  for (const action of actions) {
    if (!ACTION_PATTERN.test(action)) {
      throw new BadRequestException(
        `${field}.Action: "${action}" is not "<service>:<action>" (e.g. appmesh:UpdateRoute, appmesh:Describe*, trellis:*)`,
      );
    }
  }
  return {
    ...(object.Sid === undefined ? {} : { Sid: object.Sid }),
    Effect: object.Effect,
    Action: actions,
    Resource: patterns(object.Resource, `${field}.Resource`),
  };
}

function patterns(value: unknown, field: string): string[] {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0) {
    throw new BadRequestException(`${field}: must be a string or a non-empty list of strings`);
  }
  if (list.length > MAX_PATTERNS) {
    throw new BadRequestException(`${field}: at most ${MAX_PATTERNS} entries`);
  }
  for (const entry of list) {
    if (typeof entry !== 'string' || entry.length === 0 || entry.length > MAX_PATTERN_LENGTH) {
      throw new BadRequestException(
        `${field}: every entry must be a string of 1 to ${MAX_PATTERN_LENGTH} characters`,
      );
    }
    // eslint-disable-next-line no-control-regex -- rejecting control characters is the point
    if (/[\u0000-\u001f]/.test(entry)) {
      throw new BadRequestException(`${field}: control characters are not allowed`);
    }
  }
  return list as string[];
}

function plainObject(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new BadRequestException(`${field}: must be a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** IAM's decision for one action on one resource. Action names compare case-insensitively. */
export function evaluatePolicy(
  policy: AccessPolicy,
  action: string,
  resource: string,
): PolicyDecision {
  let allowed = false;
  for (const statement of policy.Statement) {
    const matches =
      statement.Action.some((pattern) =>
        wildcardMatch(pattern.toLowerCase(), action.toLowerCase()),
      ) && statement.Resource.some((pattern) => wildcardMatch(pattern, resource));
    if (!matches) continue;
    if (statement.Effect === 'Deny') return 'explicitDeny';
    allowed = true;
  }
  return allowed ? 'allow' : 'implicitDeny';
}

/**
 * IAM wildcards: `*` any run of characters (also none, also `/` and `:`), `?` exactly one.
 * Greedy with backtracking to the last `*` only: O(pattern × value) at worst, never exponential.
 */
export function wildcardMatch(pattern: string, value: string): boolean {
  let p = 0;
  let v = 0;
  let star = -1;
  let resume = 0;
  while (v < value.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === value[v])) {
      p++;
      v++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      resume = v;
    } else if (star >= 0) {
      p = star + 1;
      v = ++resume;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}
