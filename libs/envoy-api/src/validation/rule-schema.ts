/**
 * The shape of libs/envoy-api/generated/validate-rules.json, which
 * scripts/generate-envoy-api.plugin.mjs extracts from the protoc-gen-validate annotations of the
 * Envoy protos (https://github.com/bufbuild/protoc-gen-validate/blob/main/validate/validate.proto).
 * Rule names are the proto field names of validate.proto; 64-bit bounds are numbers and
 * Duration/Timestamp bounds are {seconds, nanos}.
 */
export interface RuleSchema {
  /** Messages with rules somewhere in or below them, by fully-qualified name. */
  messages: Record<string, MessageSchema>;
  /** Values of the enums that `defined_only` rules refer to. */
  enums: Record<string, number[]>;
}

export interface MessageSchema {
  /** `option (validate.disabled) = true`: no rule of this message or below it applies. */
  disabled?: boolean;
  /** Oneofs marked `(validate.required) = true`. */
  oneofs?: OneofSchema[];
  /** Fields with rules, and message fields (which may hold rules further down). */
  fields: FieldSchema[];
}

export interface OneofSchema {
  /** Proto name, used in failure paths. */
  name: string;
  /** ts-proto property holding the `{ $case, value }` union. */
  key: string;
  required: boolean;
}

export type ScalarName =
  | 'double'
  | 'float'
  | 'int32'
  | 'int64'
  | 'uint32'
  | 'uint64'
  | 'sint32'
  | 'sint64'
  | 'fixed32'
  | 'fixed64'
  | 'sfixed32'
  | 'sfixed64'
  | 'bool'
  | 'string'
  | 'bytes';

/** Element type of a field (the value type for maps): exactly one of the three is set. */
export interface ValueType {
  scalar?: ScalarName;
  /** Fully-qualified enum name. */
  enum?: string;
  /** Fully-qualified message name, including well-known types such as google.protobuf.Any. */
  message?: string;
}

export interface FieldSchema extends ValueType {
  /** Proto name, used in failure paths. */
  name: string;
  /** ts-proto property name (the `$case` value when the field is a oneof member). */
  key: string;
  /** ts-proto property of the oneof union this field is a member of. */
  oneof?: string;
  repeated?: boolean;
  /** Key type, for map fields. */
  mapKey?: ScalarName;
  /** proto3 `optional`: an unset (undefined) value is not checked. */
  presence?: boolean;
  rules?: FieldRules;
}

/** validate.FieldRules: `message` plus at most one type-specific group. */
export interface FieldRules {
  message?: MessageRules;
  float?: NumberRules;
  double?: NumberRules;
  int32?: NumberRules;
  int64?: NumberRules;
  uint32?: NumberRules;
  uint64?: NumberRules;
  sint32?: NumberRules;
  sint64?: NumberRules;
  fixed32?: NumberRules;
  fixed64?: NumberRules;
  sfixed32?: NumberRules;
  sfixed64?: NumberRules;
  bool?: BoolRules;
  string?: StringRules;
  bytes?: BytesRules;
  enum?: EnumRules;
  repeated?: RepeatedRules;
  map?: MapRules;
  any?: AnyRules;
  duration?: DurationRules;
  timestamp?: TimestampRules;
}

export interface RangeRules<T> {
  const?: T;
  lt?: T;
  lte?: T;
  gt?: T;
  gte?: T;
  in?: T[];
  not_in?: T[];
}

export interface NumberRules extends RangeRules<number> {
  ignore_empty?: boolean;
}

export interface BoolRules {
  const?: boolean;
}

export type KnownRegex = 'UNKNOWN' | 'HTTP_HEADER_NAME' | 'HTTP_HEADER_VALUE';

export interface StringRules {
  const?: string;
  len?: number;
  min_len?: number;
  max_len?: number;
  len_bytes?: number;
  min_bytes?: number;
  max_bytes?: number;
  pattern?: string;
  prefix?: string;
  suffix?: string;
  contains?: string;
  not_contains?: string;
  in?: string[];
  not_in?: string[];
  email?: boolean;
  hostname?: boolean;
  ip?: boolean;
  ipv4?: boolean;
  ipv6?: boolean;
  uri?: boolean;
  uri_ref?: boolean;
  address?: boolean;
  uuid?: boolean;
  well_known_regex?: KnownRegex;
  /** Defaults to true (RFC 7230 header syntax); false only rejects NUL, CR and LF. */
  strict?: boolean;
  ignore_empty?: boolean;
}

/** Byte values are base64, as in proto3 JSON. */
export interface BytesRules {
  const?: string;
  len?: number;
  min_len?: number;
  max_len?: number;
  pattern?: string;
  prefix?: string;
  suffix?: string;
  contains?: string;
  in?: string[];
  not_in?: string[];
  ip?: boolean;
  ipv4?: boolean;
  ipv6?: boolean;
  ignore_empty?: boolean;
}

export interface EnumRules {
  const?: number;
  defined_only?: boolean;
  in?: number[];
  not_in?: number[];
}

export interface MessageRules {
  skip?: boolean;
  required?: boolean;
}

export interface RepeatedRules {
  min_items?: number;
  max_items?: number;
  unique?: boolean;
  items?: FieldRules;
  ignore_empty?: boolean;
}

export interface MapRules {
  min_pairs?: number;
  max_pairs?: number;
  no_sparse?: boolean;
  keys?: FieldRules;
  values?: FieldRules;
  ignore_empty?: boolean;
}

export interface AnyRules {
  required?: boolean;
  in?: string[];
  not_in?: string[];
}

/** google.protobuf.Duration or Timestamp, as ts-proto represents them. */
export interface TimeValue {
  seconds: number;
  nanos: number;
}

export interface DurationRules extends RangeRules<TimeValue> {
  required?: boolean;
}

export interface TimestampRules {
  required?: boolean;
  const?: TimeValue;
  lt?: TimeValue;
  lte?: TimeValue;
  gt?: TimeValue;
  gte?: TimeValue;
  lt_now?: boolean;
  gt_now?: boolean;
  within?: TimeValue;
}
