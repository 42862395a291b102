import { duration } from './addresses';

describe('duration', () => {
  it.each([
    [0, { seconds: 0, nanos: 0 }],
    [250, { seconds: 0, nanos: 250_000_000 }],
    [15_000, { seconds: 15, nanos: 0 }],
    [120_500, { seconds: 120, nanos: 500_000_000 }],
  ])('%d ms', (milliseconds, expected) => {
    expect(duration(milliseconds)).toEqual(expected);
  });
});
