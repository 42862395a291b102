import { typeNameOf, type DecodedAny } from '../any';
import {
  boolTest,
  bytesTest,
  durationTest,
  enumTest,
  numberTest,
  stringTest,
  timestampTest,
  timeValue,
  type ValueTest,
} from './rule-checks';
import type {
  FieldRules,
  FieldSchema,
  MessageSchema,
  RuleSchema,
  ScalarName,
  ValueType,
} from './rule-schema';

export interface ValidationFailure {
  /** Where the value is, in proto field names: `filter_chains[0].filters[0].typed_config.stat_prefix`. */
  path: string;
  /**
   * The broken annotation as written after `(validate.rules).`, e.g. `string.min_len` or
   * `repeated.items.string.well_known_regex`; `oneof.required` for `(validate.required)`.
   */
  rule: string;
  message: string;
}

/** google.protobuf.Any as ts-proto represents it. */
export interface AnyMessage {
  typeUrl?: string;
  value?: Uint8Array;
}

/** Decodes an Any; undefined when its type is unknown (its content is then not checked). */
export type AnyDecoder = (any: AnyMessage) => DecodedAny | undefined;

type Message = Record<string, unknown>;
/** Checks one value (a field's value or a list/map element) found where `at` is. */
type ValueCheck = (value: unknown, at: Trail) => void;
/** Checks a field or oneof of `message`, which is where `at` is. */
type MemberCheck = (message: Message, at: Trail) => void;
/** Checks a field's value (undefined when unset) in a message, which is where `at` is. */
type FieldCheck = (value: unknown, at: Trail) => void;

/**
 * Where the validator is in a resource, and the failures found: the path of a failure is
 * spelled out only when there is one, so a valid resource costs no path strings.
 */
class Trail {
  readonly failures: ValidationFailure[] = [];
  /** Field names; list indexes as numbers; map keys as `["key"]`. */
  private readonly segments: Array<string | number> = [];

  push(segment: string | number): void {
    this.segments.push(segment);
  }

  pop(): void {
    this.segments.pop();
  }

  fail(rule: string, message: string): void {
    this.failures.push({ path: this.path(), rule, message });
  }

  private path(): string {
    let path = '';
    for (const segment of this.segments) {
      if (typeof segment === 'number') path += `[${segment}]`;
      else if (segment.startsWith('[')) path += segment;
      else path += path === '' ? segment : `.${segment}`;
    }
    return path;
  }
}
type TimeMessage = { seconds?: number; nanos?: number };

const ANY = 'google.protobuf.Any';
const DURATION = 'google.protobuf.Duration';
const TIMESTAMP = 'google.protobuf.Timestamp';
/** ts-proto represents wrappers as the bare value, undefined when unset. */
const WRAPPERS: Record<string, ScalarName> = {
  'google.protobuf.DoubleValue': 'double',
  'google.protobuf.FloatValue': 'float',
  'google.protobuf.Int64Value': 'int64',
  'google.protobuf.UInt64Value': 'uint64',
  'google.protobuf.Int32Value': 'int32',
  'google.protobuf.UInt32Value': 'uint32',
  'google.protobuf.BoolValue': 'bool',
  'google.protobuf.StringValue': 'string',
  'google.protobuf.BytesValue': 'bytes',
};

/**
 * Enforces the protoc-gen-validate rules of a RuleSchema on ts-proto messages, recursing into
 * nested messages, lists, maps and (through `decodeAny`) Any fields. Each message type's checks
 * are compiled on first use and reused; types with nothing to check below them are skipped.
 */
export class ResourceValidator {
  private readonly compiled = new Map<string, MemberCheck[]>();
  private readonly typesToCheck: Set<string>;

  constructor(
    private readonly schema: RuleSchema,
    private readonly decodeAny?: AnyDecoder,
  ) {
    this.typesToCheck = typesWithChecks(schema, decodeAny !== undefined);
  }

  /** Every rule `message` (of fully-qualified type `typeName`) breaks; empty when it is valid. */
  validate(typeName: string, message: unknown): ValidationFailure[] {
    const at = new Trail();
    this.checkMessage(typeName, message, at);
    return at.failures;
  }

  private checkMessage(typeName: string, value: unknown, at: Trail): void {
    if (!this.typesToCheck.has(typeName)) return;
    if (typeof value !== 'object' || value === null) {
      at.fail('message', `must be a ${typeName} message`);
      return;
    }
    let checks = this.compiled.get(typeName);
    if (!checks) {
      checks = this.compileMessage(this.schema.messages[typeName]!);
      this.compiled.set(typeName, checks);
    }
    for (const check of checks) check(value as Message, at);
  }

