// @ts-check
// buf plugin (see proto/buf.gen.yaml) run next to protoc-gen-ts_proto on the same descriptors.
// It writes two files into libs/envoy-api/generated/:
//
// - validate-rules.json: per generated message with something to check, the fields to look at
//   (fields with protoc-gen-validate `(validate.rules)`, and message fields to recurse into), the
//   `(validate.required)` oneofs and `(validate.disabled)` flag, plus the values of enums that
//   `defined_only` rules refer to. libs/xds/src/validation compiles checks from it at start-up,
//   so the running server needs neither buf nor the .proto files.
// - register-all.ts: imports every generated module, so ts-proto's messageTypeRegistry knows
//   every type an Any may carry.
//
// Rules are extracted here rather than from ts-proto output because ts-proto drops custom
// options; @bufbuild/protobuf (ts-proto's own runtime) decodes them from the request.
import { readFileSync } from 'node:fs';
import {
  create,
  createFileRegistry,
  fromBinary,
  getOption,
  hasOption,
  toBinary,
  toJson,
} from '@bufbuild/protobuf';
import {
  CodeGeneratorRequestSchema,
  CodeGeneratorResponseSchema,
  CodeGeneratorResponse_Feature,
  FeatureSet_FieldPresence,
  FileDescriptorSetSchema,
} from '@bufbuild/protobuf/wkt';

/**
 * Packages that only describe the protos (the annotation schema itself); ts-proto excludes them
 * (exclude_types in proto/buf.gen.yaml), and so does this plugin.
 */
const ANNOTATION_PACKAGES = new Set([
  'validate',
  'udpa.annotations',
  'xds.annotations.v3',
  'envoy.annotations',
]);

/** Rule fields whose proto type is (u)int64, which proto3 JSON renders as strings. */
const LENGTH_RULES = new Set([
  'len',
  'min_len',
  'max_len',
  'len_bytes',
  'min_bytes',
  'max_bytes',
  'min_items',
  'max_items',
  'min_pairs',
  'max_pairs',
]);
const INT64_KINDS = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const BOUNDS = new Set(['const', 'lt', 'lte', 'gt', 'gte', 'within']);

const request = fromBinary(CodeGeneratorRequestSchema, readFileSync(0));
const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: request.protoFile }));
const rulesOption = mustGetExtension('validate.rules');
const fieldRulesSchema = rulesOption.message ?? fail('validate.rules is not a message option');
// buf's type filter drops extensions no kept descriptor uses, so these two may be absent.
const requiredOneofOption = registry.getExtension('validate.required');
const disabledMessageOption = registry.getExtension('validate.disabled');

/** @type {Map<string, object>} */
const messages = new Map();
/** @type {Map<string, number[]>} */
const definedOnlyEnums = new Map();

// The messages ts-proto generates: everything outside the annotation packages and the
// well-known types, plus the well-known types those reference (validate.proto alone pulls in
// descriptor.proto and timestamp.proto, which ts-proto therefore does not generate).
const dataMessages = new Map();
for (const fileName of request.fileToGenerate) {
  const file = registry.getFile(fileName);
  if (!file) throw new Error(`${fileName} is not in the request`);
  const skip =
    ANNOTATION_PACKAGES.has(file.proto.package) || file.proto.package === 'google.protobuf';
  if (!skip) for (const message of file.messages) addWithReferences(message);
}
const byTypeName = [...dataMessages.values()].sort((a, b) => (a.typeName < b.typeName ? -1 : 1));
for (const message of byTypeName) collectMessage(message);
const modules = [...new Set([...dataMessages.values()].map((message) => message.file.name))].sort();

const response = create(CodeGeneratorResponseSchema, {
  supportedFeatures: BigInt(CodeGeneratorResponse_Feature.PROTO3_OPTIONAL),
  file: [
    { name: 'validate-rules.json', content: rulesFile() },
    { name: 'register-all.ts', content: registerAllFile() },
  ],
});
process.stdout.write(toBinary(CodeGeneratorResponseSchema, response));

/** @param {string} typeName */
function mustGetExtension(typeName) {
  return registry.getExtension(typeName) ?? fail(`${typeName} is not declared in the request`);
}

/**
 * @param {string} message
 * @returns {never}
 */
function fail(message) {
  throw new Error(message);
}

/**
 * Adds a message, its nested messages and the message types its fields use to dataMessages.
 * @param {import('@bufbuild/protobuf').DescMessage} message
 */
function addWithReferences(message) {
  if (dataMessages.has(message.typeName) || message.proto.options?.mapEntry) return;
  dataMessages.set(message.typeName, message);
  for (const nested of message.nestedMessages) addWithReferences(nested);
  for (const field of message.fields) if (field.message) addWithReferences(field.message);
}

