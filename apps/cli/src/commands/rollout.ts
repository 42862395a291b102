import { setTimeout as sleep } from 'node:timers/promises';
import type { Command, CommandContext } from '../command';
import {
  formatDuration,
  parseCommandLine,
  parseDuration,
  required,
  UsageError,
} from '../command-line';
import { ExitCode } from '../exit-codes';
import { ackedSummary, pollTimeout, type Propagation } from '../propagation';
import type { Terminal } from '../terminal';
import { isTransient, type TrellisApi } from '../trellis-api';
import { formatWeights, type Weights } from '../weighted-targets';

const FEATURE = 'rollouts';
const ON_ABORT = ['instant', 'stepped', 'freeze'] as const;
const POLL_MS = 1000;

/** `GET /v1/meshes/{mesh}/rollouts/{id}`: the fields the CLI shows. */
interface Rollout {
  id: string;
  state: string;
  /** The percentages sent to the new node, in order. */
  steps?: number[];
  /** The step being worked on, from 1; 0 before the first step and while rolling back. */
  step?: number;
  weights?: Weights;
  propagation?: Propagation;
  abort?: { reason?: string } | null;
  events?: Array<{ time?: string; message?: string }>;
}

/** How a rollout's state ends a watch: the exit code, or undefined while it moves on its own. */
function exitCodeOfState(state: string): ExitCode | undefined {
  switch (state) {
    case 'Succeeded':
      return ExitCode.Success;
    case 'Aborted':
    case 'Failed':
      return ExitCode.Failed;
    // Nothing changes until someone resumes or promotes: a pipeline should hear it now.
    case 'Paused':
    case 'WaitingPromotion':
      return ExitCode.Paused;
    default:
      return undefined;
  }
}

const START_USAGE = `Usage: trellis rollout start --mesh MESH --router ROUTER --route ROUTE --from NODE --to NODE
                             (--steps LIST | --linear STEP | --preset NAME) [flags]

Starts a progressive rollout: shifts the route's traffic from one virtual node to another
step by step. Each step writes the weights, waits until every proxy has them (a rejection
aborts), calls the gates (a non-2xx answer or a timeout aborts), waits the interval, then
checks the metric gates over it (a failed check aborts; too few requests holds the step).

Flags:
  --mesh MESH                     the mesh
  --router ROUTER                 the virtual router
  --route ROUTE                   the route
  --from NODE                     the virtual node traffic moves away from
  --to NODE                       the virtual node traffic moves to
  --steps LIST                    the percentages sent to --to, in order, e.g. 5,25,50,100
                                  (100 is added when missing)
  --linear STEP                   instead of --steps: STEP %, 2×STEP %, … then 100
  --preset NAME                   instead of --steps: CodeDeploy's names, e.g.
                                  Canary10Percent5Minutes, Linear10PercentEvery1Minute,
                                  AllAtOnce (the preset sets the interval)
  --interval DURATION             time each step holds, e.g. 60s (server default: 1m)
  --gate URL                      a webhook called at each step; repeatable
  --gate-timeout DURATION         how long a gate may take to answer (server default: 10s)
  --prometheus URL                the Prometheus the metric gates below ask, at the end of
                                  each step's interval, about the traffic to --to
  --min-success-rate PERCENT      abort when fewer requests to --to succeed (non-5xx), e.g. 99
  --max-p99 DURATION              abort when the p99 latency to --to is higher, e.g. 500ms
  --min-requests N                fewer requests in the interval: the step waits (default: 10)
  --query PROMQL                  abort unless the query's value passes --query-threshold;
                                  {{ mesh }}, {{ to }}, {{ interval }}… are substituted
  --query-threshold CHECK         e.g. "<0.05" or ">=99" (one of < <= > >= and a number)
  --on-abort MODE                 instant: back to the original weights (default);
                                  stepped: back down the steps; freeze: keep the weights
  --require-promotion             stop before the last step until trellis rollout promote
  --propagation-timeout DURATION  how long the proxies have to acknowledge a step before the
                                  rollout fails (server default: 2m)
  --wait                          return when the rollout ends: 0 succeeded, 1 aborted or
                                  failed, 3 paused or waiting for promotion, 2 at the timeout
  --timeout DURATION              how long --wait waits; 0 (default) waits forever
  -o, --output FORMAT             text (default) or json
  -h, --help                      this help

Example:
  trellis rollout start --mesh demo --router api --route canary --from blue --to green \\
    --steps 5,25,50,100 --interval 60s --gate https://ci.example.com/gate --wait`;

