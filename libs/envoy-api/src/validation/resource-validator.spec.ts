import { ResourceValidator, type AnyMessage } from './resource-validator';
import type { FieldRules, FieldSchema, RuleSchema, ScalarName } from './rule-schema';

// Rule kinds and variants that no Envoy message in libs/envoy-api uses (validate-resource.spec.ts
// covers the ones that do, on real messages), checked on a one-field message `test.Sample`.
// Its field is `test_value` in proto and `testValue` in ts-proto, as generated code names it.

const FIELD = { name: 'test_value', key: 'testValue' };
const CHILD_URL = 'type.googleapis.com/test.Child';

function scalarField(
  scalar: ScalarName,
  rules: FieldRules,
  extra: Partial<FieldSchema> = {},
): FieldSchema {
  return { ...FIELD, scalar, rules, ...extra };
}
function messageField(
  message: string,
  rules?: FieldRules,
  extra: Partial<FieldSchema> = {},
): FieldSchema {
  return { ...FIELD, message, ...(rules ? { rules } : {}), ...extra };
}

function validatorFor(field: FieldSchema): ResourceValidator {
  const schema: RuleSchema = {
    messages: {
      'test.Sample': { oneofs: [], fields: [field] },
      'test.Child': {
        fields: [{ name: 'id', key: 'id', scalar: 'string', rules: { string: { min_len: 1 } } }],
      },
      'test.Disabled': {
        disabled: true,
        fields: [{ name: 'id', key: 'id', scalar: 'string', rules: { string: { min_len: 1 } } }],
      },
    },
    enums: { 'test.Color': [0, 1, 2] },
  };
  // test.Child messages travel in Any as JSON, which keeps the fixtures readable.
  const decodeAny = (any: AnyMessage) =>
    any.typeUrl === CHILD_URL
      ? {
          typeName: 'test.Child',
          message: JSON.parse(Buffer.from(any.value ?? []).toString()) as unknown,
        }
      : undefined;
  return new ResourceValidator(schema, decodeAny);
}

function validateValue(field: FieldSchema, value: unknown) {
  // A oneof member's value sits in the oneof's `{ $case, value }` property.
  const property = field.oneof ?? field.key;
  return validatorFor(field).validate(
    'test.Sample',
    value === undefined ? {} : { [property]: value },
  );
}

const bytes = (...values: number[]) => Uint8Array.from(values);
const base64 = (...values: number[]) => Buffer.from(values).toString('base64');
const utf8 = (text: string) => new Uint8Array(Buffer.from(text));
const childAny = (child: object): AnyMessage => ({
  typeUrl: CHILD_URL,
  value: utf8(JSON.stringify(child)),
});
const time = (seconds: number, nanos = 0) => ({ seconds, nanos });
const nowSeconds = () => Math.floor(Date.now() / 1000);

interface KindCase {
  title: string;
  field: FieldSchema;
  valid: unknown;
  invalid: unknown;
  rule: string;
  /** Defaults to the field itself. */
  path?: string;
}

