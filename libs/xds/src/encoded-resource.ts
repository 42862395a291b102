import { createHash } from 'node:crypto';
import { messageTypeRegistry } from '../../envoy-api/generated/typeRegistry';
import '../../envoy-api/generated/register-all';
import { typeNameOf } from '../../envoy-api/src/any';
import { encodeMessage, write } from '../../envoy-api/src/encode';
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
    const value = encodeMessage(type, resource.message);
    this.bytesEncoded += value.length;
    const hash = createHash('sha256').update(value).digest('base64url');
    const key = `${resource.typeUrl}\u0000${resource.name}\u0000${hash}`;
    const known = this.byContent.get(key);
    if (known) {
      // Most recently used last.
      this.byContent.delete(key);
      this.byContent.set(key, known);
      this.cache.set(resource.message, known);
      return known;
    }
    const version = hash.slice(0, 22);
    const any = write((writer) =>
      writer.uint32(10).string(resource.typeUrl).uint32(18).bytes(value),
    );
    const deltaResource = write((writer) =>
      writer
        .uint32(26) // name = 3
        .string(resource.name)
        .uint32(10) // version = 1
        .string(version)
        .uint32(18) // resource = 2
        .bytes(any),
    );
    const encoded: EncodedResource = {
      typeUrl: resource.typeUrl,
      name: resource.name,
      version,
      any,
      deltaResource,
      failures: validateResource(typeName, resource.message),
    };
    this.cache.set(resource.message, encoded);
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

/** A version for a set of resources: the hash of their names and versions, order-independent. */
export function setVersion(resources: Iterable<{ name: string; version: string }>): string {
  const entries = [...resources].map((r) => `${r.name}\u0000${r.version}`).sort();
  return createHash('sha256').update(entries.join('\u0001')).digest('base64url').slice(0, 22);
}
