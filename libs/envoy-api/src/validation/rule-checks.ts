// Checks for single values, compiled once from a rule group of validate.proto. Each returns the
// first rule a value breaks (protoc-gen-validate reports one violation per field too), as a rule
// name relative to the group (`min_len`) and a message.
import type {
  BoolRules,
  BytesRules,
  DurationRules,
  EnumRules,
  KnownRegex,
  NumberRules,
  RangeRules,
  StringRules,
  TimeValue,
  TimestampRules,
} from './rule-schema';
import {
  binaryIpVersion,
  HEADER_STRING,
  HTTP_HEADER_NAME,
  HTTP_HEADER_VALUE,
  ipVersion,
  isEmail,
  isHostname,
  isUri,
  isUriReference,
  isUuid,
} from './well-known-formats';

export interface Violation {
  rule: string;
  message: string;
}

/** A compiled rule group: the first violation of `value`, or undefined. */
export type ValueTest<T> = (value: T) => Violation | undefined;

/** Runs tests in order and returns the first violation. */
function firstViolation<T>(tests: ValueTest<T>[]): ValueTest<T> | undefined {
  if (tests.length === 0) return undefined;
  return (value) => {
    for (const test of tests) {
      const violation = test(value);
      if (violation) return violation;
    }
    return undefined;
  };
}

function skipWhen<T>(isEmpty: (value: T) => boolean, test: ValueTest<T> | undefined) {
  return test && ((value: T) => (isEmpty(value) ? undefined : test(value)));
}

/**
 * const, in, not_in and the lt/lte/gt/gte bounds shared by numbers, durations and timestamps.
 * When both bounds are set and the upper one is not above the lower one, the range is exclusive:
 * the value must lie outside it (protoc-gen-validate's reading of e.g. `{lte: 0s, gte: 1s}`).
 */
function rangeTests<T>(
  rules: RangeRules<T>,
  compare: (a: T, b: T) => number,
  show: (value: T) => string,
): ValueTest<T>[] {
  const tests: ValueTest<T>[] = [];
  const { const: exact, in: allowed, not_in: denied } = rules;
  if (exact !== undefined) {
    tests.push((v) =>
      compare(v, exact) === 0 ? undefined : { rule: 'const', message: `must equal ${show(exact)}` },
    );
  }
  if (allowed && allowed.length > 0) {
    tests.push((v) =>
      allowed.some((a) => compare(v, a) === 0)
        ? undefined
        : { rule: 'in', message: `must be one of [${allowed.map(show).join(', ')}]` },
    );
  }
  if (denied && denied.length > 0) {
    tests.push((v) =>
      denied.some((d) => compare(v, d) === 0)
        ? { rule: 'not_in', message: `must not be one of [${denied.map(show).join(', ')}]` }
        : undefined,
    );
  }

  const lower =
    rules.gt !== undefined
      ? { key: 'gt', bound: rules.gt, exclusive: true }
      : rules.gte !== undefined
        ? { key: 'gte', bound: rules.gte, exclusive: false }
        : undefined;
  const upper =
    rules.lt !== undefined
      ? { key: 'lt', bound: rules.lt, exclusive: true }
      : rules.lte !== undefined
        ? { key: 'lte', bound: rules.lte, exclusive: false }
        : undefined;
  type Bound = { key: string; bound: T; exclusive: boolean };
  const above = (b: Bound, v: T) =>
    b.exclusive ? compare(v, b.bound) > 0 : compare(v, b.bound) >= 0;
  const below = (b: Bound, v: T) =>
    b.exclusive ? compare(v, b.bound) < 0 : compare(v, b.bound) <= 0;

  if (lower && upper) {
    if (compare(upper.bound, lower.bound) > 0) {
      const range = `${lower.exclusive ? '(' : '['}${show(lower.bound)}, ${show(upper.bound)}${upper.exclusive ? ')' : ']'}`;
      tests.push((v) => {
        if (!above(lower, v)) return { rule: lower.key, message: `must be inside range ${range}` };
        if (!below(upper, v)) return { rule: upper.key, message: `must be inside range ${range}` };
        return undefined;
      });
    } else {
      const gap = `${upper.exclusive ? '[' : '('}${show(upper.bound)}, ${show(lower.bound)}${lower.exclusive ? ']' : ')'}`;
      tests.push((v) =>
        above(lower, v) || below(upper, v)
          ? undefined
          : { rule: `${lower.key}+${upper.key}`, message: `must be outside range ${gap}` },
      );
    }
  } else if (lower) {
    const message = `must be greater than ${lower.exclusive ? '' : 'or equal to '}${show(lower.bound)}`;
    tests.push((v) => (above(lower, v) ? undefined : { rule: lower.key, message }));
  } else if (upper) {
    const message = `must be less than ${upper.exclusive ? '' : 'or equal to '}${show(upper.bound)}`;
    tests.push((v) => (below(upper, v) ? undefined : { rule: upper.key, message }));
  }
  return tests;
}

