import {
  compare,
  substituteQuery,
  type LatencyGate,
  type MetricGate,
  type PrometheusQueryGate,
  type RolloutQueryVariables,
  type SuccessRateGate,
  type WebhookGate,
  type Weights,
} from '../../../../libs/mesh-model/src/rollout';
import { egressClusterNamePattern } from '../../../../libs/translator/src/names';

/** What a gate webhook receives, as JSON in a POST, once per step after propagation. */
export interface GatePayload {
  rollout: {
    id: string;
    meshName: string;
    route: { virtualRouter: string; route: string };
    from: string;
    to: string;
  };
  /** `number` counts from 1; `weight` is the percentage on `to`. */
  step: { number: number; of: number; weight: number };
  weights: Weights;
  /** The mesh revision holding the step's weights, acknowledged by every connected proxy. */
  revision: number;
}

export interface GateResult {
  passed: boolean;
  /** "gate http://… answered 200 in 12 ms", or why it failed. */
  message: string;
}

/**
 * Calls a gate: a 2xx answer within the timeout passes; any other status, a redirect (not
 * followed), a timeout or an unreachable URL fails. The answer's body is ignored. `cancel`
 * (the process stopping) ends the call early; the caller must then ignore the result.
 */
export async function callGate(
  gate: WebhookGate,
  payload: GatePayload,
  cancel: AbortSignal,
): Promise<GateResult> {
  const started = Date.now();
  try {
    const response = await fetch(gate.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'trellis-rollouts' },
      body: JSON.stringify(payload),
      redirect: 'manual',
      signal: AbortSignal.any([AbortSignal.timeout(gate.timeoutMs), cancel]),
    });
    await response.body?.cancel();
    const elapsed = Date.now() - started;
    return response.status >= 200 && response.status < 300
      ? { passed: true, message: `gate ${gate.url} answered ${response.status} in ${elapsed} ms` }
      : { passed: false, message: `gate ${gate.url} answered ${response.status}` };
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name === 'TimeoutError' || name === 'AbortError') {
      return {
        passed: false,
        message: `gate ${gate.url} did not answer within ${gate.timeoutMs} ms`,
      };
    }
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return {
      passed: false,
      message: `gate ${gate.url} could not be called: ${cause?.code ?? cause?.message ?? (error as Error).message}`,
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Metric gates: Prometheus, read at the end of a step's interval.

/** What a metric gate measures: the rollout's traffic to `to` during the window. */
export interface MetricWindow {
  meshName: string;
  virtualRouter: string;
  route: string;
  from: string;
  to: string;
  /** Counts from 1. */
  step: number;
  /** The percentage on `to`. */
  weight: number;
  /** How far back from now: the step's time since its weights were acknowledged. */
  windowMs: number;
}

export type MetricResult =
  | { outcome: 'passed' | 'failed'; message: string }
  /** Too little traffic, or no data yet: the step waits and asks again. */
  | { outcome: 'inconclusive'; message: string };

/**
 * Checks a metric gate. A failed check names the measured value and the threshold; Prometheus
 * not answering, answering an error, or a query returning several series fails the gate too,
 * as a webhook that cannot be called does.
 */
export async function checkMetricGate(
  gate: MetricGate,
  window: MetricWindow,
  cancel: AbortSignal,
): Promise<MetricResult> {
  const prometheus = new PrometheusClient(gate.address, gate.timeoutMs, cancel);
  try {
    switch (gate.kind) {
      case 'prometheus':
        return await checkQuery(gate, window, prometheus);
      case 'successRate':
        return await checkSuccessRate(gate, window, prometheus);
      case 'latency':
        return await checkLatency(gate, window, prometheus);
    }
  } catch (error) {
    if (!(error instanceof PrometheusError)) throw error;
    return { outcome: 'failed', message: error.message };
  }
}

/** `90s`: whole seconds, at least one, as PromQL range selectors take them. */
function promDuration(windowMs: number): string {
  return `${Math.max(1, Math.round(windowMs / 1000))}s`;
}

async function checkQuery(
  gate: PrometheusQueryGate,
  window: MetricWindow,
  prometheus: PrometheusClient,
): Promise<MetricResult> {
  const variables: RolloutQueryVariables = {
    mesh: window.meshName,
    router: window.virtualRouter,
    route: window.route,
    from: window.from,
    to: window.to,
    step: String(window.step),
    weight: String(window.weight),
    interval: promDuration(window.windowMs),
  };
  const query = substituteQuery(gate.query, variables);
  const values = await prometheus.query(query);
  const described = `query ${JSON.stringify(query)}`;
  if (values.length === 0 || Number.isNaN(values[0])) {
    return { outcome: 'inconclusive', message: `${described} returned no data` };
  }
  if (values.length > 1) {
    return {
      outcome: 'failed',
      message: `${described} returned ${values.length} series; a gate's query must return one value (aggregate it, e.g. with sum)`,
    };
  }
  const value = values[0]!;
  const check = `${formatNumber(value)}, threshold ${gate.comparison} ${formatNumber(gate.threshold)}`;
  return compare(value, gate.comparison, gate.threshold)
    ? { outcome: 'passed', message: `${described} = ${check}` }
    : { outcome: 'failed', message: `${described} = ${check}: the check failed` };
}

/**
 * The traffic to `to` as its callers' sidecars count it: their egress clusters for the node,
 * named as App Mesh names them (`cds_egress_<mesh>_<node>_<protocol>_<port>`).
 */
function toTarget(window: MetricWindow): string {
  const pattern = egressClusterNamePattern(window.meshName, window.to);
  return `envoy_cluster_name=~${JSON.stringify(pattern)}`;
}

async function checkSuccessRate(
  gate: SuccessRateGate,
  window: MetricWindow,
  prometheus: PrometheusClient,
): Promise<MetricResult> {
  const counted = await countRequests(gate, window, prometheus, 'envoy_cluster_upstream_rq');
  if ('outcome' in counted) return counted;
  const { range, selector, requests } = counted;
  const errors = await prometheus.sum(
    `sum(increase(envoy_cluster_upstream_rq{${selector},envoy_response_code=~"5.."}[${range}]))`,
  );
  const rate = ((requests - errors) * 100) / requests;
  const measured = `request success rate of ${window.to} ${formatNumber(rate)} % over the last ${range} (${Math.round(requests)} requests)`;
  return rate >= gate.minPercent
    ? { outcome: 'passed', message: `${measured}, minimum ${gate.minPercent} %` }
    : { outcome: 'failed', message: `${measured} is below the minimum ${gate.minPercent} %` };
}

async function checkLatency(
  gate: LatencyGate,
  window: MetricWindow,
  prometheus: PrometheusClient,
): Promise<MetricResult> {
  const counted = await countRequests(
    gate,
    window,
    prometheus,
    'envoy_cluster_upstream_rq_time_count',
  );
  if ('outcome' in counted) return counted;
  const { range, selector, requests } = counted;
  // Envoy records upstream_rq_time in milliseconds.
  const [p99] = await prometheus.query(
    `histogram_quantile(0.99, sum by (le) (rate(envoy_cluster_upstream_rq_time_bucket{${selector}}[${range}])))`,
  );
  if (p99 === undefined || Number.isNaN(p99)) {
    return {
      outcome: 'inconclusive',
      message: `no request time histogram for ${window.to} over the last ${range}`,
    };
  }
  const measured = `p99 latency of ${window.to} ${formatNumber(p99)} ms over the last ${range} (${Math.round(requests)} requests)`;
  return p99 <= gate.maxP99Ms
    ? { outcome: 'passed', message: `${measured}, maximum ${gate.maxP99Ms} ms` }
    : { outcome: 'failed', message: `${measured} is above the maximum ${gate.maxP99Ms} ms` };
}

/**
 * The requests to `to` in the window, counted with `counter`; an inconclusive result when they
 * are fewer than the gate's minimum.
 */
async function countRequests(
  gate: SuccessRateGate | LatencyGate,
  window: MetricWindow,
  prometheus: PrometheusClient,
  counter: string,
): Promise<MetricResult | { range: string; selector: string; requests: number }> {
  const range = promDuration(window.windowMs);
  const selector = toTarget(window);
  const requests = await prometheus.sum(`sum(increase(${counter}{${selector}}[${range}]))`);
  if (requests >= gate.minRequests) return { range, selector, requests };
  return {
    outcome: 'inconclusive',
    message: `too few requests to ${window.to} to judge its ${gate.kind === 'latency' ? 'latency' : 'success rate'}: ${Math.round(requests)} over the last ${range}, ${gate.minRequests} needed`,
  };
}

/** Up to two decimals, without trailing zeros: 99.9, 0.05, 1200. */
function formatNumber(value: number): string {
  return String(Math.round(value * 100) / 100);
}

class PrometheusError extends Error {}

/** Prometheus' instant-query API (`GET /api/v1/query`), as much of it as the gates use. */
class PrometheusClient {
  constructor(
    private readonly address: string,
    private readonly timeoutMs: number,
    private readonly cancel: AbortSignal,
  ) {}

  /** The value of each series (or the scalar) the query answers. */
  async query(query: string): Promise<number[]> {
    const url = new URL(
      'api/v1/query',
      this.address.endsWith('/') ? this.address : `${this.address}/`,
    );
    url.searchParams.set('query', query);
    let response: Response;
    let body: PrometheusAnswer;
    try {
      response = await fetch(url, {
        headers: { accept: 'application/json', 'user-agent': 'trellis-rollouts' },
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(this.timeoutMs), this.cancel]),
      });
      body = (await response.json()) as PrometheusAnswer;
    } catch (error) {
      const name = (error as { name?: string }).name;
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new PrometheusError(
        name === 'TimeoutError' || name === 'AbortError'
          ? `Prometheus at ${this.address} did not answer within ${this.timeoutMs} ms`
          : `Prometheus at ${this.address} could not be queried: ${cause?.code ?? cause?.message ?? (error as Error).message}`,
      );
    }
    if (body.status !== 'success' || !body.data) {
      throw new PrometheusError(
        `Prometheus at ${this.address} answered ${response.status} to ${JSON.stringify(query)}: ${body.errorType ?? 'error'}: ${body.error ?? 'no data'}`,
      );
    }
    const { resultType, result } = body.data;
    if (resultType === 'scalar') return [Number((result as [number, string])[1])];
    if (resultType === 'vector') {
      return (result as Array<{ value: [number, string] }>).map((sample) =>
        Number(sample.value[1]),
      );
    }
    throw new PrometheusError(
      `Prometheus answered a ${resultType} to ${JSON.stringify(query)}; a gate's query must be an instant vector or a scalar`,
    );
  }

  /** A `sum(...)`: no series means nothing was counted. */
  async sum(query: string): Promise<number> {
    const [value] = await this.query(query);
    return value === undefined || Number.isNaN(value) ? 0 : value;
  }
}

interface PrometheusAnswer {
  status?: string;
  data?: { resultType: string; result: unknown };
  errorType?: string;
  error?: string;
}
