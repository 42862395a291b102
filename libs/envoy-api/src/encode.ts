import { BinaryWriter } from '@bufbuild/protobuf/wire';

/**
 * The writer every encode shares (encoding is synchronous and never nested here): its buffer
 * keeps the largest size needed so far, where a fresh writer per message grows from 128 bytes by
 * doubling and copying.
 *
 * Its bytes come out through `Buffer.allocUnsafe`, which carves small results from a shared
 * slab, where `BinaryWriter.finish()` allocates a new ArrayBuffer for each (a profile of a
 * whole-mesh translation showed a quarter of the encoding time in those allocations). Reading
 * the written bytes needs the writer's `buffer` and `pos`, which @bufbuild/protobuf keeps
 * private: encode.spec.ts checks that they still mean what this file assumes.
 */
class SharedWriter extends BinaryWriter {
  /** The bytes written since the last reset: a view of the writer's buffer, valid until the next write. */
  written(): Uint8Array {
    const self = this as unknown as WriterInternals;
    return self.buffer.subarray(0, self.pos);
  }

  /** Forgets what was written, keeping the buffer. */
  reset(): void {
    const self = this as unknown as WriterInternals;
    self.pos = 0;
    self.stackPos.length = 0;
  }
}

/** The private state of @bufbuild/protobuf's BinaryWriter that SharedWriter reads. */
interface WriterInternals {
  buffer: Uint8Array;
  pos: number;
  stackPos: number[];
}

const WRITER = new SharedWriter();

/** `type.encode(message).finish()`, without a new writer per message. */
export function encodeMessage<M>(
  type: { encode(message: M, writer: BinaryWriter): BinaryWriter },
  message: M,
): Uint8Array {
  return write((writer) => type.encode(message, writer));
}

/** The bytes `build` writes, on the shared writer. */
export function write(build: (writer: BinaryWriter) => BinaryWriter): Uint8Array {
  return withWritten(build, copyOf);
}

/**
 * Runs `use` on the bytes `build` writes, as a view of the shared writer's buffer: `use` must
 * copy what it keeps and must not encode. For work on the bytes that may need no copy (hashing
 * them, finding them already encoded).
 */
export function withWritten<T>(
  build: (writer: BinaryWriter) => BinaryWriter,
  use: (bytes: Uint8Array) => T,
): T {
  try {
    build(WRITER);
    return use(WRITER.written());
  } finally {
    WRITER.reset();
  }
}

/** A copy of `bytes` (from the shared slab when small). */
export function copyOf(bytes: Uint8Array): Uint8Array {
  const copy = Buffer.allocUnsafe(bytes.length);
  copy.set(bytes);
  return copy;
}