export function numberTest(rules: NumberRules): ValueTest<number> | undefined {
  const test = firstViolation(
    rangeTests(
      rules,
      (a, b) => a - b,
      (v) => String(v),
    ),
  );
  return rules.ignore_empty ? skipWhen((v) => v === 0, test) : test;
}

export function boolTest(rules: BoolRules): ValueTest<boolean> | undefined {
  const { const: exact } = rules;
  if (exact === undefined) return undefined;
  return (v) => (v === exact ? undefined : { rule: 'const', message: `must equal ${exact}` });
}

export function stringTest(rules: StringRules): ValueTest<string> | undefined {
  const tests: ValueTest<string>[] = [];
  const r = rules;
  if (r.const !== undefined) {
    const exact = r.const;
    tests.push((v) =>
      v === exact ? undefined : { rule: 'const', message: `must equal ${JSON.stringify(exact)}` },
    );
  }
  if (r.in && r.in.length > 0) {
    const allowed = new Set(r.in);
    const list = JSON.stringify(r.in);
    tests.push((v) =>
      allowed.has(v) ? undefined : { rule: 'in', message: `must be one of ${list}` },
    );
  }
  if (r.not_in && r.not_in.length > 0) {
    const denied = new Set(r.not_in);
    const list = JSON.stringify(r.not_in);
    tests.push((v) =>
      denied.has(v) ? { rule: 'not_in', message: `must not be one of ${list}` } : undefined,
    );
  }
  tests.push(
    ...lengthTests(countCodePoints, {
      names: LENGTH_RULE_NAMES,
      unit: 'characters',
      exact: r.len,
      min: r.min_len,
      max: r.max_len,
    }),
    ...lengthTests(utf8Length, {
      names: { exact: 'len_bytes', min: 'min_bytes', max: 'max_bytes' },
      unit: 'bytes',
      exact: r.len_bytes,
      min: r.min_bytes,
      max: r.max_bytes,
    }),
  );
  if (r.prefix !== undefined) {
    const prefix = r.prefix;
    tests.push((v) =>
      v.startsWith(prefix)
        ? undefined
        : { rule: 'prefix', message: `must start with ${JSON.stringify(prefix)}` },
    );
  }
  if (r.suffix !== undefined) {
    const suffix = r.suffix;
    tests.push((v) =>
      v.endsWith(suffix)
        ? undefined
        : { rule: 'suffix', message: `must end with ${JSON.stringify(suffix)}` },
    );
  }
  if (r.contains !== undefined) {
    const part = r.contains;
    tests.push((v) =>
      v.includes(part)
        ? undefined
        : { rule: 'contains', message: `must contain ${JSON.stringify(part)}` },
    );
  }
  if (r.not_contains !== undefined) {
    const part = r.not_contains;
    tests.push((v) =>
      v.includes(part)
        ? { rule: 'not_contains', message: `must not contain ${JSON.stringify(part)}` }
        : undefined,
    );
  }
  const wellKnown = wellKnownStringTest(r);
  if (wellKnown) tests.push(wellKnown);
  if (r.pattern !== undefined) {
    const pattern = r.pattern;
    // Envoy's patterns are RE2; the ones in its protos mean the same as a JavaScript RegExp.
    const regex = new RegExp(pattern, 'u');
    tests.push((v) =>
      regex.test(v)
        ? undefined
        : { rule: 'pattern', message: `must match the pattern ${JSON.stringify(pattern)}` },
    );
  }
  const test = firstViolation(tests);
  return r.ignore_empty ? skipWhen((v) => v === '', test) : test;
}

function wellKnownStringTest(r: StringRules): ValueTest<string> | undefined {
  const format = (rule: string, ok: (v: string) => boolean, what: string): ValueTest<string> => {
    return (v) => (ok(v) ? undefined : { rule, message: `must be ${what}` });
  };
  if (r.email) return format('email', isEmail, 'a valid email address');
  if (r.hostname) return format('hostname', isHostname, 'a valid hostname');
  if (r.ip) return format('ip', (v) => ipVersion(v) !== undefined, 'a valid IP address');
  if (r.ipv4) return format('ipv4', (v) => ipVersion(v) === 4, 'a valid IPv4 address');
  if (r.ipv6) return format('ipv6', (v) => ipVersion(v) === 6, 'a valid IPv6 address');
  if (r.uri) return format('uri', isUri, 'an absolute URI');
  if (r.uri_ref) return format('uri_ref', isUriReference, 'a valid URI reference');
  if (r.address) {
    return format(
      'address',
      (v) => isHostname(v) || ipVersion(v) !== undefined,
      'a valid hostname or IP address',
    );
  }
  if (r.uuid) return format('uuid', isUuid, 'a valid UUID');
  if (r.well_known_regex !== undefined && r.well_known_regex !== 'UNKNOWN') {
    const { regex, what } = knownRegex(r.well_known_regex, r.strict ?? true);
    return format('well_known_regex', (v) => regex.test(v), what);
  }
  return undefined;
}