  private compileMessage(schema: MessageSchema): MemberCheck[] {
    const checks: MemberCheck[] = [];
    for (const oneof of schema.oneofs ?? []) {
      if (!oneof.required) continue;
      checks.push((message, at) => {
        if (message[oneof.key] == null) {
          at.push(oneof.name);
          at.fail('oneof.required', `one of the ${oneof.name} fields must be set`);
          at.pop();
        }
      });
    }
    /** Checks of oneof members, by oneof and `$case`: one read of the union per message. */
    const members = new Map<string, Map<string, FieldCheck>>();
    for (const field of schema.fields) {
      const check = field.repeated
        ? this.listCheck(field)
        : field.mapKey
          ? this.mapCheck(field)
          : this.singularCheck(field);
      if (!check) continue;
      const { key, oneof } = field;
      if (oneof === undefined) {
        checks.push((message, at) => check(message[key], at));
        continue;
      }
      let byCase = members.get(oneof);
      if (!byCase) {
        const cases = new Map<string, FieldCheck>();
        byCase = cases;
        members.set(oneof, cases);
        checks.push((message, at) => {
          const union = message[oneof] as { $case?: string; value?: unknown } | undefined;
          if (union?.$case === undefined) return;
          cases.get(union.$case)?.(union.value, at);
        });
      }
      byCase.set(key, check);
    }
    return checks;
  }

  private singularCheck(field: FieldSchema): FieldCheck | undefined {
    const check = this.valueCheck(field, field.rules, '');
    if (!check) return undefined;
    const defaultValue = field.presence ? undefined : scalarDefault(field);
    return (value, at) => {
      // Unset non-optional scalars hold their default, which the rules apply to (proto3).
      const effective = value ?? defaultValue;
      if (effective === undefined && !field.message) return;
      at.push(field.name);
      check(effective, at);
      at.pop();
    };
  }

  private listCheck(field: FieldSchema): FieldCheck | undefined {
    const rules = field.rules?.repeated;
    const element = this.valueCheck(field, rules?.items, 'repeated.items.');
    const {
      min_items: minItems,
      max_items: maxItems,
      unique,
      ignore_empty: ignoreEmpty,
    } = rules ?? {};
    if (!element && minItems === undefined && maxItems === undefined && !unique) return undefined;
    const check = (value: unknown, at: Trail): void => {
      if (!Array.isArray(value)) {
        at.fail('repeated', 'must be a list');
        return;
      }
      if (ignoreEmpty && value.length === 0) return;
      if (minItems !== undefined && value.length < minItems) {
        at.fail('repeated.min_items', `must have at least ${minItems} item(s)`);
      }
      if (maxItems !== undefined && value.length > maxItems) {
        at.fail('repeated.max_items', `must have at most ${maxItems} item(s)`);
      }
      // Uniqueness is defined for scalars and enums only (protoc-gen-validate ignores messages).
      if (unique && !field.message && new Set(value.map(uniquenessKey)).size !== value.length) {
        at.fail('repeated.unique', 'must not contain duplicates');
      }
      if (element) {
        for (let i = 0; i < value.length; i++) {
          at.push(i);
          element(value[i], at);
          at.pop();
        }
      }
    };
    return (value, at) => {
      at.push(field.name);
      check(value ?? [], at);
      at.pop();
    };
  }

