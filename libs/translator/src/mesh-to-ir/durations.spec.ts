import { durationMs } from './durations';

describe('durationMs', () => {
  it.each([
    [{ unit: 's' as const, value: 15 }, 15_000],
    [{ unit: 'ms' as const, value: 250 }, 250],
    [{ unit: 's' as const, value: 0 }, 0],
  ])('%o is %d ms', (duration, expected) => {
    expect(durationMs(duration)).toBe(expected);
  });
});
