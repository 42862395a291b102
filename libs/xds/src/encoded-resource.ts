import { createHash } from 'node:crypto';
import { messageTypeRegistry } from '../../envoy-api/generated/typeRegistry';
import '../../envoy-api/generated/register-all';
import { typeNameOf } from '../../envoy-api/src/any';
import { withWritten } from '../../envoy-api/src/encode';
import type { TypeUrl, XdsResource } from '../../xds-types/src/resource-types';
import {
  validateResource,
  type ValidationFailure,
} from '../../envoy-api/src/validation/validate-resource';

/**
 * A resource encoded once for every stream that gets it: the Any that SotW responses repeat,
 * the delta `Resource` wrapper, and a content-hash version.
 */
export interface EncodedResource {
  typeUrl: TypeUrl;
  name: string;
  /** Content hash of the encoded message: equal on every replica and after restarts. */
  version: string;
  /** google.protobuf.Any { type_url, value }. */
  any: Uint8Array;
  /** envoy.service.discovery.v3.Resource { name, version, resource }. */
  deltaResource: Uint8Array;
  /** Envoy's protoc-gen-validate rules this resource breaks; a resource with any is never sent. */
  failures: readonly ValidationFailure[];
}

/** How many resources the content cache of a `ResourceEncoder` keeps by default. */
export const DEFAULT_CONTENT_CACHE_SIZE = 50_000;

/**
 * Encodes, hashes and validates resources, once per message object: a source that reuses
 * one message object for many proxies pays for it once. Entries go away with their messages.
 *
 * A source that builds new message objects on every load (the translating one) still pays
 * only for encoding and hashing: a second cache, keyed by type, name and the hash of the
 * encoded message, hands back the resource already validated and wrapped. Equal bytes mean
 * an equal message (the validator applies proto3 defaults, as encoding does), so the
 * version and the validation failures are the same. That cache keeps the most recently
 * used `contentCacheSize` resources.
 */
export class ResourceEncoder {
  private readonly cache = new WeakMap<object, EncodedResource>();
  /** `${typeUrl}\0${name}\0${sha256 of the message}` → resource, least recently used first. */
  private readonly byContent = new Map<string, EncodedResource>();
  /** Bytes produced by encoding, for the "encoded vs sent" metric. */
  bytesEncoded = 0;

  constructor(private readonly contentCacheSize = DEFAULT_CONTENT_CACHE_SIZE) {}

  encode(resource: XdsResource): EncodedResource {
    const cached = this.cache.get(resource.message);
    if (cached && cached.name === resource.name && cached.typeUrl === resource.typeUrl)
      return cached;
    const typeName = typeNameOf(resource.typeUrl);
    const type = messageTypeRegistry.get(typeName);
    if (!type) throw new Error(`no generated message type for ${resource.typeUrl}`);
    const encoded = withWritten(
      (writer) => type.encode(resource.message, writer),
      (value) => this.encoded(resource, typeName, value),
    );
    this.cache.set(resource.message, encoded);
    return encoded;
  }

  /** The resource whose message encodes to `value` (a view that is not kept), from the cache when known. */
  private encoded(resource: XdsResource, typeName: string, value: Uint8Array): EncodedResource {
    this.bytesEncoded += value.length;
    const hash = createHash('sha256').update(value).digest('base64url');
    const key = `${resource.typeUrl}\u0000${resource.name}\u0000${hash}`;
    const known = this.byContent.get(key);
    if (known) {
      // Most recently used last.
      this.byContent.delete(key);
      this.byContent.set(key, known);
      return known;
    }
    const version = hash.slice(0, 22);
    const { any, deltaResource } = wrap(resource, version, value);
    const encoded: EncodedResource = {
      typeUrl: resource.typeUrl,
      name: resource.name,
      version,
      any,
      deltaResource,
      failures: validateResource(typeName, resource.message),
    };
    if (this.contentCacheSize > 0) {
      this.byContent.set(key, encoded);
      if (this.byContent.size > this.contentCacheSize) {
        // Least recently used first.
        for (const oldest of this.byContent.keys()) {
          this.byContent.delete(oldest);
          break;
        }
      }
    }
    return encoded;
  }
}

/**
 * The Any holding `value` and the delta `Resource` holding that Any, in one allocation: the Any
 * is the end of the `Resource` (its last field), so it is a view of the same bytes.
 */
function wrap(
  resource: XdsResource,
  version: string,
  value: Uint8Array,
): Pick<EncodedResource, 'any' | 'deltaResource'> {
  const typeUrl = Buffer.from(resource.typeUrl);
  const name = Buffer.from(resource.name);
  const anyLength = field(typeUrl.length) + field(value.length);
  const length = field(name.length) + field(version.length) + field(anyLength);
  const bytes = Buffer.allocUnsafe(length);
  let at = 0;
  const put = (tag: number, content: Uint8Array | string, contentLength: number) => {
    bytes[at++] = tag;
    at = varint(bytes, at, contentLength);
    if (typeof content === 'string') at += bytes.write(content, at, 'latin1');
    else {
      bytes.set(content, at);
      at += content.length;
    }
  };
  put(26, name, name.length); // Resource.name = 3
  put(10, version, version.length); // Resource.version = 1 (base64url: one byte per character)
  bytes[at++] = 18; // Resource.resource = 2
  at = varint(bytes, at, anyLength);
  const anyStart = at;
  put(10, typeUrl, typeUrl.length); // Any.type_url = 1
  put(18, value, value.length); // Any.value = 2
  return { any: bytes.subarray(anyStart), deltaResource: bytes };
}

/** Bytes of a length-delimited field with a one-byte tag and `length` bytes of content. */
function field(length: number): number {
  return 1 + varintSize(length) + length;
}

function varintSize(value: number): number {
  let size = 1;
  while (value > 0x7f) {
    value >>>= 7;
    size++;
  }
  return size;
}

function varint(bytes: Uint8Array, at: number, value: number): number {
  while (value > 0x7f) {
    bytes[at++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  bytes[at++] = value;
  return at;
}

/** A version for a set of resources: the hash of their names and versions, order-independent. */
export function setVersion(resources: Iterable<{ name: string; version: string }>): string {
  const entries = [...resources].map((r) => `${r.name}\u0000${r.version}`).sort();
  return createHash('sha256').update(entries.join('\u0001')).digest('base64url').slice(0, 22);
}