function knownRegex(
  known: Exclude<KnownRegex, 'UNKNOWN'>,
  strict: boolean,
): { regex: RegExp; what: string } {
  if (!strict) return { regex: HEADER_STRING, what: 'free of NUL, CR and LF characters' };
  switch (known) {
    case 'HTTP_HEADER_NAME':
      return { regex: HTTP_HEADER_NAME, what: 'a valid HTTP header name' };
    case 'HTTP_HEADER_VALUE':
      return { regex: HTTP_HEADER_VALUE, what: 'a valid HTTP header value' };
  }
}

interface LengthRules {
  names: { exact: string; min: string; max: string };
  unit: string;
  exact: number | undefined;
  min: number | undefined;
  max: number | undefined;
}

/** len/min_len/max_len and their byte variants. */
function lengthTests<T>(measure: (value: T) => number, rules: LengthRules): ValueTest<T>[] {
  const { names, unit, exact, min, max } = rules;
  const tests: ValueTest<T>[] = [];
  if (exact !== undefined) {
    tests.push((v) =>
      measure(v) === exact
        ? undefined
        : { rule: names.exact, message: `must be exactly ${exact} ${unit} long` },
    );
  }
  if (min !== undefined && min > 0) {
    tests.push((v) =>
      measure(v) >= min
        ? undefined
        : { rule: names.min, message: `must be at least ${min} ${unit} long` },
    );
  }
  if (max !== undefined) {
    tests.push((v) =>
      measure(v) <= max
        ? undefined
        : { rule: names.max, message: `must be at most ${max} ${unit} long` },
    );
  }
  return tests;
}

const LENGTH_RULE_NAMES = { exact: 'len', min: 'min_len', max: 'max_len' };

/** Length in Unicode code points (protoc-gen-validate's "characters"), without allocating. */
function countCodePoints(value: string): number {
  let count = 0;
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < value.length) {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    count++;
  }
  return count;
}

function utf8Length(value: string): number {
  return Buffer.byteLength(value, 'utf8');
}

export function bytesTest(rules: BytesRules): ValueTest<Uint8Array> | undefined {
  const r = rules;
  const tests: ValueTest<Uint8Array>[] = [];
  const decode = (base64: string) => Buffer.from(base64, 'base64');
  const show = (bytes: Uint8Array) => `0x${Buffer.from(bytes).toString('hex')}`;
  if (r.const !== undefined) {
    const exact = decode(r.const);
    tests.push((v) =>
      exact.equals(v) ? undefined : { rule: 'const', message: `must equal ${show(exact)}` },
    );
  }
  if (r.in && r.in.length > 0) {
    const allowed = r.in.map(decode);
    tests.push((v) =>
      allowed.some((a) => a.equals(v))
        ? undefined
        : { rule: 'in', message: `must be one of [${allowed.map(show).join(', ')}]` },
    );
  }
  if (r.not_in && r.not_in.length > 0) {
    const denied = r.not_in.map(decode);
    tests.push((v) =>
      denied.some((d) => d.equals(v))
        ? { rule: 'not_in', message: `must not be one of [${denied.map(show).join(', ')}]` }
        : undefined,
    );
  }
  tests.push(
    ...lengthTests((v: Uint8Array) => v.length, {
      names: LENGTH_RULE_NAMES,
      unit: 'bytes',
      exact: r.len,
      min: r.min_len,
      max: r.max_len,
    }),
  );
  if (r.pattern !== undefined) {
    const pattern = r.pattern;
    const regex = new RegExp(pattern, 'u');
    tests.push((v) =>
      regex.test(Buffer.from(v).toString('utf8'))
        ? undefined
        : { rule: 'pattern', message: `must match the pattern ${JSON.stringify(pattern)}` },
    );
  }
  if (r.prefix !== undefined) {
    const prefix = decode(r.prefix);
    tests.push((v) =>
      Buffer.from(v.subarray(0, prefix.length)).equals(prefix)
        ? undefined
        : { rule: 'prefix', message: `must start with ${show(prefix)}` },
    );
  }
  if (r.suffix !== undefined) {
    const suffix = decode(r.suffix);
    tests.push((v) =>
      v.length >= suffix.length && Buffer.from(v.subarray(v.length - suffix.length)).equals(suffix)
        ? undefined
        : { rule: 'suffix', message: `must end with ${show(suffix)}` },
    );
  }
  if (r.contains !== undefined) {
    const part = decode(r.contains);
    tests.push((v) =>
      Buffer.from(v).includes(part)
        ? undefined
        : { rule: 'contains', message: `must contain ${show(part)}` },
    );
  }
  if (r.ip) {
    tests.push((v) =>
      binaryIpVersion(v) !== undefined
        ? undefined
        : { rule: 'ip', message: 'must be a valid IP address in byte form' },
    );
  } else if (r.ipv4) {
    tests.push((v) =>
      v.length === 4 ? undefined : { rule: 'ipv4', message: 'must be 4 bytes (an IPv4 address)' },
    );
  } else if (r.ipv6) {
    tests.push((v) =>
      v.length === 16 ? undefined : { rule: 'ipv6', message: 'must be 16 bytes (an IPv6 address)' },
    );
  }
  const test = firstViolation(tests);
  return r.ignore_empty ? skipWhen((v) => v.length === 0, test) : test;
}

