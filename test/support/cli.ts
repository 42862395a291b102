import path from 'node:path';
import { runCommand, type CommandRun } from './process';

/** The `trellis` bin as npm links it; it runs the CLI `npm run build` compiled into apps/cli/dist/. */
export const TRELLIS_BIN = path.resolve(__dirname, '../../apps/cli/bin/trellis.js');

export type CliRun = CommandRun;

/**
 * Runs the built CLI as a CI job would: a process of its own with only the environment given
 * (no AWS variables leak in from the test's).
 */
export function trellis(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !name.startsWith('AWS_') && name !== 'TRELLIS_ENDPOINT',
    ),
  );
  return runCommand(process.execPath, [TRELLIS_BIN, ...args], { env: { ...inherited, ...env } });
}
