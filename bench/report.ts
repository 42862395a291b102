// Small helpers every benchmark's report uses: order statistics and Markdown tables.

/** The `p` quantile (0 < p ≤ 1) of ascending `sorted` values, nearest rank; NaN when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? NaN;
}

/** The median of `values` (any order); NaN when empty. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? sorted[middle]!
    : ((sorted[middle - 1] ?? NaN) + (sorted[middle] ?? NaN)) / 2;
}

/**
 * A Markdown table. `align` gives each column's alignment marker; by default the first column
 * is left-aligned and the others right-aligned, as numbers are.
 */
export function markdownTable(
  header: readonly string[],
  rows: ReadonlyArray<readonly string[]>,
  align: readonly string[] = header.map((_, i) => (i === 0 ? '---' : '--:')),
): string {
  return [header, align, ...rows].map((row) => `| ${row.join(' | ')} |`).join('\n');
}