/** @param {import('@bufbuild/protobuf').DescMessage} message */
function collectMessage(message) {
  const fields = [];
  for (const field of message.fields) {
    const rules = hasOption(field, rulesOption) ? fieldRules(field) : undefined;
    const value = valueType(field);
    // Scalars and enums without rules need no checks; message fields may hold rules further down.
    if (!rules && !value.message) continue;
    if (rules) noteDefinedOnlyEnums(field, rules);
    fields.push({
      name: field.name,
      key: tsProtoPropertyName(field.name),
      ...(field.oneof ? { oneof: tsProtoPropertyName(field.oneof.name) } : {}),
      ...(field.fieldKind === 'list' ? { repeated: true } : {}),
      ...(field.fieldKind === 'map' ? { mapKey: scalarName(field.mapKey) } : {}),
      ...value,
      ...(hasExplicitPresence(field) ? { presence: true } : {}),
      ...(rules ? { rules } : {}),
    });
  }
  const oneofs = message.oneofs
    .filter((oneof) => requiredOneofOption && getBoolOption(oneof, requiredOneofOption))
    .map((oneof) => ({ name: oneof.name, key: tsProtoPropertyName(oneof.name), required: true }));
  const disabled = disabledMessageOption && getBoolOption(message, disabledMessageOption);
  if (fields.length === 0 && oneofs.length === 0 && !disabled) return;
  messages.set(message.typeName, {
    ...(disabled ? { disabled: true } : {}),
    ...(oneofs.length > 0 ? { oneofs } : {}),
    fields,
  });
}

/**
 * The field's `(validate.rules)` as proto3 JSON with proto field names, normalized.
 * @param {import('@bufbuild/protobuf').DescField} field
 */
function fieldRules(field) {
  const rules = /** @type {import('@bufbuild/protobuf').Message} */ (getOption(field, rulesOption));
  return normalizeFieldRules(toJson(fieldRulesSchema, rules, { useProtoFieldName: true }));
}

/**
 * @param {any} element a descriptor
 * @param {import('@bufbuild/protobuf').DescExtension} option a bool option
 */
function getBoolOption(element, option) {
  return hasOption(element, option) && getOption(element, option) === true;
}

/**
 * The element type of a field: `{scalar}`, `{enum}` or `{message}` (for maps, the value type).
 * @param {import('@bufbuild/protobuf').DescField} field
 */
function valueType(field) {
  switch (field.fieldKind) {
    case 'scalar':
      return { scalar: scalarName(field.scalar) };
    case 'enum':
      return { enum: field.enum.typeName };
    case 'message':
      return { message: field.message.typeName };
    case 'list':
      if (field.listKind === 'scalar') return { scalar: scalarName(field.scalar) };
      if (field.listKind === 'enum') return { enum: field.enum.typeName };
      return { message: field.message.typeName };
    case 'map':
      if (field.mapKind === 'scalar') return { scalar: scalarName(field.scalar) };
      if (field.mapKind === 'enum') return { enum: field.enum.typeName };
      return { message: field.message.typeName };
  }
}

/**
 * proto3 `optional` and proto2 `optional` scalars: unset (undefined) is distinct from the default,
 * and rules only apply when set.
 * @param {import('@bufbuild/protobuf').DescField} field
 */
function hasExplicitPresence(field) {
  return (
    (field.fieldKind === 'scalar' || field.fieldKind === 'enum') &&
    field.presence === FeatureSet_FieldPresence.EXPLICIT
  );
}

/**
 * ts-proto's property name for a field or oneof (its `snakeToCamel` for keys, the default), so the
 * validator reads the same keys the generated interfaces declare.
 * @param {string} name
 */
function tsProtoPropertyName(name) {
  if (!name.includes('_')) return name;
  const hasLowerCase = /[a-z]/.test(name);
  return name
    .split('_')
    .map((word, i) => {
      const w = hasLowerCase ? word : word.toLowerCase();
      return i === 0 ? w : w.charAt(0).toUpperCase() + w.slice(1);
    })
    .join('');
}

/** @param {number} scalar a ScalarType */
function scalarName(scalar) {
  // Numbering of FieldDescriptorProto.Type, which ScalarType reuses.
  const names = {
    1: 'double',
    2: 'float',
    3: 'int64',
    4: 'uint64',
    5: 'int32',
    6: 'fixed64',
    7: 'fixed32',
    8: 'bool',
    9: 'string',
    12: 'bytes',
    13: 'uint32',
    15: 'sfixed32',
    16: 'sfixed64',
    17: 'sint32',
    18: 'sint64',
  };
  const name = names[/** @type {keyof typeof names} */ (scalar)];
  if (!name) throw new Error(`unknown scalar type ${scalar}`);
  return name;
}

