'use strict';
// The entry point of the shift-traffic action: turns the action's inputs (INPUT_* variables, as
// a GitHub runner passes them) into one `trellis weights set` or `trellis rollout start` command
// line, runs the installed CLI with JSON output, writes the outputs to the GITHUB_OUTPUT file and
// exits with the CLI's exit code, its message as the job's error annotation. Plain Node, no
// dependencies: the action runs from a checkout of this repository without a build.
const { spawn } = require('node:child_process');
const { appendFileSync } = require('node:fs');

/** The CLI's usage-error exit code, also used for inputs the action itself rejects. */
const USAGE_ERROR = 64;
const TIMED_OUT = 2;

function input(name) {
  return (process.env[`INPUT_${name.toUpperCase()}`] ?? '').trim();
}

/** `a "b c" 'd'` → ['a', 'b c', 'd']: arguments quoted as in a shell, without expansions. */
function splitArgs(text) {
  const args = [];
  let current = '';
  let quote = '';
  let inArg = false;
  for (const char of text) {
    if (quote) {
      if (char === quote) quote = '';
      else current += char;
    } else if (char === '"' || char === "'") {
      quote = char;
      inArg = true;
    } else if (/\s/.test(char)) {
      if (inArg) args.push(current);
      current = '';
      inArg = false;
    } else {
      current += char;
      inArg = true;
    }
  }
  if (quote) throw new InputError(`args: unterminated ${quote} quote`);
  if (inArg) args.push(current);
  return args;
}

class InputError extends Error {}

/** The CLI's command line for the inputs; every problem names the input. */
function commandLine() {
  for (const name of ['endpoint', 'mesh', 'router', 'route']) {
    if (!input(name)) throw new InputError(`the input ${name} is required`);
  }
  const weights = input('weights');
  const steps = input('steps');
  if (Boolean(weights) === Boolean(steps)) {
    throw new InputError('give either the input weights or the input steps');
  }
  const route = ['--mesh', input('mesh'), '--router', input('router'), '--route', input('route')];
  let args;
  if (weights) {
    for (const name of ['from', 'to', 'interval']) {
      if (input(name)) throw new InputError(`the input ${name} applies to steps only`);
    }
    args = ['weights', 'set', ...route, ...weights.split(/[\s,]+/).filter(Boolean)];
  } else {
    for (const name of ['from', 'to']) {
      if (!input(name)) throw new InputError(`the input ${name} is required with steps`);
    }
    const stepsFlag = /^[\d\s,]+$/.test(steps)
      ? ['--steps', steps.replace(/\s/g, '')]
      : ['--preset', steps];
    args = [
      'rollout',
      'start',
      ...route,
      '--from',
      input('from'),
      '--to',
      input('to'),
      ...stepsFlag,
    ];
    if (input('interval')) args.push('--interval', input('interval'));
  }
  const wait = input('wait') || 'true';
  if (wait !== 'true' && wait !== 'false') {
    throw new InputError(`the input wait must be true or false, got ${wait}`);
  }
  if (wait === 'true') {
    args.push('--wait');
    if (input('timeout')) args.push('--timeout', input('timeout'));
  } else if (input('timeout')) {
    throw new InputError('the input timeout applies when wait is true');
  }
  return [...args, ...splitArgs(input('args')), '--output', 'json'];
}

/** Runs `trellis`, passing its stderr through to the job's log as it comes, and keeps both streams. */
function runTrellis(args) {
  const child = spawn('trellis', args, {
    env: { ...process.env, TRELLIS_ENDPOINT: input('endpoint') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
    process.stderr.write(chunk);
  });
  return new Promise((resolve) => {
    child.on('error', (error) =>
      resolve({
        code: 1,
        stdout,
        stderr:
          error.code === 'ENOENT'
            ? 'trellis: the trellis command is not installed (see the input cli-package)'
            : `trellis: cannot run the trellis command: ${error.message}`,
      }),
    );
    child.on('close', (code, signal) =>
      resolve({
        code: code ?? 1,
        stdout,
        stderr: signal ? `${stderr}trellis: killed by ${signal}` : stderr,
      }),
    );
  });
}

/** The action's outputs from the command's JSON document (null when the CLI printed none). */
function outputsOf(args, document, code) {
  if (document === null || typeof document !== 'object') return {};
  if (args[0] === 'weights') {
    return {
      weights: document.weights,
      revision: document.revision,
      outcome: document.wait?.outcome ?? 'written',
    };
  }
  return {
    weights: document.weights,
    revision: document.revision,
    outcome: code === TIMED_OUT ? 'timedOut' : document.state,
  };
}

function writeOutputs(outputs) {
  const file = process.env.GITHUB_OUTPUT;
  const lines = Object.entries(outputs)
    .filter(([, value]) => value !== undefined && value !== null)
    .map(
      ([name, value]) => `${name}=${typeof value === 'string' ? value : JSON.stringify(value)}\n`,
    )
    .join('');
  if (file) appendFileSync(file, lines);
  else process.stdout.write(lines);
}

/** A workflow command's data, escaped as the runner requires. */
function escapeData(text) {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

function fail(message, code) {
  process.stdout.write(`::error title=trellis::${escapeData(message)}\n`);
  process.exitCode = code;
}

async function main() {
  let args;
  try {
    args = commandLine();
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    fail(`shift-traffic: ${error.message}`, USAGE_ERROR);
    return;
  }
  process.stdout.write(`trellis ${args.join(' ')}\n`);
  const run = await runTrellis(args);
  let document = null;
  try {
    document = run.stdout.trim() ? JSON.parse(run.stdout) : null;
  } catch {
    process.stdout.write(run.stdout);
  }
  if (document !== null) process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
  writeOutputs(outputsOf(args, document, run.code));
  if (run.code !== 0) fail(run.stderr.trim() || `trellis exited with ${run.code}`, run.code);
}

main().catch((error) => fail(`shift-traffic: ${error.stack ?? error.message}`, 1));
