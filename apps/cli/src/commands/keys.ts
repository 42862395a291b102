import { readFileSync } from 'node:fs';
import type { Command } from '../command';
import { noPositionals, parseCommandLine, required, UsageError } from '../command-line';
import { ExitCode } from '../exit-codes';
import { formatTable } from '../terminal';

/** A key as `/v1/keys` shows it; `secretAccessKey` only in the answer that issued it. */
interface AccessKeyView {
  name: string;
  state: string;
  createdAt: string;
  expiresAt: string | null;
  credentials: Array<{ accessKeyId: string; expiresAt: string | null; active: boolean }>;
  accessKeyId?: string;
  secretAccessKey?: string;
}

const FEATURE = 'access keys';

const CREATE_USAGE = `Usage: trellis keys create --name NAME --policy POLICY [flags]

Creates an access key and prints its credentials once: AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY, for the AWS SDKs and CLI, Envoy's aws_iam credentials and this CLI.

Flags:
  --name NAME                the key's name; the change log records it as the actor
  --policy POLICY            IAM-style policy: JSON, or @FILE to read it from a file
  --expires-at TIME          when the key stops working (ISO 8601), default never
  --requests-per-second N    the key's request rate on each replica, default the server's
  --description TEXT         what the key is for
  -o, --output FORMAT        text (default) or json
  -h, --help                 this help`;

const LIST_USAGE = `Usage: trellis keys list [flags]

Lists access keys: name, state, access key ids and expiry. Never secrets.

Flags:
  -o, --output FORMAT  text (default) or json
  -h, --help           this help`;

const ROTATE_USAGE = `Usage: trellis keys rotate NAME [--grace DURATION_SECONDS] [flags]

Issues a new access key id and secret for the key. The previous credential keeps working for
the grace period (default 3600 seconds), so clients can roll over; then only the new one does.

Flags:
  --grace SECONDS      how long the previous credential stays valid (0: stop it now)
  -o, --output FORMAT  text (default) or json
  -h, --help           this help`;

const REVOKE_USAGE = `Usage: trellis keys revoke NAME [flags]

Revokes the key at once on every replica: its requests are refused and its xDS streams end.

Flags:
  -o, --output FORMAT  text (default) or json
  -h, --help           this help`;

const keysCreateCommand: Command = {
  name: 'keys create',
  summary: 'create an access key with a policy; prints its secret once',
  usage: CREATE_USAGE,
  async run(args, context) {
    const { values, positionals, output } = parseCommandLine(
      args,
      {
        name: { type: 'string' },
        policy: { type: 'string' },
        'expires-at': { type: 'string' },
        'requests-per-second': { type: 'string' },
        description: { type: 'string' },
      },
      CREATE_USAGE,
    );
    noPositionals(positionals, CREATE_USAGE);
    const rate = values['requests-per-second'];
    const body = {
      name: required(values.name, 'name', CREATE_USAGE),
      policy: policyOf(required(values.policy, 'policy', CREATE_USAGE)),
      ...(values['expires-at'] ? { expiresAt: values['expires-at'] } : {}),
      ...(rate ? { requestsPerSecond: Number(rate) } : {}),
      ...(values.description ? { description: values.description } : {}),
    };
    const terminal = context.terminal(output);
    const { body: key } = await context
      .api()
      .call<AccessKeyView>('POST', ['v1', 'keys'], { body, feature: FEATURE });
    terminal.document(key);
    printCredentials(terminal, key, `Created access key ${key.name}.`);
    return ExitCode.Success;
  },
};

const keysListCommand: Command = {
  name: 'keys list',
  summary: 'list access keys (never their secrets)',
  usage: LIST_USAGE,
  async run(args, context) {
    const { positionals, output } = parseCommandLine(args, {}, LIST_USAGE);
    noPositionals(positionals, LIST_USAGE);
    const terminal = context.terminal(output);
    const { body } = await context
      .api()
      .call<{ keys: AccessKeyView[] }>('GET', ['v1', 'keys'], { feature: FEATURE });
    terminal.document(body);
    const rows = body.keys.map((key) => [
      key.name,
      key.state,
      key.credentials
        .filter((credential) => credential.active)
        .map((credential) => credential.accessKeyId)
        .join(',') || '-',
      key.expiresAt ?? 'never',
    ]);
    terminal.line(formatTable(['NAME', 'STATE', 'ACCESS KEY IDS', 'EXPIRES'], rows));
    return ExitCode.Success;
  },
};

const keysRotateCommand: Command = {
  name: 'keys rotate',
  summary: 'issue a new secret; the previous one works for a grace period',
  usage: ROTATE_USAGE,
  async run(args, context) {
    const { values, positionals, output } = parseCommandLine(
      args,
      { grace: { type: 'string' } },
      ROTATE_USAGE,
    );
    const name = oneName(positionals, ROTATE_USAGE);
    const grace = values.grace === undefined ? undefined : Number(values.grace);
    if (grace !== undefined && !Number.isInteger(grace)) {
      throw new UsageError(
        `--grace must be a whole number of seconds, got ${values.grace}`,
        ROTATE_USAGE,
      );
    }
    const terminal = context.terminal(output);
    const { body: key } = await context
      .api()
      .call<AccessKeyView>('POST', ['v1', 'keys', name, 'rotate'], {
        body: grace === undefined ? {} : { graceSeconds: grace },
        feature: FEATURE,
      });
    terminal.document(key);
    const previous = key.credentials.find(
      (credential) => credential.accessKeyId !== key.accessKeyId && credential.active,
    );
    printCredentials(
      terminal,
      key,
      `Rotated access key ${key.name}.` +
        (previous ? ` ${previous.accessKeyId} keeps working until ${previous.expiresAt}.` : ''),
    );
    return ExitCode.Success;
  },
};

const keysRevokeCommand: Command = {
  name: 'keys revoke',
  summary: 'revoke an access key on every replica at once',
  usage: REVOKE_USAGE,
  async run(args, context) {
    const { positionals, output } = parseCommandLine(args, {}, REVOKE_USAGE);
    const name = oneName(positionals, REVOKE_USAGE);
    const terminal = context.terminal(output);
    const { body: key } = await context
      .api()
      .call<AccessKeyView>('POST', ['v1', 'keys', name, 'revoke'], { feature: FEATURE });
    terminal.document(key);
    terminal.line(`Revoked access key ${key.name}.`);
    return ExitCode.Success;
  },
};

export const keysCommands: Command[] = [
  keysCreateCommand,
  keysListCommand,
  keysRotateCommand,
  keysRevokeCommand,
];

function printCredentials(
  terminal: { line(text: string): void },
  key: AccessKeyView,
  headline: string,
): void {
  terminal.line(
    `${headline} The secret is shown only now.\n\n` +
      `AWS_ACCESS_KEY_ID=${key.accessKeyId}\nAWS_SECRET_ACCESS_KEY=${key.secretAccessKey}`,
  );
}

function policyOf(text: string): unknown {
  const source = text.startsWith('@') ? readFileSync(text.slice(1), 'utf8') : text;
  try {
    return JSON.parse(source) as unknown;
  } catch (error) {
    throw new UsageError(`--policy is not JSON: ${(error as Error).message}`, CREATE_USAGE);
  }
}

function oneName(positionals: string[], usage: string): string {
  if (positionals.length !== 1) throw new UsageError("give the key's name", usage);
  return positionals[0]!;
}
