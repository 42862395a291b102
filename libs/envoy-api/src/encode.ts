import { BinaryWriter } from '@bufbuild/protobuf/wire';

/**
 * One writer for every encode (encoding is synchronous and never nested here): its buffer keeps
 * the largest size needed so far, where a fresh writer per message grows from 128 bytes by
 * doubling and copying. `finish()` copies the bytes out and resets it.
 */
const WRITER = new BinaryWriter();

/** `type.encode(message).finish()`, without a new writer per message. */
export function encodeMessage<M>(
  type: { encode(message: M, writer: BinaryWriter): BinaryWriter },
  message: M,
): Uint8Array {
  return write((writer) => type.encode(message, writer));
}

/** The bytes `build` writes, on the shared writer. */
export function write(build: (writer: BinaryWriter) => BinaryWriter): Uint8Array {
  try {
    return build(WRITER).finish();
  } catch (error) {
    WRITER.finish(); // drop what was written before the failure
    throw error;
  }
}
