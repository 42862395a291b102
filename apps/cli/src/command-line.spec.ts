import { formatDuration, parseDuration, UsageError } from './command-line';

describe('durations on the command line', () => {
  it.each([
    ['seconds', '120s', 120_000],
    ['minutes and seconds, as Go and kubectl write them', '1m30s', 90_000],
    ['milliseconds', '500ms', 500],
    ['hours', '2h', 7_200_000],
    ['a decimal', '1.5s', 1500],
    ['a bare number, in seconds', '90', 90_000],
    ['zero: no limit for waits', '0', 0],
  ])('reads %s: %s', (_case, text, ms) => {
    expect(parseDuration(text, 'timeout', 'usage')).toBe(ms);
  });

  it.each(['soon', '10x', 's', '1m 30s', '-5s', ''])('refuses %j as a usage error', (text) => {
    expect(() => parseDuration(text, 'timeout', 'usage')).toThrow(UsageError);
  });

  it.each([
    [800, '800ms'],
    [2000, '2s'],
    [2049, '2s'],
    [12_345, '12.3s'],
    [90_000, '1m30s'],
    [120_000, '2m'],
  ])('shows %d ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
