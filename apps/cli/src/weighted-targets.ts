import { UsageError } from './command-line';

/** Virtual node → weight, in the order the user or the route gave them. */
export type Weights = Record<string, number>;

/**
 * `blue=90 green=10` → `{blue: 90, green: 10}`. Weights are percentages, decimals allowed
 * (Trellis scales them to Envoy's integer weights).
 */
export function parseWeights(args: readonly string[], usage: string): Weights {
  if (args.length === 0) {
    throw new UsageError('give the targets as NODE=WEIGHT, e.g. blue=90 green=10', usage);
  }
  const weights: Weights = {};
  for (const arg of args) {
    const match = /^([^=\s]+)=(\d+(?:\.\d+)?)$/.exec(arg);
    if (!match) {
      throw new UsageError(
        `bad weight ${JSON.stringify(arg)}: expected NODE=WEIGHT with WEIGHT a number from 0 to 100`,
        usage,
      );
    }
    const node = match[1]!;
    const weight = Number(match[2]);
    if (weight > 100) throw new UsageError(`bad weight ${arg}: at most 100`, usage);
    if (node in weights) throw new UsageError(`${node} is given twice`, usage);
    weights[node] = weight;
  }
  return weights;
}

/** `blue=90 green=10`. */
export function formatWeights(weights: Weights): string {
  return Object.entries(weights)
    .map(([node, weight]) => `${node}=${weight}`)
    .join(' ');
}

export function sameWeights(a: Weights, b: Weights): boolean {
  const nodes = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...nodes].every((node) => a[node] === b[node]);
}

interface WeightedTarget {
  virtualNode?: string;
  weight?: number;
}

/**
 * The weighted targets of an App Mesh route spec (whichever of httpRoute, http2Route,
 * grpcRoute, tcpRoute it has), or undefined when the spec has none.
 */
export function weightsOfRouteSpec(spec: unknown): Weights | undefined {
  if (typeof spec !== 'object' || spec === null) return undefined;
  for (const routeType of ['httpRoute', 'http2Route', 'grpcRoute', 'tcpRoute']) {
    const route = (spec as Record<string, { action?: { weightedTargets?: WeightedTarget[] } }>)[
      routeType
    ];
    const targets = route?.action?.weightedTargets;
    if (!Array.isArray(targets)) continue;
    const weights: Weights = {};
    for (const target of targets) {
      if (target.virtualNode !== undefined) weights[target.virtualNode] = target.weight ?? 0;
    }
    return weights;
  }
  return undefined;
}
