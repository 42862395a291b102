import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A command line the CLI cannot run: unknown command or flag, missing flag, bad value. */
export class UsageError extends Error {
  /** `usage` is the help of the command the user was typing, printed after the message. */
  constructor(
    message: string,
    readonly usage?: string,
  ) {
    super(message);
  }
}

export type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

/** Flags every command takes (`--help` is answered before a command parses its flags). */
const COMMON_OPTIONS = {
  output: { type: 'string', short: 'o', default: 'text' },
} as const satisfies OptionsConfig;

const OUTPUT_FORMATS = ['text', 'json'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/**
 * Parses a command's flags and positionals strictly (an unknown flag is a usage error, not
 * something to ignore in a CI script), together with `--output`.
 */
export function parseCommandLine<T extends OptionsConfig>(
  args: string[],
  options: T,
  usage: string,
) {
  try {
    const parsed = parseArgs({
      args,
      options: { ...COMMON_OPTIONS, ...options },
      allowPositionals: true,
      strict: true,
    });
    const output = (parsed.values as { output?: unknown }).output;
    if (!OUTPUT_FORMATS.includes(output as OutputFormat)) {
      throw new UsageError(`--output must be text or json, got ${String(output)}`, usage);
    }
    return { ...parsed, output: output as OutputFormat };
  } catch (error) {
    if (error instanceof UsageError) throw error;
    // Node's messages go on to explain `--`; the first sentence is the one that helps here.
    const message = error instanceof Error ? error.message.split('. ')[0]! : String(error);
    throw new UsageError(message, usage);
  }
}

/** The value of a flag the command cannot run without. */
export function required(value: string | undefined, flag: string, usage: string): string {
  if (value === undefined || value === '') throw new UsageError(`missing --${flag}`, usage);
  return value;
}

export function noPositionals(positionals: string[], usage: string): void {
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`, usage);
  }
}

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * A duration like Go's and kubectl's: `120s`, `1m30s`, `500ms`, `2h`; a bare number is
 * seconds. Answers milliseconds.
 */
export function parseDuration(text: string, flag: string, usage: string): number {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== text) {
    throw new UsageError(`--${flag} must be a duration like 90s, 2m or 1m30s, got ${text}`, usage);
  }
  return parts.reduce(
    (total, [, amount, unit]) => total + Number(amount) * DURATION_UNITS_MS[unit!]!,
    0,
  );
}

/** A duration for people: `800ms`, `2.5s`, `1m30s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${Number(seconds.toFixed(1))}s`;
  const minutes = Math.floor(seconds / 60);
  const rest = Math.round(seconds - minutes * 60);
  return rest === 0 ? `${minutes}m` : `${minutes}m${rest}s`;
}
