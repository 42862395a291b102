import { readFileSync } from 'node:fs';
import type { Command } from '../command';
import { noPositionals, parseCommandLine, required, UsageError } from '../command-line';
import { ExitCode } from '../exit-codes';
import { formatTable } from '../terminal';

const FEATURE = 'certificates';

const IMPORT_USAGE = `Usage: trellis certificates import --certificate FILE [--chain FILE] --private-key FILE [--arn ARN]
       trellis certificates import --ca-bundle FILE [--arn ARN]

Imports a certificate, its chain and private key under an ACM certificate ARN, or a CA bundle
under an ACM Private CA ARN, so that listeners and client policies naming that ARN are served it
over SDS. Without --arn, Trellis names it. Importing under an ARN again replaces the certificate:
proxies receive the new secret and nothing else. The private key is stored encrypted and never
shown again.

Flags:
  --certificate FILE   PEM certificate
  --chain FILE         PEM intermediate certificates
  --private-key FILE   PEM private key (unencrypted)
  --ca-bundle FILE     PEM CA certificates (for client policy trust)
  --arn ARN            arn:aws:acm:...:certificate/<id> or arn:aws:acm-pca:...:certificate-authority/<id>
  -o, --output FORMAT  text (default) or json
  -h, --help           this help`;

const LIST_USAGE = `Usage: trellis certificates list [flags]

Lists imported certificates and CA bundles with their expiry.

Flags:
  -o, --output FORMAT  text (default) or json
  -h, --help           this help`;

const DELETE_USAGE = `Usage: trellis certificates delete ARN

Deletes an imported certificate or CA bundle; refused while a virtual node names it.

Flags:
  -h, --help           this help`;

/** A certificate of `GET /v1/certificates`. */
interface CertificateInfo {
  arn: string;
  kind: string;
  subject: string;
  notAfter: string;
}

function pem(file: string, flag: string, usage: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`--${flag}: cannot read ${file}: ${(error as Error).message}`, usage);
  }
}

const importCommand: Command = {
  name: 'certificates import',
  summary: 'import a certificate (ACM ARN) or CA bundle (ACM Private CA ARN), served over SDS',
  usage: IMPORT_USAGE,
  async run(args, context) {
    const { values, positionals, output } = parseCommandLine(
      args,
      {
        certificate: { type: 'string' },
        chain: { type: 'string' },
        'private-key': { type: 'string' },
        'ca-bundle': { type: 'string' },
        arn: { type: 'string' },
      },
      IMPORT_USAGE,
    );
    noPositionals(positionals, IMPORT_USAGE);
    let body: Record<string, string>;
    if (values['ca-bundle'] !== undefined) {
      if (values.certificate !== undefined || values['private-key'] !== undefined) {
        throw new UsageError(
          '--ca-bundle goes without --certificate and --private-key',
          IMPORT_USAGE,
        );
      }
      body = {
        certificate: pem(values['ca-bundle'], 'ca-bundle', IMPORT_USAGE),
        ...(values.arn !== undefined && { certificateAuthorityArn: values.arn }),
      };
    } else {
      body = {
        certificate: pem(
          required(values.certificate, 'certificate', IMPORT_USAGE),
          'certificate',
          IMPORT_USAGE,
        ),
        privateKey: pem(
          required(values['private-key'], 'private-key', IMPORT_USAGE),
          'private-key',
          IMPORT_USAGE,
        ),
        ...(values.chain !== undefined && {
          certificateChain: pem(values.chain, 'chain', IMPORT_USAGE),
        }),
        ...(values.arn !== undefined && { certificateArn: values.arn }),
      };
    }
    const terminal = context.terminal(output);
    const { body: info } = await context
      .api()
      .call<CertificateInfo>('POST', ['v1', 'certificates'], { body, feature: FEATURE });
    terminal.document(info);
    if (!terminal.json) terminal.line(`${info.arn} (${info.kind}, expires ${info.notAfter})`);
    return ExitCode.Success;
  },
};

const listCommand: Command = {
  name: 'certificates list',
  summary: 'list imported certificates and CA bundles with their expiry',
  usage: LIST_USAGE,
  async run(args, context) {
    const { positionals, output } = parseCommandLine(args, {}, LIST_USAGE);
    noPositionals(positionals, LIST_USAGE);
    const terminal = context.terminal(output);
    const { body } = await context
      .api()
      .call<{ certificates: CertificateInfo[] }>('GET', ['v1', 'certificates'], {
        feature: FEATURE,
      });
    terminal.document(body);
    if (terminal.json) return ExitCode.Success;
    if (body.certificates.length === 0) {
      terminal.error('No certificates are imported.');
      return ExitCode.Success;
    }
    terminal.line(
      formatTable(
        ['ARN', 'KIND', 'EXPIRES', 'SUBJECT'],
        body.certificates.map((c) => [c.arn, c.kind, c.notAfter, c.subject.replace(/\n/g, ', ')]),
      ),
    );
    return ExitCode.Success;
  },
};

const deleteCommand: Command = {
  name: 'certificates delete',
  summary: 'delete an imported certificate or CA bundle',
  usage: DELETE_USAGE,
  async run(args, context) {
    const { positionals, output } = parseCommandLine(args, {}, DELETE_USAGE);
    const [arn, ...rest] = positionals;
    if (arn === undefined || rest.length > 0) throw new UsageError('give one ARN', DELETE_USAGE);
    const terminal = context.terminal(output);
    await context.api().call('DELETE', ['v1', 'certificates', arn], { feature: FEATURE });
    if (!terminal.json) terminal.line(`deleted ${arn}`);
    return ExitCode.Success;
  },
};

export const certificatesCommands: Command[] = [importCommand, listCommand, deleteCommand];
