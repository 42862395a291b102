import type { OutputFormat } from './command-line';
import type { ExitCode } from './exit-codes';
import { signingConfigFromEnv } from './request-signing';
import { Terminal, type OutputStream } from './terminal';
import { DEFAULT_ENDPOINT, TrellisApi } from './trellis-api';

/** One `trellis` command; `name` is what the user types, e.g. `weights set`. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(args: string[], context: CommandContext): Promise<ExitCode>;
}

export interface ProcessIo {
  env: NodeJS.ProcessEnv;
  stdout: OutputStream;
  stderr: OutputStream;
}

/** What a command runs with; the API client is made on first use, so `--help` needs no setup. */
export class CommandContext {
  private currentTerminal?: Terminal;

  constructor(private readonly io: ProcessIo) {}

  terminal(format: OutputFormat): Terminal {
    this.currentTerminal = new Terminal(this.io.stdout, this.io.stderr, format);
    return this.currentTerminal;
  }

  /** Ends a progress line the command left on the screen, before an error is printed. */
  clearProgress(): void {
    this.currentTerminal?.clearProgress();
  }

  api(): TrellisApi {
    return new TrellisApi(
      this.io.env.TRELLIS_ENDPOINT || DEFAULT_ENDPOINT,
      signingConfigFromEnv(this.io.env),
    );
  }
}
