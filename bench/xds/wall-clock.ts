import { performance } from 'node:perf_hooks';

/** Milliseconds since the epoch with sub-millisecond precision, comparable across processes. */
export function wallClock(): number {
  return performance.timeOrigin + performance.now();
}