  private mapCheck(field: FieldSchema): FieldCheck | undefined {
    const rules = field.rules?.map;
    const keyType = field.mapKey!;
    const keyCheck = this.valueCheck({ scalar: keyType }, rules?.keys, 'map.keys.');
    const valueCheck = this.valueCheck(field, rules?.values, 'map.values.');
    const {
      min_pairs: minPairs,
      max_pairs: maxPairs,
      no_sparse: noSparse,
      ignore_empty: ignoreEmpty,
    } = rules ?? {};
    const hasPairRules = minPairs !== undefined || maxPairs !== undefined || noSparse;
    if (!keyCheck && !valueCheck && !hasPairRules) return undefined;
    const check = (value: unknown, at: Trail): void => {
      if (typeof value !== 'object' || value === null) {
        at.fail('map', 'must be a map');
        return;
      }
      const entries =
        value instanceof Map ? [...(value as Map<unknown, unknown>)] : Object.entries(value);
      if (ignoreEmpty && entries.length === 0) return;
      if (minPairs !== undefined && entries.length < minPairs) {
        at.fail('map.min_pairs', `must have at least ${minPairs} entries`);
      }
      if (maxPairs !== undefined && entries.length > maxPairs) {
        at.fail('map.max_pairs', `must have at most ${maxPairs} entries`);
      }
      for (const [rawKey, entry] of entries) {
        const key = mapKey(rawKey, keyType);
        at.push(`[${JSON.stringify(key)}]`);
        keyCheck?.(key, at);
        if (noSparse && entry == null) at.fail('map.no_sparse', 'must not be unset');
        valueCheck?.(entry, at);
        at.pop();
      }
    };
    return (value, at) => {
      at.push(field.name);
      check(value ?? {}, at);
      at.pop();
    };
  }

  /**
   * The check of one value of `type` under `rules` (the field's rules, or a list's `items`, or a
   * map's `keys`/`values`); `rulePrefix` locates those rules for failure reports. Scalar values
   * are always present; message values are undefined when unset.
   */
  private valueCheck(
    type: ValueType,
    rules: FieldRules | undefined,
    rulePrefix: string,
  ): ValueCheck | undefined {
    if (type.scalar) return scalarCheck(type.scalar, rules, rulePrefix);
    if (type.enum) {
      const test = rules?.enum && enumTest(rules.enum, this.schema.enums[type.enum]);
      return report(test, `${rulePrefix}enum.`);
    }
    const typeName = type.message!;
    const wrapped = WRAPPERS[typeName];
    if (wrapped) {
      return both(requiredOf(rules, rulePrefix), whenSet(scalarCheck(wrapped, rules, rulePrefix)));
    }
    if (typeName === DURATION || typeName === TIMESTAMP) {
      const kind = typeName === DURATION ? 'duration' : 'timestamp';
      const test =
        kind === 'duration'
          ? rules?.duration && durationTest(rules.duration)
          : rules?.timestamp && timestampTest(rules.timestamp);
      const check = report(test, `${rulePrefix}${kind}.`);
      return both(
        requiredOf(rules, rulePrefix, kind),
        whenSet(check && ((value, at) => check(timeValue(value as TimeMessage), at))),
      );
    }
    // Envoy's protos also put `any.required` on non-Any message fields; it means required there too.
    const required = requiredOf(rules, rulePrefix, 'any');
    const descend = !rules?.message?.skip;
    if (typeName === ANY) return both(required, whenSet(this.anyCheck(rules, rulePrefix, descend)));
    if (!descend || !this.typesToCheck.has(typeName)) return required;
    return both(
      required,
      whenSet((value, at) => this.checkMessage(typeName, value, at)),
    );
  }

  private anyCheck(
    rules: FieldRules | undefined,
    rulePrefix: string,
    descend: boolean,
  ): ValueCheck | undefined {
    const allowed = rules?.any?.in?.length ? new Set(rules.any.in) : undefined;
    const denied = rules?.any?.not_in?.length ? new Set(rules.any.not_in) : undefined;
    const decodeAny = descend ? this.decodeAny : undefined;
    if (!allowed && !denied && !decodeAny) return undefined;
    return (value, at) => {
      const any = value as AnyMessage;
      const typeUrl = any.typeUrl ?? '';
      if (allowed && !allowed.has(typeUrl)) {
        const message = `type URL must be one of ${JSON.stringify([...allowed])}`;
        at.fail(`${rulePrefix}any.in`, message);
        return;
      }
      if (denied?.has(typeUrl)) {
        const message = `type URL must not be one of ${JSON.stringify([...denied])}`;
        at.fail(`${rulePrefix}any.not_in`, message);
        return;
      }
      if (!decodeAny || !this.typesToCheck.has(typeNameOf(typeUrl))) return;
      let decoded: DecodedAny | undefined;
      try {
        decoded = decodeAny(any);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        at.fail('any.decode', `cannot decode ${typeUrl}: ${reason}`);
        return;
      }
      if (decoded) this.checkMessage(decoded.typeName, decoded.message, at);
    };
  }
}

/**
 * Message types with a rule, a required oneof or (when Any contents are checked) an Any field
 * in them or in a message type below them; the others need not be visited at all.
 */
