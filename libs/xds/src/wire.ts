import { BinaryWriter } from '@bufbuild/protobuf/wire';

/**
 * DiscoveryResponse and DeltaDiscoveryResponse assembled from pre-encoded resources: the
 * per-stream cost is copying bytes, never encoding Envoy messages again. Field numbers are
 * those of envoy/service/discovery/v3/discovery.proto.
 */
export function discoveryResponse(
  versionInfo: string,
  typeUrl: string,
  nonce: string,
  anys: readonly Uint8Array[],
): Buffer {
  const writer = new BinaryWriter().uint32(10).string(versionInfo); // version_info = 1
  for (const any of anys) writer.uint32(18).bytes(any); // resources = 2
  writer.uint32(34).string(typeUrl); // type_url = 4
  writer.uint32(42).string(nonce); // nonce = 5
  return Buffer.from(writer.finish());
}

export function deltaDiscoveryResponse(
  systemVersionInfo: string,
  typeUrl: string,
  nonce: string,
  resources: readonly Uint8Array[],
  removedResources: readonly string[],
): Buffer {
  const writer = new BinaryWriter().uint32(10).string(systemVersionInfo); // system_version_info = 1
  for (const resource of resources) writer.uint32(18).bytes(resource); // resources = 2
  writer.uint32(34).string(typeUrl); // type_url = 4
  writer.uint32(42).string(nonce); // nonce = 5
  for (const name of removedResources) writer.uint32(50).string(name); // removed_resources = 6
  return Buffer.from(writer.finish());
}
