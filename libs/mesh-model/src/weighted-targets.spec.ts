import { BadRequestException } from './errors';
import type { RouteSpec } from './validation';
import { appMeshWeights, parseWeightsRequest, withWeightedTargets } from './weighted-targets';

const weightsOf = (targets: Record<string, number>) =>
  appMeshWeights(parseWeightsRequest({ targets }).targets).map((t) => t.weight);

describe('appMeshWeights', () => {
  it.each([
    ['whole percentages are stored as given', { blue: 90, green: 10 }, [90, 10]],
    ['whole weights below 100 in total stay relative', { blue: 3, green: 1 }, [3, 1]],
    ['a zero weight is kept', { blue: 100, green: 0 }, [100, 0]],
    ['halves become the smallest equal ratio', { blue: 87.5, green: 12.5 }, [7, 1]],
    ['hundredths reduce too', { blue: 0.25, green: 0.75 }, [1, 3]],
    ['decimals and zero', { blue: 0.5, green: 0 }, [1, 0]],
    ['decimals written as whole numbers are whole', { blue: 90.0, green: 10.0 }, [90, 10]],
  ])('%s: %j → %j', (_case, targets, expected) => {
    expect(weightsOf(targets)).toEqual(expected);
  });

  it.each([
    ['0.1 % cannot be a whole-number ratio within 100', { blue: 99.9, green: 0.1 }, '999:1'],
    ['a third is no exact ratio within 100', { blue: 33.33, green: 66.67 }, '3333:6667'],
  ])('refuses %s', (_case, targets, ratio) => {
    expect(() => weightsOf(targets)).toThrow(BadRequestException);
    expect(() => weightsOf(targets)).toThrow(`the same ratio in whole numbers is ${ratio}`);
  });
});

describe('parseWeightsRequest', () => {
  it.each([
    [null, 'The request body must be a JSON object'],
    [{}, 'targets: must be an object of virtual node names and percentages'],
    [{ targets: {} }, 'targets: must name 1 to 10 virtual nodes, got 0'],
    [
      { targets: Object.fromEntries([...Array(11).keys()].map((i) => [`n${i}`, 1])) },
      'targets: must name 1 to 10 virtual nodes, got 11',
    ],
    [{ targets: { blue: '90' } }, 'targets.blue: must be a number, got "90"'],
    [{ targets: { blue: -1 } }, 'targets.blue: must be from 0 to 100, got -1'],
    [{ targets: { blue: 0.001 } }, 'targets.blue: must have at most 2 decimal places, got 0.001'],
    [{ targets: { blue: 0, green: 0 } }, 'targets: the weights must add up to more than 0'],
    [
      { targets: { blue: 60, green: 50.5 } },
      'targets: the weights must add up to at most 100, got 110.5',
    ],
    [{ targets: { blue: 1 }, colour: 'red' }, 'colour: unknown field'],
    [{ targets: { blue: 1 }, reason: '' }, 'reason: must be a string of 1 to 1024 characters'],
  ])('refuses %j with "%s"', (body, message) => {
    expect(() => parseWeightsRequest(body)).toThrow(message);
  });

  it('keeps the order of the body and the reason', () => {
    expect(parseWeightsRequest({ targets: { green: 10, blue: 90 }, reason: 'canary' })).toEqual({
      targets: [
        { virtualNode: 'green', percent: 10 },
        { virtualNode: 'blue', percent: 90 },
      ],
      reason: 'canary',
    });
  });
});

describe('withWeightedTargets', () => {
  const spec: RouteSpec = {
    priority: 5,
    httpRoute: {
      match: { prefix: '/' },
      action: {
        weightedTargets: [
          { virtualNode: 'blue', weight: 100, port: 8080 },
          { virtualNode: 'old', weight: 0 },
        ],
      },
      timeout: { perRequest: { unit: 's', value: 5 } },
    },
  };

  it('replaces the targets, keeping the rest of the spec and the ports of kept targets', () => {
    expect(
      withWeightedTargets(spec, [
        { virtualNode: 'green', weight: 10 },
        { virtualNode: 'blue', weight: 90 },
      ]),
    ).toEqual({
      priority: 5,
      httpRoute: {
        match: { prefix: '/' },
        action: {
          weightedTargets: [
            { virtualNode: 'blue', weight: 90, port: 8080 },
            { virtualNode: 'green', weight: 10 },
          ],
        },
        timeout: { perRequest: { unit: 's', value: 5 } },
      },
    });
  });

  it('sets the weights of TCP routes too', () => {
    const tcp: RouteSpec = {
      tcpRoute: { action: { weightedTargets: [{ virtualNode: 'blue', weight: 1 }] } },
    };
    expect(withWeightedTargets(tcp, [{ virtualNode: 'blue', weight: 2 }])).toEqual({
      tcpRoute: { action: { weightedTargets: [{ virtualNode: 'blue', weight: 2 }] } },
    });
  });

  it('refuses a node the route targets on two ports', () => {
    const twice: RouteSpec = {
      httpRoute: {
        match: { prefix: '/' },
        action: {
          weightedTargets: [
            { virtualNode: 'blue', weight: 50, port: 8080 },
            { virtualNode: 'blue', weight: 50, port: 9090 },
          ],
        },
      },
    };
    expect(() => withWeightedTargets(twice, [{ virtualNode: 'blue', weight: 1 }])).toThrow(
      'targets.blue: the route targets virtual node blue 2 times (ports 8080, 9090)',
    );
  });
});