const cases: KindCase[] = [
  // string
  {
    title: 'string.const',
    field: scalarField('string', { string: { const: 'ads' } }),
    valid: 'ads',
    invalid: 'rest',
    rule: 'string.const',
  },
  {
    title: 'string.len counts code points',
    field: scalarField('string', { string: { len: 3 } }),
    valid: '日本語',
    invalid: 'ab',
    rule: 'string.len',
  },
  {
    title: 'string.max_len',
    field: scalarField('string', { string: { max_len: 3 } }),
    valid: '日本語',
    invalid: 'abcd',
    rule: 'string.max_len',
  },
  {
    title: 'string.len_bytes counts UTF-8 bytes',
    field: scalarField('string', { string: { len_bytes: 3 } }),
    valid: '日',
    invalid: 'ab',
    rule: 'string.len_bytes',
  },
  {
    title: 'string.min_bytes',
    field: scalarField('string', { string: { min_bytes: 4 } }),
    valid: '日本',
    invalid: 'abc',
    rule: 'string.min_bytes',
  },
  {
    title: 'string.prefix',
    field: scalarField('string', { string: { prefix: 'envoy.' } }),
    valid: 'envoy.router',
    invalid: 'router',
    rule: 'string.prefix',
  },
  {
    title: 'string.suffix',
    field: scalarField('string', { string: { suffix: '.svc' } }),
    valid: 'web.svc',
    invalid: 'web.local',
    rule: 'string.suffix',
  },
  {
    title: 'string.contains',
    field: scalarField('string', { string: { contains: 'mesh' } }),
    valid: 'app-mesh',
    invalid: 'app',
    rule: 'string.contains',
  },
  {
    title: 'string.not_contains',
    field: scalarField('string', { string: { not_contains: '..' } }),
    valid: '/a/b',
    invalid: '/a/../b',
    rule: 'string.not_contains',
  },
  {
    title: 'string.not_in',
    field: scalarField('string', { string: { not_in: ['*'] } }),
    valid: 'web',
    invalid: '*',
    rule: 'string.not_in',
  },
  {
    title: 'string.email',
    field: scalarField('string', { string: { email: true } }),
    valid: 'ops@example.com',
    invalid: 'ops@@example.com',
    rule: 'string.email',
  },
  {
    title: 'string.hostname',
    field: scalarField('string', { string: { hostname: true } }),
    valid: 'web.mesh.local',
    invalid: 'web_mesh.local',
    rule: 'string.hostname',
  },
  {
    title: 'string.ip',
    field: scalarField('string', { string: { ip: true } }),
    valid: '::1',
    invalid: '1.2.3',
    rule: 'string.ip',
  },
  {
    title: 'string.ipv4',
    field: scalarField('string', { string: { ipv4: true } }),
    valid: '10.0.0.1',
    invalid: '::1',
    rule: 'string.ipv4',
  },
  {
    title: 'string.ipv6',
    field: scalarField('string', { string: { ipv6: true } }),
    valid: '2001:db8::1',
    invalid: '10.0.0.1',
    rule: 'string.ipv6',
  },
  {
    title: 'string.uri',
    field: scalarField('string', { string: { uri: true } }),
    valid: 'https://example.com/a?b#c',
    invalid: '/relative',
    rule: 'string.uri',
  },
  {
    title: 'string.uri_ref',
    field: scalarField('string', { string: { uri_ref: true } }),
    valid: '/relative/path',
    invalid: '/bad%zz',
    rule: 'string.uri_ref',
  },
  {
    title: 'string.address',
    field: scalarField('string', { string: { address: true } }),
    valid: '10.0.0.1',
    invalid: 'bad host',
    rule: 'string.address',
  },
  {
    title: 'string.uuid',
    field: scalarField('string', { string: { uuid: true } }),
    valid: '123e4567-e89b-12d3-a456-426614174000',
    invalid: '123e4567e89b12d3a456426614174000',
    rule: 'string.uuid',
  },
  {
    title: 'string.well_known_regex HTTP_HEADER_NAME (strict)',
    field: scalarField('string', { string: { well_known_regex: 'HTTP_HEADER_NAME' } }),
    valid: ':authority',
    invalid: 'x header',
    rule: 'string.well_known_regex',
  },
  {
    title: 'string rules apply to the default of an unset field',
    field: scalarField('string', { string: { min_len: 1 } }),
    valid: 'x',
    invalid: undefined,
    rule: 'string.min_len',
  },
  {
    title: 'proto3 optional: rules apply once set',
    field: scalarField('string', { string: { min_len: 1 } }, { presence: true }),
    valid: undefined,
    invalid: '',
    rule: 'string.min_len',
  },
  {
    title: 'oneof member rules apply when that member is set',
    field: scalarField('string', { string: { min_len: 1 } }, { oneof: 'choice' }),
    valid: { $case: 'other', value: '' },
    invalid: { $case: 'testValue', value: '' },
    rule: 'string.min_len',
  },

  // bytes
  {
    title: 'bytes.const',
    field: scalarField('bytes', { bytes: { const: base64(1, 2) } }),
    valid: bytes(1, 2),
    invalid: bytes(1),
    rule: 'bytes.const',
  },
  {
    title: 'bytes.len',
    field: scalarField('bytes', { bytes: { len: 4 } }),
    valid: bytes(1, 2, 3, 4),
    invalid: bytes(1),
    rule: 'bytes.len',
  },
  {
    title: 'bytes.min_len',
    field: scalarField('bytes', { bytes: { min_len: 2 } }),
    valid: bytes(1, 2),
    invalid: bytes(1),
    rule: 'bytes.min_len',
  },
  {
    title: 'bytes.pattern',
    field: scalarField('bytes', { bytes: { pattern: '^[a-z]+$' } }),
    valid: utf8('abc'),
    invalid: utf8('ABC'),
    rule: 'bytes.pattern',
  },
  {
    title: 'bytes.prefix',
    field: scalarField('bytes', { bytes: { prefix: base64(1) } }),
    valid: bytes(1, 2),
    invalid: bytes(2, 1),
    rule: 'bytes.prefix',
  },
  {
    title: 'bytes.suffix',
    field: scalarField('bytes', { bytes: { suffix: base64(9) } }),
    valid: bytes(1, 9),
    invalid: bytes(9, 1),
    rule: 'bytes.suffix',
  },
  {
    title: 'bytes.contains',
    field: scalarField('bytes', { bytes: { contains: base64(5, 6) } }),
    valid: bytes(4, 5, 6, 7),
    invalid: bytes(5, 7, 6),
    rule: 'bytes.contains',
  },
  {
    title: 'bytes.in',
    field: scalarField('bytes', { bytes: { in: [base64(1), base64(2)] } }),
    valid: bytes(2),
    invalid: bytes(3),
    rule: 'bytes.in',
  },
  {
    title: 'bytes.not_in',
    field: scalarField('bytes', { bytes: { not_in: [base64(0)] } }),
    valid: bytes(1),
    invalid: bytes(0),
    rule: 'bytes.not_in',
  },
  {
    title: 'bytes.ip',
    field: scalarField('bytes', { bytes: { ip: true } }),
    valid: bytes(10, 0, 0, 1),
    invalid: bytes(10, 0, 0, 0, 1),
    rule: 'bytes.ip',
  },
  {
    title: 'bytes.ipv4',
    field: scalarField('bytes', { bytes: { ipv4: true } }),
    valid: bytes(10, 0, 0, 1),
    invalid: new Uint8Array(16),
    rule: 'bytes.ipv4',
  },
  {
    title: 'bytes.ipv6',
    field: scalarField('bytes', { bytes: { ipv6: true } }),
    valid: new Uint8Array(16),
    invalid: bytes(10, 0, 0, 1),
    rule: 'bytes.ipv6',
  },
  {
    title: 'bytes.ignore_empty',
    field: scalarField('bytes', { bytes: { min_len: 2, ignore_empty: true } }),
    valid: bytes(),
    invalid: bytes(1),
    rule: 'bytes.min_len',
  },

  // numbers
  {
    title: 'int32.const',
    field: scalarField('int32', { int32: { const: 7 } }),
    valid: 7,
    invalid: 8,
    rule: 'int32.const',
  },
  {
    title: 'int64.in',
    field: scalarField('int64', { int64: { in: [1, 2, 3] } }),
    valid: 2,
    invalid: 4,
    rule: 'int64.in',
  },
  {
    title: 'uint32.not_in',
    field: scalarField('uint32', { uint32: { not_in: [0] } }),
    valid: 1,
    invalid: 0,
    rule: 'uint32.not_in',
  },
  {
    title: 'sint32 range (gt, lt)',
    field: scalarField('sint32', { sint32: { gt: 0, lt: 10 } }),
    valid: 5,
    invalid: 10,
    rule: 'sint32.lt',
  },
  {
    title: 'sint64 exclusive range {lt: 0, gt: 10}',
    field: scalarField('sint64', { sint64: { lt: 0, gt: 10 } }),
    valid: 11,
    invalid: 5,
    rule: 'sint64.gt+lt',
  },
  {
    title: 'fixed32.gte',
    field: scalarField('fixed32', { fixed32: { gte: 1 } }),
    valid: 1,
    invalid: 0,
    rule: 'fixed32.gte',
  },
  {
    title: 'sfixed64.lte',
    field: scalarField('sfixed64', { sfixed64: { lte: -1 } }),
    valid: -1,
    invalid: 0,
    rule: 'sfixed64.lte',
  },
  {
    title: 'float.gt',
    field: scalarField('float', { float: { gt: 0.5 } }),
    valid: 0.75,
    invalid: 0.5,
    rule: 'float.gt',
  },
  {
    title: 'double.lt',
    field: scalarField('double', { double: { lt: 1 } }),
    valid: 0.99,
    invalid: 1,
    rule: 'double.lt',
  },
  {
    title: 'uint32.ignore_empty',
    field: scalarField('uint32', { uint32: { gte: 10, ignore_empty: true } }),
    valid: 0,
    invalid: 5,
    rule: 'uint32.gte',
  },

  // enum
  {
    title: 'enum.const',
    field: { ...FIELD, enum: 'test.Color', rules: { enum: { const: 2 } } },
    valid: 2,
    invalid: 1,
    rule: 'enum.const',
  },
  {
    title: 'enum.in',
    field: { ...FIELD, enum: 'test.Color', rules: { enum: { in: [1, 2] } } },
    valid: 1,
    invalid: 0,
    rule: 'enum.in',
  },
  {
    title: 'enum.defined_only on an unset enum (0)',
    field: { ...FIELD, enum: 'test.Color', rules: { enum: { defined_only: true } } },
    valid: undefined,
    invalid: 3,
    rule: 'enum.defined_only',
  },

  // repeated
  {
    title: 'repeated.unique (numbers)',
    field: scalarField('uint32', { repeated: { unique: true } }, { repeated: true }),
    valid: [1, 2],
    invalid: [1, 1],
    rule: 'repeated.unique',
  },
  {
    title: 'repeated.ignore_empty',
    field: scalarField(
      'string',
      { repeated: { min_items: 2, ignore_empty: true } },
      { repeated: true },
    ),
    valid: [],
    invalid: ['a'],
    rule: 'repeated.min_items',
  },
  {
    title: 'repeated messages are validated',
    field: messageField('test.Child', undefined, { repeated: true }),
    valid: [{ id: 'a' }],
    invalid: [{ id: 'a' }, { id: '' }],
    rule: 'string.min_len',
    path: 'test_value[1].id',
  },
  {
    title: 'repeated.items.message.required',
    field: messageField(
      'test.Child',
      { repeated: { items: { message: { required: true } } } },
      { repeated: true },
    ),
    valid: [{ id: 'a' }],
    invalid: [null],
    rule: 'repeated.items.message.required',
    path: 'test_value[0]',
  },

  // map
  {
    title: 'map.max_pairs',
    field: scalarField('string', { map: { max_pairs: 1 } }, { mapKey: 'string' }),
    valid: { a: 'x' },
    invalid: { a: 'x', b: 'y' },
    rule: 'map.max_pairs',
  },
  {
    title: 'map.values',
    field: scalarField(
      'string',
      { map: { values: { string: { min_len: 1 } } } },
      { mapKey: 'string' },
    ),
    valid: { a: 'x' },
    invalid: { a: '' },
    rule: 'map.values.string.min_len',
    path: 'test_value["a"]',
  },
  {
    title: 'map.keys (int32 keys)',
    field: scalarField('string', { map: { keys: { int32: { gt: 0 } } } }, { mapKey: 'int32' }),
    valid: { 1: 'x' },
    invalid: { 0: 'x' },
    rule: 'map.keys.int32.gt',
    path: 'test_value[0]',
  },
  {
    title: 'map.no_sparse',
    field: messageField('test.Child', { map: { no_sparse: true } }, { mapKey: 'string' }),
    valid: { a: { id: 'x' } },
    invalid: { a: undefined },
    rule: 'map.no_sparse',
    path: 'test_value["a"]',
  },
  {
    title: 'map message values are validated',
    field: messageField('test.Child', undefined, { mapKey: 'string' }),
    valid: { a: { id: 'x' } },
    invalid: { a: { id: '' } },
    rule: 'string.min_len',
    path: 'test_value["a"].id',
  },
  {
    title: 'map.ignore_empty',
    field: scalarField(
      'string',
      { map: { min_pairs: 2, ignore_empty: true } },
      { mapKey: 'string' },
    ),
    valid: {},
    invalid: { a: 'x' },
    rule: 'map.min_pairs',
  },

  // messages
  {
    title: 'message.required',
    field: messageField('test.Child', { message: { required: true } }),
    valid: { id: 'a' },
    invalid: undefined,
    rule: 'message.required',
  },

  // Any
  {
    title: 'any.in',
    field: messageField('google.protobuf.Any', { any: { in: [CHILD_URL] } }),
    valid: childAny({ id: 'a' }),
    invalid: { typeUrl: 'type.googleapis.com/test.Other' },
    rule: 'any.in',
  },
  {
    title: 'any.not_in',
    field: messageField('google.protobuf.Any', {
      any: { not_in: ['type.googleapis.com/test.Other'] },
    }),
    valid: childAny({ id: 'a' }),
    invalid: { typeUrl: 'type.googleapis.com/test.Other' },
    rule: 'any.not_in',
  },
  {
    title: 'Any contents are validated',
    field: messageField('google.protobuf.Any'),
    valid: childAny({ id: 'a' }),
    invalid: childAny({ id: '' }),
    rule: 'string.min_len',
    path: 'test_value.id',
  },
  {
    title: 'Any contents that cannot be decoded',
    field: messageField('google.protobuf.Any'),
    valid: { typeUrl: 'type.googleapis.com/test.Unknown', value: utf8('?') },
    invalid: { typeUrl: CHILD_URL, value: utf8('{') },
    rule: 'any.decode',
  },

  // Duration
  {
    title: 'duration.const',
    field: messageField('google.protobuf.Duration', { duration: { const: time(1) } }),
    valid: time(1),
    invalid: time(1, 1),
    rule: 'duration.const',
  },
  {
    title: 'duration.in',
    field: messageField('google.protobuf.Duration', { duration: { in: [time(1), time(2)] } }),
    valid: time(2),
    invalid: time(3),
    rule: 'duration.in',
  },
  {
    title: 'duration.not_in',
    field: messageField('google.protobuf.Duration', { duration: { not_in: [time(0)] } }),
    valid: time(0, 1),
    invalid: {},
    rule: 'duration.not_in',
  },
  {
    title: 'duration.lte',
    field: messageField('google.protobuf.Duration', { duration: { lte: time(1) } }),
    valid: time(1),
    invalid: time(1, 1),
    rule: 'duration.lte',
  },
  {
    title: 'duration range [1s, 2s)',
    field: messageField('google.protobuf.Duration', { duration: { gte: time(1), lt: time(2) } }),
    valid: time(1, 999_999_999),
    invalid: time(0, 999_999_999),
    rule: 'duration.gte',
  },
  {
    title: 'an invalid Duration',
    field: messageField('google.protobuf.Duration', { duration: { gt: time(0) } }),
    valid: time(1, 5),
    invalid: time(1, -5),
    rule: 'duration.valid',
  },

  // Timestamp
  {
    title: 'timestamp.required',
    field: messageField('google.protobuf.Timestamp', { timestamp: { required: true } }),
    valid: time(0),
    invalid: undefined,
    rule: 'timestamp.required',
  },
  {
    title: 'timestamp.const',
    field: messageField('google.protobuf.Timestamp', { timestamp: { const: time(1_700_000_000) } }),
    valid: time(1_700_000_000),
    invalid: time(1_700_000_001),
    rule: 'timestamp.const',
  },
  {
    title: 'timestamp.lt',
    field: messageField('google.protobuf.Timestamp', { timestamp: { lt: time(1_700_000_000) } }),
    valid: time(1_699_999_999, 999),
    invalid: time(1_700_000_000),
    rule: 'timestamp.lt',
  },
  {
    title: 'timestamp.gte',
    field: messageField('google.protobuf.Timestamp', { timestamp: { gte: time(1_700_000_000) } }),
    valid: time(1_700_000_000),
    invalid: time(1_699_999_999),
    rule: 'timestamp.gte',
  },
  {
    title: 'timestamp.lt_now',
    field: messageField('google.protobuf.Timestamp', { timestamp: { lt_now: true } }),
    valid: time(nowSeconds() - 60),
    invalid: time(nowSeconds() + 3600),
    rule: 'timestamp.lt_now',
  },
  {
    title: 'timestamp.gt_now',
    field: messageField('google.protobuf.Timestamp', { timestamp: { gt_now: true } }),
    valid: time(nowSeconds() + 3600),
    invalid: time(nowSeconds() - 60),
    rule: 'timestamp.gt_now',
  },
  {
    title: 'timestamp.within',
    field: messageField('google.protobuf.Timestamp', { timestamp: { within: time(60) } }),
    valid: time(nowSeconds() - 30),
    invalid: time(nowSeconds() - 3600),
    rule: 'timestamp.within',
  },
];

