/**
 * DiscoveryResponse and DeltaDiscoveryResponse assembled from pre-encoded resources: the
 * per-stream cost is copying bytes, never encoding Envoy messages again. Field numbers are
 * those of envoy/service/discovery/v3/discovery.proto.
 *
 * The size of a response is known before writing it, so each is written into one buffer of
 * exactly that size. Fields are written in the order below, empty strings included; the
 * output is byte for byte what `BinaryWriter` produced for the same calls. (The generated
 * `encode` functions skip empty strings and write removed_resources before the nonce.)
 */
export function discoveryResponse(
  versionInfo: string,
  typeUrl: string,
  nonce: string,
  anys: readonly Uint8Array[],
): Buffer {
  const versionLength = Buffer.byteLength(versionInfo);
  const typeUrlLength = Buffer.byteLength(typeUrl);
  const nonceLength = Buffer.byteLength(nonce);
  let size = fieldSize(versionLength) + fieldSize(typeUrlLength) + fieldSize(nonceLength);
  for (const any of anys) size += fieldSize(any.length);

  const out = Buffer.allocUnsafe(size);
  let pos = writeString(out, 0, 10, versionInfo, versionLength); // version_info = 1
  for (const any of anys) pos = writeBytes(out, pos, 18, any); // resources = 2
  pos = writeString(out, pos, 34, typeUrl, typeUrlLength); // type_url = 4
  pos = writeString(out, pos, 42, nonce, nonceLength); // nonce = 5
  return checkSize(out, pos);
}

export function deltaDiscoveryResponse(
  systemVersionInfo: string,
  typeUrl: string,
  nonce: string,
  resources: readonly Uint8Array[],
  removedResources: readonly string[],
): Buffer {
  const versionLength = Buffer.byteLength(systemVersionInfo);
  const typeUrlLength = Buffer.byteLength(typeUrl);
  const nonceLength = Buffer.byteLength(nonce);
  let size = fieldSize(versionLength) + fieldSize(typeUrlLength) + fieldSize(nonceLength);
  for (const resource of resources) size += fieldSize(resource.length);
  const removedLengths: number[] = [];
  for (const name of removedResources) {
    const length = Buffer.byteLength(name);
    removedLengths.push(length);
    size += fieldSize(length);
  }

  const out = Buffer.allocUnsafe(size);
  let pos = writeString(out, 0, 10, systemVersionInfo, versionLength); // system_version_info = 1
  for (const resource of resources) pos = writeBytes(out, pos, 18, resource); // resources = 2
  pos = writeString(out, pos, 34, typeUrl, typeUrlLength); // type_url = 4
  pos = writeString(out, pos, 42, nonce, nonceLength); // nonce = 5
  removedResources.forEach((name, i) => {
    pos = writeString(out, pos, 50, name, removedLengths[i] ?? 0); // removed_resources = 6
  });
  return checkSize(out, pos);
}

/** Bytes of a length-delimited field with a one-byte tag (field numbers 1 to 15). */
function fieldSize(length: number): number {
  return 1 + varintSize(length) + length;
}

function varintSize(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  return 5;
}

function writeVarint(out: Buffer, pos: number, value: number): number {
  while (value > 0x7f) {
    out[pos++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  out[pos++] = value;
  return pos;
}

/** Writes a string field whose UTF-8 length (`Buffer.byteLength`) is `length`. */
function writeString(out: Buffer, pos: number, tag: number, value: string, length: number): number {
  out[pos++] = tag;
  pos = writeVarint(out, pos, length);
  // Lone surrogates become U+FFFD, as with TextEncoder; byteLength counts them the same way.
  return pos + out.write(value, pos, length, 'utf8');
}

function writeBytes(out: Buffer, pos: number, tag: number, value: Uint8Array): number {
  out[pos++] = tag;
  pos = writeVarint(out, pos, value.length);
  out.set(value, pos);
  return pos + value.length;
}

function checkSize(out: Buffer, written: number): Buffer {
  if (written !== out.length) {
    throw new Error(`discovery response: wrote ${written} bytes into ${out.length}`);
  }
  return out;
}
