import { BadRequestException } from './errors';
import {
  firstStepProblem,
  parseDuration,
  parseRolloutRequest,
  rolloutRouteProblem,
  substituteQuery,
  type RolloutPlan,
} from './rollout';

const base = { route: { virtualRouter: 'api', route: 'canary' }, from: 'blue', to: 'green' };

function plan(request: Record<string, unknown>): RolloutPlan {
  return parseRolloutRequest({ ...base, ...request }).plan;
}

function problem(body: unknown): string {
  try {
    parseRolloutRequest(body);
  } catch (error) {
    if (error instanceof BadRequestException) return error.message;
    throw error;
  }
  throw new Error('the request was accepted');
}

describe('rollout steps', () => {
  it.each<[string, Record<string, unknown>, number[], number]>([
    ['a list ending at 100', { steps: [5, 25, 50, 100] }, [5, 25, 50, 100], 60_000],
    [
      'a list below 100 gets 100 appended',
      { steps: [1, 2, 10, 80], interval: '30s' },
      [1, 2, 10, 80, 100],
      30_000,
    ],
    [
      'linear steps that divide 100',
      { steps: { linear: { step: 25, every: '2m' } } },
      [25, 50, 75, 100],
      120_000,
    ],
    [
      'linear steps that do not',
      { steps: { linear: { step: 30, every: 500 } } },
      [30, 60, 90, 100],
      500,
    ],
    ['AllAtOnce', { steps: 'AllAtOnce' }, [100], 0],
    ['Canary10Percent5Minutes', { steps: 'Canary10Percent5Minutes' }, [10, 100], 300_000],
    [
      'Linear10PercentEvery1Minute',
      { steps: 'Linear10PercentEvery1Minute' },
      [10, 20, 30, 40, 50, 60, 70, 80, 90, 100],
      60_000,
    ],
    [
      'the full ECS name',
      { steps: 'CodeDeployDefault.ECSCanary10percent15Minutes' },
      [10, 100],
      900_000,
    ],
    [
      'the full Lambda name',
      { steps: 'CodeDeployDefault.LambdaLinear10PercentEvery3Minutes' },
      [10, 20, 30, 40, 50, 60, 70, 80, 90, 100],
      180_000,
    ],
    ['a custom canary in CodeDeploy form', { steps: 'Canary5Percent1Minute' }, [5, 100], 60_000],
  ])('%s', (_case, request, steps, intervalMs) => {
    expect(plan(request)).toMatchObject({ steps, intervalMs });
  });

  it('has defaults: instant abort, no gates, no promotion, a 120 s propagation timeout', () => {
    expect(plan({ steps: [50] })).toEqual({
      steps: [50, 100],
      intervalMs: 60_000,
      gates: [],
      onAbort: 'instant',
      requirePromotion: false,
      propagationTimeoutMs: 120_000,
    });
  });

  it('keeps gates with their timeouts (10 s unless given)', () => {
    expect(
      plan({
        steps: [50],
        gates: [{ url: 'https://ci.example.com/gate' }, { url: 'http://h/g', timeout: '2s' }],
      }).gates,
    ).toEqual([
      { kind: 'webhook', url: 'https://ci.example.com/gate', timeoutMs: 10_000 },
      { kind: 'webhook', url: 'http://h/g', timeoutMs: 2000 },
    ]);
  });
});

