import type { RolloutGate, Weights } from '../../../libs/mesh-model/src/rollout';

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
  gate: RolloutGate,
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
