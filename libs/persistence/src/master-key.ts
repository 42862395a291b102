import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The master key that seals secrets at rest (access keys' secrets, imported private keys):
 * 32 bytes, from TRELLIS_MASTER_KEY (base64) or the file named by TRELLIS_MASTER_KEY_FILE
 * (base64 text or 32 raw bytes). In embedded development mode (`dataDir` given) a key is
 * generated once and kept beside the database, so `npm start` needs no setup; with an
 * external database every replica must be given the same key, so none is invented.
 */
export function loadMasterKey(env: Record<string, string | undefined>, dataDir?: string): Buffer {
  if (env.TRELLIS_MASTER_KEY) return decodeKey(env.TRELLIS_MASTER_KEY, 'TRELLIS_MASTER_KEY');
  if (env.TRELLIS_MASTER_KEY_FILE) {
    const bytes = readFileSync(env.TRELLIS_MASTER_KEY_FILE);
    return bytes.length === KEY_BYTES
      ? bytes
      : decodeKey(bytes.toString('utf8'), `the file ${env.TRELLIS_MASTER_KEY_FILE}`);
  }
  if (dataDir === undefined) {
    throw new Error(
      'No master key: set TRELLIS_MASTER_KEY (base64 of 32 random bytes, e.g. `openssl rand -base64 32`) ' +
        'or TRELLIS_MASTER_KEY_FILE, the same on every replica',
    );
  }
  const file = path.join(path.resolve(dataDir), 'master-key');
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true });
    // `wx`: two processes starting on one data directory never overwrite each other's key.
    try {
      writeFileSync(file, randomBytes(KEY_BYTES).toString('base64'), { mode: 0o600, flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  return decodeKey(readFileSync(file, 'utf8'), `the file ${file}`);
}

/** Encrypts `plaintext` with AES-256-GCM: `v1:<iv>:<tag>:<ciphertext>`, each part base64. */
export function sealSecret(key: Buffer, plaintext: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const tag = cipher.getAuthTag();
  return `v1:${iv.toString('base64')}:${tag.toString('base64')}:${ciphertext.toString('base64')}`;
}

/** Decrypts what sealSecret produced; throws when the key is wrong or the text was altered. */
export function openSecret(key: Buffer, sealed: string): string {
  const [version, iv, tag, ciphertext] = sealed.split(':');
  if (version !== 'v1' || iv === undefined || tag === undefined || ciphertext === undefined) {
    throw new Error('sealed secret: unknown format');
  }
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'));
  decipher.setAuthTag(Buffer.from(tag, 'base64'));
  return Buffer.concat([
    decipher.update(Buffer.from(ciphertext, 'base64')),
    decipher.final(),
  ]).toString('utf8');
}

const KEY_BYTES = 32;
const IV_BYTES = 12;

function decodeKey(text: string, source: string): Buffer {
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== KEY_BYTES) {
    throw new Error(
      `The master key in ${source} must be base64 of exactly 32 bytes (got ${key.length})`,
    );
  }
  return key;
}
