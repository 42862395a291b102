import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

// Secrets at rest (certificate private keys, access-key secrets) are sealed with one 32-byte
// master key: AES-256-GCM, a fresh 12-byte IV per secret, stored as the versioned string
// "v1:<iv>:<tag>:<ciphertext>" (base64 parts), so that a later scheme can be told apart.

const KEY_BYTES = 32;
const IV_BYTES = 12;
const VERSION = 'v1';
const KEY_FILE = 'master.key';

/**
 * The master key: TRELLIS_MASTER_KEY (base64 of 32 bytes), or the file TRELLIS_MASTER_KEY_FILE
 * holds (the same base64). Without either, in embedded development mode (`dataDir` given), one is
 * generated and kept under the data directory with mode 0600. Throws, naming the variables,
 * when none can be had.
 */
export function loadMasterKey(
  env: NodeJS.ProcessEnv | Record<string, string | undefined>,
  dataDir?: string,
): Buffer {
  if (env.TRELLIS_MASTER_KEY) return decodeKey(env.TRELLIS_MASTER_KEY, 'TRELLIS_MASTER_KEY');
  if (env.TRELLIS_MASTER_KEY_FILE) {
    const text = readFileSync(env.TRELLIS_MASTER_KEY_FILE, 'utf8');
    return decodeKey(text.trim(), `the file TRELLIS_MASTER_KEY_FILE names`);
  }
  if (dataDir === undefined) {
    throw new Error(
      'no master key: set TRELLIS_MASTER_KEY (base64 of 32 random bytes, e.g. `openssl rand -base64 32`) ' +
        'or TRELLIS_MASTER_KEY_FILE',
    );
  }
  const file = path.join(dataDir, KEY_FILE);
  if (existsSync(file)) return decodeKey(readFileSync(file, 'utf8').trim(), file);
  mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(KEY_BYTES);
  writeFileSync(file, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return key;
}

/** Encrypts and authenticates `plaintext` under `key`. */
export function sealSecret(key: Buffer, plaintext: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const tag = cipher.getAuthTag();
  return [VERSION, iv, tag, ciphertext]
    .map((part) => (typeof part === 'string' ? part : part.toString('base64')))
    .join(':');
}

/** Decrypts what `sealSecret` produced; throws when the key is wrong or the text was altered. */
export function openSecret(key: Buffer, sealed: string): string {
  const [version, iv, tag, ciphertext, ...rest] = sealed.split(':');
  if (
    version !== VERSION ||
    iv === undefined ||
    tag === undefined ||
    ciphertext === undefined ||
    rest.length > 0
  ) {
    throw new Error('not a sealed secret of a known version');
  }
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'));
  decipher.setAuthTag(Buffer.from(tag, 'base64'));
  return Buffer.concat([
    decipher.update(Buffer.from(ciphertext, 'base64')),
    decipher.final(),
  ]).toString('utf8');
}

function decodeKey(base64: string, source: string): Buffer {
  const key = Buffer.from(base64, 'base64');
  if (key.length !== KEY_BYTES || key.toString('base64') !== base64.replace(/\s+/g, '')) {
    throw new Error(`${source} must be base64 of exactly ${KEY_BYTES} bytes`);
  }
  return key;
}