describe('ResourceValidator rule kinds', () => {
  it.each(cases)('$title', ({ field, valid, invalid, rule, path }) => {
    expect(validateValue(field, valid)).toEqual([]);
    expect(validateValue(field, invalid)).toEqual([
      { path: path ?? FIELD.name, rule, message: expect.any(String) },
    ]);
  });

  it('descends into a message field unless message.skip says not to', () => {
    const child = { id: '' };

    expect(validateValue(messageField('test.Child'), child)).toEqual([
      { path: 'test_value.id', rule: 'string.min_len', message: expect.any(String) },
    ]);
    expect(validateValue(messageField('test.Child', { message: { skip: true } }), child)).toEqual(
      [],
    );
    expect(validateValue(messageField('test.Disabled'), child)).toEqual([]);
  });

  it('checks a required oneof', () => {
    const validator = new ResourceValidator({
      messages: {
        'test.Sample': { oneofs: [{ name: 'choice', key: 'choice', required: true }], fields: [] },
      },
      enums: {},
    });

    expect(validator.validate('test.Sample', { choice: { $case: 'a', value: 1 } })).toEqual([]);
    expect(validator.validate('test.Sample', {})).toEqual([
      { path: 'choice', rule: 'oneof.required', message: 'one of the choice fields must be set' },
    ]);
  });

  it('leaves Any contents alone without a decoder', () => {
    const validator = new ResourceValidator({
      messages: {
        'test.Sample': { fields: [messageField('google.protobuf.Any')] },
        'test.Child': {
          fields: [{ name: 'id', key: 'id', scalar: 'string', rules: { string: { min_len: 1 } } }],
        },
      },
      enums: {},
    });

    expect(validator.validate('test.Sample', { testValue: childAny({ id: '' }) })).toEqual([]);
  });
});
