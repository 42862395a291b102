import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadMasterKey, openSecret, sealSecret } from './master-key';

describe('master key', () => {
  const key = Buffer.alloc(32, 7);

  it('seals so that only the same key opens, and never in plaintext', () => {
    const sealed = sealSecret(key, '-----BEGIN PRIVATE KEY-----');
    expect(sealed).toMatch(/^v1:[^:]+:[^:]+:[^:]+$/);
    expect(sealed).not.toContain('PRIVATE');
    expect(openSecret(key, sealed)).toBe('-----BEGIN PRIVATE KEY-----');
    expect(() => openSecret(Buffer.alloc(32, 8), sealed)).toThrow();
    expect(sealSecret(key, 'same')).not.toBe(sealSecret(key, 'same'));
  });

  it('refuses altered text', () => {
    const [version, iv, tag, ciphertext] = sealSecret(key, 'secret').split(':');
    const altered = Buffer.from(ciphertext!, 'base64');
    altered[0] = altered[0]! ^ 1;
    expect(() =>
      openSecret(key, [version, iv, tag, altered.toString('base64')].join(':')),
    ).toThrow();
  });

  it('reads TRELLIS_MASTER_KEY, refuses a key of the wrong size, and names the variables when none is set', () => {
    expect(loadMasterKey({ TRELLIS_MASTER_KEY: key.toString('base64') })).toEqual(key);
    expect(() => loadMasterKey({ TRELLIS_MASTER_KEY: 'c2hvcnQ=' })).toThrow(/32 bytes/);
    expect(() => loadMasterKey({})).toThrow(/TRELLIS_MASTER_KEY/);
  });

  it('generates one key under the data directory in development mode and keeps it', () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'trellis-key-'));
    try {
      const first = loadMasterKey({}, dataDir);
      expect(loadMasterKey({}, dataDir)).toEqual(first);
      const file = path.join(dataDir, 'master-key');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(loadMasterKey({ TRELLIS_MASTER_KEY_FILE: file })).toEqual(first);
      expect(readFileSync(file, 'utf8').trim()).toBe(first.toString('base64'));
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