describe('metric gates', () => {
  const prometheus = 'http://prometheus.monitoring:9090';
  it('keeps each kind with its defaults: 10 requests at least, a 10 s query timeout', () => {
    expect(
      plan({
        steps: [10, 50],
        gates: [
          { successRate: { address: prometheus, min: 99.5 } },
          { latency: { address: prometheus, maxP99: '500ms', minRequests: 50 } },
          {
            prometheus: {
              address: prometheus,
              query: 'sum(rate(errors{to="{{ to }}"}[{{interval}}]))',
              comparison: '<',
              threshold: 0.5,
              timeout: '3s',
            },
          },
        ],
      }).gates,
    ).toEqual([
      {
        kind: 'successRate',
        address: prometheus,
        minPercent: 99.5,
        minRequests: 10,
        timeoutMs: 10_000,
      },
      { kind: 'latency', address: prometheus, maxP99Ms: 500, minRequests: 50, timeoutMs: 10_000 },
      {
        kind: 'prometheus',
        address: prometheus,
        query: 'sum(rate(errors{to="{{ to }}"}[{{interval}}]))',
        comparison: '<',
        threshold: 0.5,
        timeoutMs: 3000,
      },
    ]);
  });

  it('substitutes the rollout variables into a query', () => {
    const variables = {
      mesh: 'demo',
      router: 'api',
      route: 'canary',
      from: 'blue',
      to: 'green',
      step: '2',
      weight: '50',
      interval: '60s',
    };
    expect(
      substituteQuery(
        'x{mesh="{{mesh}}",n="{{ to }}",s="{{step}}/{{ weight }}"}[{{ interval }}]',
        variables,
      ),
    ).toBe('x{mesh="demo",n="green",s="2/50"}[60s]');
  });

  it.each<[string, unknown, string]>([
    [
      'two kinds in one gate',
      [{ successRate: { address: prometheus, min: 99 }, url: 'http://h' }],
      'gates[0]: must have exactly one of url, prometheus, successRate, latency',
    ],
    [
      'an address that is not a URL',
      [{ successRate: { address: 'prometheus:9090', min: 99 } }],
      'gates[0].successRate.address: must be the http or https URL of Prometheus',
    ],
    [
      'a success rate above 100',
      [{ successRate: { address: prometheus, min: 101 } }],
      'gates[0].successRate.min: must be a percentage above 0 and at most 100, got 101',
    ],
    [
      'no request minimum',
      [{ successRate: { address: prometheus, min: 99, minRequests: 0 } }],
      'gates[0].successRate.minRequests: must be an integer from 1',
    ],
    [
      'a latency without its maximum',
      [{ latency: { address: prometheus } }],
      'gates[0].latency.maxP99: is required',
    ],
    [
      'an unknown variable',
      [
        {
          prometheus: {
            address: prometheus,
            query: 'up{x="{{ namespace }}"}',
            comparison: '>',
            threshold: 0,
          },
        },
      ],
      'gates[0].prometheus.query: unknown variable {{ namespace }}; the variables are mesh, router, route, from, to, step, weight, interval',
    ],
    [
      'an unknown comparison',
      [{ prometheus: { address: prometheus, query: 'up', comparison: '=', threshold: 1 } }],
      'gates[0].prometheus.comparison: must be one of < <= > >=, got "="',
    ],
    [
      'a threshold that is not a number',
      [{ prometheus: { address: prometheus, query: 'up', comparison: '>', threshold: '1' } }],
      'gates[0].prometheus.threshold: must be a number, got "1"',
    ],
    [
      'an unknown field',
      [{ latency: { address: prometheus, maxP99: 100, percentile: 95 } }],
      'gates[0].latency.percentile: unknown field',
    ],
  ])('rejects %s, naming the field', (_case, gates, message) => {
    expect(problem({ ...base, steps: [10, 100], gates })).toContain(message);
  });

  it('needs a step to judge and an interval to measure', () => {
    const gates = [{ successRate: { address: prometheus, min: 99 } }];
    expect(problem({ ...base, steps: 'AllAtOnce', gates })).toBe(
      'gates: metric gates judge a step before the next one; a rollout of a single step has none to judge',
    );
    expect(problem({ ...base, steps: [10], interval: 0, gates })).toBe(
      'interval: must be at least 1s with metric gates: they measure the traffic of the interval',
    );
  });
});