const STATUS_USAGE = `Usage: trellis rollout status ID --mesh MESH [--watch] [flags]

Shows a rollout: state, current step, weights, propagation to the proxies, events.
Exit code: 0 pending, progressing or succeeded; 1 aborted or failed; 3 paused or waiting
for promotion.

Flags:
  --mesh MESH          the mesh
  --watch              follow the rollout until it succeeds (0), is aborted or fails (1),
                       pauses or waits for promotion (3), or the timeout passes (2)
  --timeout DURATION   how long --watch watches; 0 (default) watches forever
  -o, --output FORMAT  text (default) or json
  -h, --help           this help`;

function actionUsage(action: string, description: string): string {
  return `Usage: trellis rollout ${action} ID --mesh MESH [flags]

${description}

Flags:
  --mesh MESH          the mesh
  -o, --output FORMAT  text (default) or json
  -h, --help           this help`;
}

export const rolloutStartCommand: Command = {
  name: 'rollout start',
  summary: 'start a progressive rollout from one virtual node to another',
  usage: START_USAGE,
  async run(args, context) {
    const { values, positionals, output } = parseCommandLine(
      args,
      {
        mesh: { type: 'string' },
        router: { type: 'string' },
        route: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        steps: { type: 'string' },
        linear: { type: 'string' },
        preset: { type: 'string' },
        interval: { type: 'string' },
        gate: { type: 'string', multiple: true },
        'gate-timeout': { type: 'string' },
        prometheus: { type: 'string' },
        'min-success-rate': { type: 'string' },
        'max-p99': { type: 'string' },
        'min-requests': { type: 'string' },
        query: { type: 'string' },
        'query-threshold': { type: 'string' },
        'on-abort': { type: 'string' },
        'require-promotion': { type: 'boolean' },
        'propagation-timeout': { type: 'string' },
        wait: { type: 'boolean' },
        timeout: { type: 'string' },
      },
      START_USAGE,
    );
    if (positionals.length > 0) {
      throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`, START_USAGE);
    }
    const mesh = required(values.mesh, 'mesh', START_USAGE);
    const duration = (text: string | undefined, flag: string) =>
      text === undefined ? undefined : Math.round(parseDuration(text, flag, START_USAGE));
    const body: Record<string, unknown> = {
      route: {
        virtualRouter: required(values.router, 'router', START_USAGE),
        route: required(values.route, 'route', START_USAGE),
      },
      from: required(values.from, 'from', START_USAGE),
      to: required(values.to, 'to', START_USAGE),
      ...rolloutSteps(
        values.steps,
        values.linear,
        values.preset,
        duration(values.interval, 'interval'),
      ),
      onAbort: onAbortMode(values['on-abort']),
      requirePromotion: values['require-promotion'],
      propagationTimeout: duration(values['propagation-timeout'], 'propagation-timeout'),
    };
    const gateTimeout = duration(values['gate-timeout'], 'gate-timeout');
    if (gateTimeout !== undefined && !values.gate) {
      throw new UsageError('--gate-timeout applies to --gate only', START_USAGE);
    }
    const gates: unknown[] = (values.gate ?? []).map((url) => ({
      url: gateUrl(url),
      timeout: gateTimeout,
    }));
    gates.push(...metricGates(values, duration));
    if (gates.length > 0) body.gates = gates;
    const timeoutMs = waitTimeout(values.wait, values.timeout, '--wait', START_USAGE);
    const terminal = context.terminal(output);
    const api = context.api();

    const { body: rollout } = await api.call<Rollout>('POST', ['v1', 'meshes', mesh, 'rollouts'], {
      body,
      feature: FEATURE,
    });
    if (!values.wait) {
      terminal.document(rollout);
      terminal.line(`Rollout ${rollout.id} started: ${describeState(rollout)}.`);
      return ExitCode.Success;
    }
    terminal.line(`Rollout ${rollout.id} started.`);
    return watch(terminal, api, mesh, rollout.id, timeoutMs);
  },
};

export const rolloutStatusCommand: Command = {
  name: 'rollout status',
  summary: 'show a rollout; --watch until it ends or pauses',
  usage: STATUS_USAGE,
  async run(args, context) {
    const { values, positionals, output } = parseCommandLine(
      args,
      { mesh: { type: 'string' }, watch: { type: 'boolean' }, timeout: { type: 'string' } },
      STATUS_USAGE,
    );
    const id = rolloutId(positionals, STATUS_USAGE);
    const mesh = required(values.mesh, 'mesh', STATUS_USAGE);
    const timeoutMs = waitTimeout(values.watch, values.timeout, '--watch', STATUS_USAGE);
    const terminal = context.terminal(output);
    const api = context.api();
    if (values.watch) return watch(terminal, api, mesh, id, timeoutMs);
    const rollout = await getRollout(api, mesh, id);
    terminal.document(rollout);
    printRollout(terminal, rollout);
    return exitCodeOfState(rollout.state) ?? ExitCode.Success;
  },
};

/** pause, resume, promote, abort: a POST to the rollout's action, answering the rollout. */
function rolloutAction(action: string, summary: string, description: string): Command {
  const usage = actionUsage(action, description);
  return {
    name: `rollout ${action}`,
    summary,
    usage,
    async run(args: string[], context: CommandContext) {
      const { values, positionals, output } = parseCommandLine(
        args,
        { mesh: { type: 'string' } },
        usage,
      );
      const id = rolloutId(positionals, usage);
      const mesh = required(values.mesh, 'mesh', usage);
      const terminal = context.terminal(output);
      const { body: rollout } = await context
        .api()
        .call<Rollout>('POST', ['v1', 'meshes', mesh, 'rollouts', id, action], {
          feature: FEATURE,
        });
      terminal.document(rollout);
      terminal.line(`Rollout ${id}: ${describeState(rollout)}.`);
      return ExitCode.Success;
    },
  };
}

export const rolloutCommands: Command[] = [
  rolloutStartCommand,
  rolloutStatusCommand,
  rolloutAction(
    'pause',
    'pause a rollout at its current step',
    'Pauses a rollout at its current step; the weights stay. trellis rollout resume continues it.',
  ),
  rolloutAction('resume', 'continue a paused rollout', 'Continues a paused rollout.'),
  rolloutAction(
    'promote',
    'send all traffic to the new node now',
    'Skips the remaining steps: sends all traffic to the new virtual node.',
  ),
  rolloutAction(
    'abort',
    'stop a rollout and apply its on-abort policy',
    'Stops a rollout and applies its on-abort policy (instant, stepped or freeze).',
  ),
];

/**
 * Follows a rollout until its state decides the exit code. A server that cannot be reached
 * for a moment (a restart mid-rollout) is asked again until the timeout.
 */
async function watch(
  terminal: Terminal,
  api: TrellisApi,
  mesh: string,
  id: string,
  timeoutMs: number,
): Promise<ExitCode> {
  const started = Date.now();
  const deadline = timeoutMs > 0 ? started + timeoutMs : Infinity;
  let rollout: Rollout | undefined;
  let shownEvents = 0;
  for (;;) {
    try {
      rollout = await getRollout(api, mesh, id, pollTimeout(deadline));
      const events = rollout.events ?? [];
      for (const event of events.slice(shownEvents)) terminal.line(formatEvent(event));
      shownEvents = events.length;
      terminal.progress(`${progressLine(rollout)} (${formatDuration(Date.now() - started)})`);
      const exitCode = exitCodeOfState(rollout.state);
      if (exitCode !== undefined) {
        terminal.clearProgress();
        terminal.document(rollout);
        terminal.line(`Rollout ${id}: ${describeState(rollout)}.`);
        if (exitCode === ExitCode.Failed) {
          terminal.error(`trellis: rollout ${id} ${rollout.state.toLowerCase()}`);
        }
        return exitCode;
      }
    } catch (error) {
      if (!isTransient(error)) throw error;
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      terminal.clearProgress();
      terminal.document(rollout ?? null);
      terminal.error(
        `trellis: timed out after ${formatDuration(Date.now() - started)} watching rollout ${id}${rollout ? `: ${describeState(rollout)}` : ''}`,
      );
      return ExitCode.TimedOut;
    }
    await sleep(Math.min(POLL_MS, remaining));
  }
}

async function getRollout(
  api: TrellisApi,
  mesh: string,
  id: string,
  timeoutMs?: number,
): Promise<Rollout> {
  const path = ['v1', 'meshes', mesh, 'rollouts', id];
  return (await api.call<Rollout>('GET', path, { feature: FEATURE, timeoutMs })).body;
}

function printRollout(terminal: Terminal, rollout: Rollout): void {
  terminal.line(`Rollout ${rollout.id}: ${describeState(rollout)}`);
  if (rollout.weights) terminal.line(`  weights:     ${formatWeights(rollout.weights)}`);
  if (rollout.propagation) {
    terminal.line(
      `  propagation: revision ${rollout.propagation.revision}, ${ackedSummary(rollout.propagation)}`,
    );
  }
  const events = rollout.events ?? [];
  if (events.length > 0) terminal.line('  events:');
  for (const event of events) terminal.line(`    ${formatEvent(event)}`);
}

/** `Progressing, step 2/4`; with the reason of an abort. */
function describeState(rollout: Rollout): string {
  const steps = rollout.steps;
  const step = rollout.step ? `, step ${rollout.step}${steps ? `/${steps.length}` : ''}` : '';
  const abort = rollout.abort?.reason ? ` (${rollout.abort.reason})` : '';
  return `${rollout.state}${step}${abort}`;
}

/** The live line: step, weights, acked/total proxies. */
function progressLine(rollout: Rollout): string {
  return [
    `Rollout ${rollout.id}: ${describeState(rollout)}`,
    rollout.weights && formatWeights(rollout.weights),
    rollout.propagation && ackedSummary(rollout.propagation),
  ]
    .filter(Boolean)
    .join(' · ');
}

function formatEvent(event: { time?: string; message?: string }): string {
  return [event.time?.replace(/\.\d+Z$/, 'Z'), event.message].filter(Boolean).join('  ');
}

function rolloutId(positionals: string[], usage: string): string {
  if (positionals.length === 0) throw new UsageError('missing the rollout ID', usage);
  if (positionals.length > 1) {
    throw new UsageError(`unexpected argument ${JSON.stringify(positionals[1])}`, usage);
  }
  return positionals[0]!;
}

/**
 * The steps as the API takes them: a list, `{linear: {step, every}}` or a preset name, with the
 * interval (durations in milliseconds). The server checks the rest (App Mesh weights are
 * whole numbers, presets it knows); these are the mistakes a command line makes.
 */
function rolloutSteps(
  steps: string | undefined,
  linear: string | undefined,
  preset: string | undefined,
  intervalMs: number | undefined,
): { steps: unknown; interval?: number } {
  const given = [steps, linear, preset].filter((value) => value !== undefined).length;
  if (given !== 1) throw new UsageError('give one of --steps, --linear, --preset', START_USAGE);
  if (steps !== undefined) return { steps: stepList(steps), interval: intervalMs };
  if (linear !== undefined) {
    if (intervalMs === undefined) throw new UsageError('--linear needs --interval', START_USAGE);
    return { steps: { linear: { step: percent(linear, '--linear'), every: intervalMs } } };
  }
  if (intervalMs !== undefined) {
    throw new UsageError(`the preset ${preset} sets the interval; drop --interval`, START_USAGE);
  }
  return { steps: preset };
}

/** `5,25,50,100`: whole percentages for the new node, each above the one before. */
function stepList(text: string): number[] {
  const weights = text.split(',').map((step) => percent(step.trim(), '--steps'));
  weights.forEach((weight, index) => {
    if (index > 0 && weight <= weights[index - 1]!) {
      throw new UsageError(`--steps must increase: ${text}`, START_USAGE);
    }
  });
  return weights;
}

function percent(text: string, flag: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 100) {
    throw new UsageError(
      `bad weight ${JSON.stringify(text)} in ${flag}: a whole percentage from 1 to 100`,
      START_USAGE,
    );
  }
  return Number(text);
}

function onAbortMode(mode: string | undefined): string | undefined {
  if (mode !== undefined && !(ON_ABORT as readonly string[]).includes(mode)) {
    throw new UsageError(`--on-abort must be ${ON_ABORT.join(', ')}; got ${mode}`, START_USAGE);
  }
  return mode;
}

function gateUrl(url: string, flag = 'gate'): string {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    // reported below
  }
  if (parsed?.protocol !== 'http:' && parsed?.protocol !== 'https:') {
    throw new UsageError(`--${flag} must be an http or https URL, got ${url}`, START_USAGE);
  }
  return url;
}

/**
 * The metric gates as the API takes them, from --prometheus and the checks; the server
 * validates the values (ranges, query variables) and names the field of any problem.
 */
function metricGates(
  values: {
    prometheus?: string;
    'min-success-rate'?: string;
    'max-p99'?: string;
    'min-requests'?: string;
    query?: string;
    'query-threshold'?: string;
  },
  duration: (text: string | undefined, flag: string) => number | undefined,
): unknown[] {
  const checks = ['min-success-rate', 'max-p99', 'query'] as const;
  const given = checks.filter((flag) => values[flag] !== undefined);
  if (values.prometheus === undefined) {
    const [flag] = [...given, ...(values['min-requests'] !== undefined ? ['min-requests'] : [])];
    if (flag) throw new UsageError(`--${flag} needs --prometheus`, START_USAGE);
    return [];
  }
  if (given.length === 0) {
    throw new UsageError(
      '--prometheus needs a check: --min-success-rate, --max-p99 or --query',
      START_USAGE,
    );
  }
  if ((values.query === undefined) !== (values['query-threshold'] === undefined)) {
    throw new UsageError('--query and --query-threshold go together', START_USAGE);
  }
  const address = gateUrl(values.prometheus, 'prometheus');
  const minRequests =
    values['min-requests'] === undefined
      ? undefined
      : number(values['min-requests'], 'min-requests');
  const gates: unknown[] = [];
  if (values['min-success-rate'] !== undefined) {
    gates.push({
      successRate: {
        address,
        min: number(values['min-success-rate'], 'min-success-rate'),
        minRequests,
      },
    });
  }
  if (values['max-p99'] !== undefined) {
    gates.push({
      latency: { address, maxP99: duration(values['max-p99'], 'max-p99'), minRequests },
    });
  }
  if (values.query !== undefined) {
    const check = /^\s*(<=|>=|<|>)\s*(-?\d+(?:\.\d+)?)\s*$/.exec(values['query-threshold'] ?? '');
    if (!check) {
      throw new UsageError(
        `--query-threshold must be a comparison and a number like "<0.05", got ${values['query-threshold']}`,
        START_USAGE,
      );
    }
    gates.push({
      prometheus: {
        address,
        query: values.query,
        comparison: check[1],
        threshold: Number(check[2]),
      },
    });
  }
  return gates;
}

function number(text: string, flag: string): number {
  if (!/^\d+(\.\d+)?$/.test(text)) {
    throw new UsageError(`--${flag} must be a number, got ${text}`, START_USAGE);
  }
  return Number(text);
}

/** Rollouts last minutes to hours, so unlike weights the default is no limit. */
function waitTimeout(
  waiting: boolean | undefined,
  timeout: string | undefined,
  flag: string,
  usage: string,
): number {
  if (timeout === undefined) return 0;
  if (!waiting) throw new UsageError(`--timeout applies to ${flag} only`, usage);
  return parseDuration(timeout, 'timeout', usage);
}
