import { spawn } from 'node:child_process';
import path from 'node:path';

/** The `trellis` bin as npm links it; it runs the CLI `npm run build` compiled into dist/. */
export const TRELLIS_BIN = path.resolve(__dirname, '../../apps/cli/bin/trellis.js');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built CLI as a CI job would: a process of its own with only the environment given
 * (no AWS variables leak in from the test's). Asynchronous, so the in-process control plane
 * keeps serving while the CLI waits on it.
 */
export function trellis(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !name.startsWith('AWS_') && name !== 'TRELLIS_ENDPOINT',
    ),
  );
  const child = spawn(process.execPath, [TRELLIS_BIN, ...args], {
    env: { ...inherited, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