/**
 * proto3 JSON of validate.FieldRules, made easy to evaluate: 64-bit numbers as numbers (every
 * bound in Envoy's rules is far below 2^53), durations and timestamps as {seconds, nanos}.
 * @param {any} json
 */
function normalizeFieldRules(json) {
  /** @type {Record<string, unknown>} */
  const out = {};
  for (const [kind, rules] of Object.entries(json)) {
    out[kind] = normalizeKindRules(kind, rules);
  }
  return out;
}

/**
 * @param {string} kind
 * @param {any} rules
 */
function normalizeKindRules(kind, rules) {
  /** @type {Record<string, unknown>} */
  const out = {};
  for (const [name, value] of Object.entries(rules)) {
    if (
      (kind === 'repeated' && name === 'items') ||
      (kind === 'map' && (name === 'keys' || name === 'values'))
    ) {
      out[name] = normalizeFieldRules(value);
    } else if (LENGTH_RULES.has(name)) {
      out[name] = Number(value);
    } else if (INT64_KINDS.has(kind) && (BOUNDS.has(name) || name === 'in' || name === 'not_in')) {
      out[name] = Array.isArray(value) ? value.map(Number) : Number(value);
    } else if (
      (kind === 'duration' || kind === 'timestamp') &&
      (BOUNDS.has(name) || name === 'in' || name === 'not_in')
    ) {
      // TimestampRules.within is a Duration; every other bound has the field's own type.
      const parse = kind === 'duration' || name === 'within' ? parseDuration : parseTimestamp;
      out[name] = Array.isArray(value) ? value.map(parse) : parse(value);
    } else {
      out[name] = value;
    }
  }
  return out;
}

/** @param {string} text proto3 JSON duration, e.g. "-1.5s" */
function parseDuration(text) {
  const match = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(text);
  if (!match) throw new Error(`bad duration ${text}`);
  const sign = match[1] ? -1 : 1;
  const seconds = Number(match[2]);
  const nanos = Number((match[3] ?? '').padEnd(9, '0'));
  return { seconds: sign * seconds, nanos: sign * nanos };
}

/** @param {string} text proto3 JSON timestamp (RFC 3339, UTC) */
function parseTimestamp(text) {
  const match = /^(.*?)(?:\.(\d{1,9}))?Z$/.exec(text);
  if (!match) throw new Error(`bad timestamp ${text}`);
  const millis = Date.parse(`${match[1]}Z`);
  if (Number.isNaN(millis)) throw new Error(`bad timestamp ${text}`);
  return { seconds: millis / 1000, nanos: Number((match[2] ?? '').padEnd(9, '0')) };
}

/**
 * @param {import('@bufbuild/protobuf').DescField} field
 * @param {any} rules
 */
function noteDefinedOnlyEnums(field, rules) {
  const enumRules = rules.enum ?? rules.repeated?.items?.enum ?? rules.map?.values?.enum;
  if (!enumRules?.defined_only || !field.enum) return;
  definedOnlyEnums.set(
    field.enum.typeName,
    field.enum.values.map((v) => v.number),
  );
}

/** One message per line-block and one field per line, so regenerations diff readably. */
function rulesFile() {
  const messageBlocks = [...messages.keys()].sort().map((name) => {
    const { fields, ...rest } = /** @type {{fields: object[]}} */ (messages.get(name));
    const head = Object.entries(rest).map(
      ([key, value]) => `${JSON.stringify(key)}: ${JSON.stringify(value)}, `,
    );
    const fieldLines = fields.map((field) => `  ${JSON.stringify(field)}`);
    return `${JSON.stringify(name)}: {${head.join('')}"fields": [\n${fieldLines.join(',\n')}\n]}`;
  });
  const enumLines = [...definedOnlyEnums.keys()]
    .sort()
    .map((name) => `${JSON.stringify(name)}: ${JSON.stringify(definedOnlyEnums.get(name))}`);
  return `{\n"messages": {\n${messageBlocks.join(',\n')}\n},\n"enums": {\n${enumLines.join(',\n')}\n}\n}\n`;
}

function registerAllFile() {
  return [
    '// Code generated by scripts/generate-envoy-api.plugin.mjs. DO NOT EDIT.',
    '// Importing this module loads every generated message module, which registers each message in',
    "// typeRegistry's messageTypeRegistry (used to decode google.protobuf.Any by type URL).",
    '',
    ...modules.map((module) => `import "./${module}";`),
    '',
  ].join('\n');
}
