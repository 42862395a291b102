import type { Any } from '../generated/google/protobuf/any';
import '../generated/register-all';
import { encodeMessage } from './encode';
import { messageTypeRegistry, type MessageType } from '../generated/typeRegistry';

/**
 * The prefix Envoy and go-control-plane put before a type name; Envoy only reads the part after
 * the last `/` (https://protobuf.dev/programming-guides/proto3/#any).
 */
export const TYPE_URL_PREFIX = 'type.googleapis.com/';

/** `type.googleapis.com/<full name>` of a generated message type, e.g. `typeUrl(Cluster)`. */
export function typeUrl(type: Pick<MessageType, '$type'>): string {
  return TYPE_URL_PREFIX + type.$type;
}

/** The fully-qualified message name a type URL refers to. */
export function typeNameOf(anyTypeUrl: string): string {
  return anyTypeUrl.slice(anyTypeUrl.lastIndexOf('/') + 1);
}

/**
 * Packs a message for a `typed_config` or a DiscoveryResponse resource:
 * `packAny(HttpConnectionManager, { statPrefix: 'ingress_http', ... })`.
 */
export function packAny<M>(type: MessageType<M>, message: M): Any {
  const value = encodeMessage(type, message);
  packed.set(value, { typeName: type.$type, message });
  return { typeUrl: typeUrl(type), value };
}

/**
 * The message each Any `packAny` made was encoded from, by its bytes: `decodeAny` hands it back
 * instead of decoding the bytes again (validating a resource reads every typed config in it).
 * Messages packed here are not changed afterwards; the entry goes away with the bytes.
 */
const packed = new WeakMap<Uint8Array, DecodedAny>();

/** Decodes an Any that must hold `type`; throws if its type URL names another message. */
export function unpackAny<M>(any: Any, type: MessageType<M>): M {
  const packed = typeNameOf(any.typeUrl ?? '');
  if (packed !== type.$type) {
    throw new Error(`Any holds ${packed || 'nothing'}, not ${type.$type}`);
  }
  return type.decode(any.value ?? new Uint8Array());
}

/** A message decoded from an Any, with the fully-qualified name of its type. */
export interface DecodedAny {
  typeName: string;
  message: unknown;
}

/**
 * Decodes an Any whose type is any message generated in libs/envoy-api; undefined when the type
 * URL names a type Trellis does not generate. Throws when the bytes are not a valid encoding.
 */
export function decodeAny(any: Any): DecodedAny | undefined {
  const typeName = typeNameOf(any.typeUrl ?? '');
  const known = any.value && packed.get(any.value);
  if (known && known.typeName === typeName) return known;
  const type = messageTypeRegistry.get(typeName);
  if (!type) return undefined;
  return { typeName, message: type.decode(any.value ?? new Uint8Array()) };
}