export function enumTest(
  rules: EnumRules,
  definedValues: readonly number[] | undefined,
): ValueTest<number> | undefined {
  const tests: ValueTest<number>[] = rangeTests(
    { const: rules.const, in: rules.in, not_in: rules.not_in },
    (a, b) => a - b,
    (v) => String(v),
  );
  if (rules.defined_only) {
    if (!definedValues) throw new Error('defined_only rule without the enum values');
    const defined = new Set(definedValues);
    tests.push((v) =>
      defined.has(v)
        ? undefined
        : { rule: 'defined_only', message: 'must be a defined enum value' },
    );
  }
  return firstViolation(tests);
}

/** seconds/nanos may be absent in ts-proto objects built by hand; absent means 0. */
export function timeValue(value: { seconds?: number; nanos?: number }): TimeValue {
  return { seconds: value.seconds ?? 0, nanos: value.nanos ?? 0 };
}

function compareTime(a: TimeValue, b: TimeValue): number {
  return a.seconds - b.seconds || a.nanos - b.nanos;
}

function showDuration(d: TimeValue): string {
  const negative = d.seconds < 0 || d.nanos < 0;
  const nanos = String(Math.abs(d.nanos)).padStart(9, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${Math.abs(d.seconds)}${nanos ? `.${nanos}` : ''}s`;
}

function showTimestamp(t: TimeValue): string {
  return new Date(t.seconds * 1000 + Math.floor(t.nanos / 1e6)).toISOString();
}

/** Largest Duration protobuf allows: ±10,000 years. */
const MAX_DURATION_SECONDS = 315_576_000_000;

export function durationTest(rules: DurationRules): ValueTest<TimeValue> {
  const range = firstViolation(rangeTests(rules, compareTime, showDuration));
  return (d) => {
    const valid =
      Number.isInteger(d.seconds) &&
      Number.isInteger(d.nanos) &&
      Math.abs(d.seconds) <= MAX_DURATION_SECONDS &&
      Math.abs(d.nanos) < 1e9 &&
      !(d.seconds > 0 && d.nanos < 0) &&
      !(d.seconds < 0 && d.nanos > 0);
    if (!valid)
      return {
        rule: 'valid',
        message: 'must be a valid Duration (nanos within ±1e9, same sign as seconds)',
      };
    return range?.(d);
  };
}

export function timestampTest(rules: TimestampRules): ValueTest<TimeValue> | undefined {
  const tests = rangeTests(
    { const: rules.const, lt: rules.lt, lte: rules.lte, gt: rules.gt, gte: rules.gte },
    compareTime,
    showTimestamp,
  );
  const { lt_now: ltNow, gt_now: gtNow, within } = rules;
  if (ltNow || gtNow || within) {
    tests.push((t) => {
      const millis = Date.now();
      const now = { seconds: Math.floor(millis / 1000), nanos: (millis % 1000) * 1e6 };
      if (ltNow && compareTime(t, now) >= 0)
        return { rule: 'lt_now', message: 'must be in the past' };
      if (gtNow && compareTime(t, now) <= 0)
        return { rule: 'gt_now', message: 'must be in the future' };
      if (within) {
        const distance = Math.abs(t.seconds - now.seconds + (t.nanos - now.nanos) / 1e9);
        if (distance > within.seconds + within.nanos / 1e9) {
          return { rule: 'within', message: `must be within ${showDuration(within)} of now` };
        }
      }
      return undefined;
    });
  }
  return firstViolation(tests);
}
