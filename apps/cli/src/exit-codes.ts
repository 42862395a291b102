/**
 * What a CI script branches on. 64 is sysexits' EX_USAGE; 2 and 3 let a pipeline tell a
 * slow rollout from one that waits for a human, instead of hanging until its own timeout.
 */
export const ExitCode = {
  Success: 0,
  /** Failed, aborted, rejected by a proxy, or an error from the API. */
  Failed: 1,
  TimedOut: 2,
  /** A rollout is paused or waits for `trellis rollout promote`. */
  Paused: 3,
  Usage: 64,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