function typesWithChecks(schema: RuleSchema, checkAnyContents: boolean): Set<string> {
  const result = new Set<string>();
  const containers = new Map<string, string[]>();
  const pending: string[] = [];
  for (const [typeName, message] of Object.entries(schema.messages)) {
    if (message.disabled) continue;
    let direct = message.oneofs?.some((oneof) => oneof.required) ?? false;
    for (const field of message.fields) {
      const elementRules = field.repeated
        ? field.rules?.repeated?.items
        : field.mapKey
          ? field.rules?.map?.values
          : field.rules;
      if (field.rules && checksSomething(field.rules)) direct = true;
      if (!field.message || elementRules?.message?.skip) continue;
      if (field.message === ANY) direct ||= checkAnyContents;
      else containers.set(field.message, [...(containers.get(field.message) ?? []), typeName]);
    }
    if (direct) {
      result.add(typeName);
      pending.push(typeName);
    }
  }
  for (let typeName = pending.pop(); typeName !== undefined; typeName = pending.pop()) {
    for (const container of containers.get(typeName) ?? []) {
      if (result.has(container) || schema.messages[container]?.disabled) continue;
      result.add(container);
      pending.push(container);
    }
  }
  return result;
}

/** False for rules that only steer descent (`message.skip`) and check nothing themselves. */
function checksSomething(rules: FieldRules): boolean {
  const keys = Object.keys(rules);
  return !(keys.length === 1 && keys[0] === 'message' && rules.message?.required !== true);
}

/** Checks of a present scalar value (a field's own value, a wrapper's, a list item or map key). */
function scalarCheck(
  scalar: ScalarName,
  rules: FieldRules | undefined,
  rulePrefix: string,
): ValueCheck | undefined {
  if (!rules) return undefined;
  const prefix = `${rulePrefix}${scalar}.`;
  if (scalar === 'string') return report(rules.string && stringTest(rules.string), prefix);
  if (scalar === 'bytes') return report(rules.bytes && bytesTest(rules.bytes), prefix);
  if (scalar === 'bool') return report(rules.bool && boolTest(rules.bool), prefix);
  const numberRules = rules[scalar];
  return report(numberRules && numberTest(numberRules), prefix);
}

/**
 * Reports the first violation of `test` as a failure of rule `${rulePrefix}${violation.rule}`.
 * The value's type is the one the schema declares for it, hence the cast.
 */
function report<T>(test: ValueTest<T> | undefined, rulePrefix: string): ValueCheck | undefined {
  if (!test) return undefined;
  return (value, at) => {
    const violation = test(value as T);
    if (!violation) return;
    at.fail(rulePrefix + violation.rule, violation.message);
  };
}

/**
 * A message value must be set when its kind's own `required` (`duration.required`,
 * `any.required`, ...) or `message.required` says so.
 */
function requiredOf(
  rules: FieldRules | undefined,
  rulePrefix: string,
  kind?: 'duration' | 'timestamp' | 'any',
): ValueCheck | undefined {
  const kindRequired = kind !== undefined && rules?.[kind]?.required === true;
  const name = kindRequired
    ? `${kind}.required`
    : rules?.message?.required
      ? 'message.required'
      : undefined;
  if (!name) return undefined;
  const rule = rulePrefix + name;
  return (value: unknown, at: Trail) => {
    if (value == null) at.fail(rule, 'is required');
  };
}

/** Runs `check` only on set (non-null) values. */
function whenSet(check: ValueCheck | undefined): ValueCheck | undefined {
  return (
    check &&
    ((value, at) => {
      if (value != null) check(value, at);
    })
  );
}

function both(
  first: ValueCheck | undefined,
  second: ValueCheck | undefined,
): ValueCheck | undefined {
  if (!first || !second) return first ?? second;
  return (value, at) => {
    first(value, at);
    second(value, at);
  };
}

function scalarDefault(field: FieldSchema): unknown {
  if (field.enum) return 0;
  if (field.scalar === undefined) return undefined;
  if (field.scalar === 'string') return '';
  if (field.scalar === 'bytes') return new Uint8Array();
  if (field.scalar === 'bool') return false;
  return 0;
}

/** ts-proto map keys are object keys (strings); rules see them as their proto type. */
function mapKey(key: unknown, type: ScalarName): unknown {
  if (typeof key !== 'string') return key;
  if (type === 'string') return key;
  if (type === 'bool') return key === 'true';
  return Number(key);
}

function uniquenessKey(value: unknown): unknown {
  return value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value;
}
