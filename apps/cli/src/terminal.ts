import type { OutputFormat } from './command-line';

export interface OutputStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/**
 * Where a command's results go. Results on stdout (text, or one JSON document with
 * `--output json`), problems on stderr, and — only when stdout is a terminal and the output
 * is text — a progress line rewritten in place, so logs of CI jobs stay clean.
 */
export class Terminal {
  private progressShown = false;

  constructor(
    private readonly stdout: OutputStream,
    private readonly stderr: OutputStream,
    readonly format: OutputFormat,
  ) {}

  get json(): boolean {
    return this.format === 'json';
  }

  /** A line of the result, in text format only. */
  line(text: string): void {
    if (this.json) return;
    this.clearProgress();
    this.stdout.write(`${text}\n`);
  }

  /** The result, as the single JSON document of `--output json`. */
  document(value: unknown): void {
    if (!this.json) return;
    this.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** A problem, in either format. */
  error(text: string): void {
    this.clearProgress();
    this.stderr.write(`${text}\n`);
  }

  progress(text: string): void {
    if (this.json || !this.stdout.isTTY) return;
    const width = this.stdout.columns ?? 80;
    const shown = text.length >= width ? `${text.slice(0, width - 2)}…` : text;
    this.stdout.write(`\r\x1b[K${shown}`);
    this.progressShown = true;
  }

  clearProgress(): void {
    if (!this.progressShown) return;
    this.stdout.write('\r\x1b[K');
    this.progressShown = false;
  }
}

/** Columns padded to their widest cell, like `kubectl get` and `istioctl proxy-status`. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  return [header, ...rows]
    .map((row) =>
      row
        .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!)))
        .join('   ')
        .trimEnd(),
    )
    .join('\n');
}
