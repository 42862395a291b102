import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CommandContext, type Command, type ProcessIo } from './command';
import { UsageError } from './command-line';
import { certificatesCommands } from './commands/certificates';
import { diagnoseCommand } from './commands/diagnose';
import { headersCommands } from './commands/headers';
import { historyCommand } from './commands/history';
import { keysCommands } from './commands/keys';
import { importCommand } from './commands/import';
import { proxiesCommand } from './commands/proxies';
import { registryCommands } from './commands/registry';
import { revertCommand } from './commands/revert';
import { rolloutCommands } from './commands/rollout';
import { weightsSetCommand } from './commands/weights';
import { ExitCode } from './exit-codes';
import {
  ApiError,
  DEFAULT_ENDPOINT,
  UnreachableError,
  UnsupportedOperationError,
} from './trellis-api';

const COMMANDS: Command[] = [
  weightsSetCommand,
  ...headersCommands,
  proxiesCommand,
  historyCommand,
  revertCommand,
  ...rolloutCommands,
  ...keysCommands,
  diagnoseCommand,
  ...certificatesCommands,
  importCommand,
  ...registryCommands,
];

/** Commands typed as two words (`weights set`, `rollout start`), by their first word. */
const GROUPS = new Map<string, Command[]>();
for (const command of COMMANDS) {
  const [group, action] = command.name.split(' ');
  if (action !== undefined) GROUPS.set(group!, [...(GROUPS.get(group!) ?? []), command]);
}

const HELP = `trellis: shift traffic on a Trellis control plane and know when every proxy has it

Usage: trellis <command> [flags]

Commands:
${listCommands(COMMANDS)}

Run trellis <command> --help for a command's flags; trellis --version prints the version.

Environment:
  TRELLIS_ENDPOINT       the Trellis REST API (default ${DEFAULT_ENDPOINT})
  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
                         sign requests with SigV4, as the AWS CLI does; Trellis records the
                         access key id as the actor of each change (unsigned when unset)
  AWS_REGION, AWS_DEFAULT_REGION
                         the signing region (default us-east-1)

Exit codes:
  0   success
  1   failed or aborted, rejected by a proxy, or an error from the API
  2   timed out
  3   a rollout is paused or waits for promotion
  64  usage error`;

/** Runs one command line and answers its exit code; never throws. */
export async function runCli(args: string[], io: ProcessIo): Promise<ExitCode> {
  const context = new CommandContext(io);
  try {
    const resolved = resolveCommand(args);
    if ('output' in resolved) {
      io.stdout.write(`${resolved.output}\n`);
      return ExitCode.Success;
    }
    return await resolved.command.run(resolved.args, context);
  } catch (error) {
    context.clearProgress();
    return report(error, io);
  }
}

/** A command to run, or what to print instead (a help, the version). */
type ResolvedCommand = { output: string } | { command: Command; args: string[] };

/** The command named by the first one or two words and the arguments after them, or what to print. */
function resolveCommand(args: string[]): ResolvedCommand {
  const [first, second, ...rest] = args;
  if (first === undefined) throw new UsageError('missing a command', HELP);
  if (isHelp(first) || first === 'help') return { output: HELP };
  if (first === '--version' || first === '-v') return { output: cliVersion() };
  const group = GROUPS.get(first);
  let command: Command | undefined;
  let commandArgs: string[];
  if (group) {
    const groupHelp = `Usage: trellis ${first} <command> [flags]\n\nCommands:\n${listCommands(group)}`;
    if (second === undefined) throw new UsageError(`missing a ${first} command`, groupHelp);
    if (isHelp(second)) return { output: groupHelp };
    command = group.find((candidate) => candidate.name === `${first} ${second}`);
    if (!command) throw new UsageError(`unknown command "${first} ${second}"`, groupHelp);
    commandArgs = rest;
  } else {
    command = COMMANDS.find((candidate) => candidate.name === first);
    if (!command) throw new UsageError(`unknown command "${first}"`, HELP);
    commandArgs = args.slice(1);
  }
  // Help wins over everything else on the line, even flags still missing.
  if (commandArgs.some(isHelp)) return { output: command.usage };
  return { command, args: commandArgs };
}

/** The version of the package this file is part of (src/ in a checkout, dist/ when installed). */
function cliVersion(): string {
  const manifest = path.join(__dirname, '..', 'package.json');
  return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
}

function isHelp(arg: string): boolean {
  return arg === '--help' || arg === '-h';
}

function report(error: unknown, io: ProcessIo): ExitCode {
  if (error instanceof UsageError) {
    io.stderr.write(`trellis: ${error.message}\n`);
    if (error.usage) io.stderr.write(`\n${error.usage}\n`);
    return ExitCode.Usage;
  }
  if (error instanceof ApiError) {
    // As the API said it, so scripts and people see App Mesh's exception names.
    io.stderr.write(`${error.errorType}: ${error.message}\n`);
    return ExitCode.Failed;
  }
  if (error instanceof UnsupportedOperationError || error instanceof UnreachableError) {
    io.stderr.write(`trellis: ${error.message}\n`);
    return ExitCode.Failed;
  }
  io.stderr.write(
    `trellis: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  return ExitCode.Failed;
}

function listCommands(commands: Command[]): string {
  const width = Math.max(...commands.map((command) => command.name.length));
  return commands
    .map((command) => `  ${command.name.padEnd(width)}   ${command.summary}`)
    .join('\n');
}