describe('invalid rollout requests name the field', () => {
  it.each<[string, unknown, string]>([
    ['a body that is not an object', [], 'The request body must be a JSON object'],
    ['no route', { ...base, route: undefined, steps: [10] }, 'route: must be an object'],
    [
      'an empty from',
      { ...base, from: '', steps: [10] },
      'from: must be a name of 1 to 255 characters, got ""',
    ],
    ['no steps', base, 'steps: must be a list of weights'],
    ['an empty list', { ...base, steps: [] }, 'steps: must list 1 to 100 weights, got 0'],
    ['a zero step', { ...base, steps: [0, 100] }, 'steps[0]: must be an integer from 1 to 100'],
    ['a step above 100', { ...base, steps: [101] }, 'steps[0]: must be an integer from 1 to 100'],
    [
      'a repeated step',
      { ...base, steps: [10, 10] },
      'steps[1]: must be greater than the step before (10)',
    ],
    [
      'a linear step of 0',
      { ...base, steps: { linear: { step: 0, every: '1m' } } },
      'steps.linear.step: must be an integer from 1 to 100, got 0',
    ],
    [
      'linear without every',
      { ...base, steps: { linear: { step: 10 } } },
      'steps.linear.every: is required',
    ],
    [
      'linear with an interval',
      { ...base, steps: { linear: { step: 10, every: '1m' } }, interval: '1m' },
      'interval: linear steps set the interval with "every"',
    ],
    [
      'a canary of 100 %',
      { ...base, steps: 'Canary100Percent5Minutes' },
      'steps: the preset Canary100Percent5Minutes moves 100 %; it must be from 1 to 99',
    ],
    [
      'an interval over a day',
      { ...base, steps: [10], interval: '25h' },
      'interval: must be from 0 ms to 1440 minutes, got 90000000 ms',
    ],
    ['a negative interval', { ...base, steps: [10], interval: -1 }, 'interval: must be a duration'],
    [
      'a gate without a URL',
      { ...base, steps: [10], gates: [{ timeout: '1s' }] },
      'gates[0].url: must be an http or https URL, got nothing',
    ],
    [
      'a gate with an unknown field',
      { ...base, steps: [10], gates: [{ url: 'http://h', retries: 3 }] },
      'gates[0].retries: unknown field',
    ],
    [
      'requirePromotion as a string',
      { ...base, steps: [10], requirePromotion: 'yes' },
      'requirePromotion: must be a boolean, got "yes"',
    ],
    [
      'a propagation timeout under a second',
      { ...base, steps: [10], propagationTimeout: '10ms' },
      'propagationTimeout: must be from 1000 ms',
    ],
  ])('%s', (_case, body, message) => {
    expect(() => parseRolloutRequest(body)).toThrow(BadRequestException);
    expect(problem(body)).toContain(message);
  });

  it('lists every issue at once', () => {
    expect(problem({ ...base, from: 'x', to: 'x', steps: [20, 10], onAbort: 'never' })).toBe(
      'to: must differ from "from" (both are x); steps[1]: must be greater than the step before (20); onAbort: must be one of instant, stepped, freeze, got "never"',
    );
  });
});

describe('durations', () => {
  it.each<[unknown, number | undefined]>([
    [1500, 1500],
    ['60s', 60_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1m30s', 90_000],
    ['250ms', 250],
    ['1.5s', 1500],
    ['', undefined],
    ['10', undefined],
    ['5 m', undefined],
    ['1d', undefined],
    [1.5, undefined],
    [null, undefined],
  ])('%j → %j', (value, ms) => {
    expect(parseDuration(value)).toBe(ms);
  });
});

describe('routes a rollout can take', () => {
  it.each<
    [string, Array<{ virtualNode: string; weight: number; port?: number }>, string | undefined]
  >([
    ['from alone', [{ virtualNode: 'blue', weight: 100 }], undefined],
    [
      'from and to',
      [
        { virtualNode: 'blue', weight: 90 },
        { virtualNode: 'green', weight: 10 },
      ],
      undefined,
    ],
    [
      'without from',
      [{ virtualNode: 'green', weight: 100 }],
      'the route does not target blue (targets: green)',
    ],
    [
      'with a third target',
      [
        { virtualNode: 'blue', weight: 50 },
        { virtualNode: 'red', weight: 50 },
      ],
      'the route also targets red',
    ],
    [
      'with from on two ports',
      [
        { virtualNode: 'blue', weight: 50, port: 80 },
        { virtualNode: 'blue', weight: 50, port: 81 },
      ],
      'the route targets blue more than once',
    ],
  ])('%s', (_case, targets, expected) => {
    const found = rolloutRouteProblem(targets, 'blue', 'green');
    if (expected === undefined) expect(found).toBeUndefined();
    else expect(found).toContain(expected);
  });
});

describe('a first step below the share `to` already has', () => {
  it.each<[string, Array<{ virtualNode: string; weight: number }>, number, string | undefined]>([
    ['to not targeted yet', [{ virtualNode: 'blue', weight: 100 }], 10, undefined],
    [
      'to at 0',
      [
        { virtualNode: 'blue', weight: 100 },
        { virtualNode: 'green', weight: 0 },
      ],
      5,
      undefined,
    ],
    [
      'a first step equal to the share',
      [
        { virtualNode: 'blue', weight: 70 },
        { virtualNode: 'green', weight: 30 },
      ],
      30,
      undefined,
    ],
    [
      'a first step below it',
      [
        { virtualNode: 'blue', weight: 70 },
        { virtualNode: 'green', weight: 30 },
      ],
      10,
      "green already has 30 % of the route's traffic",
    ],
    [
      'relative weights',
      [
        { virtualNode: 'blue', weight: 1 },
        { virtualNode: 'green', weight: 1 },
      ],
      25,
      'green already has 50 %',
    ],
  ])('%s', (_case, targets, firstStep, expected) => {
    const found = firstStepProblem(targets, 'green', firstStep);
    if (expected === undefined) expect(found).toBeUndefined();
    else expect(found).toContain(expected);
  });
});
