import { runCli } from './cli';

// The exit code is set rather than forced with process.exit, so stdout is flushed to a pipe.
void runCli(process.argv.slice(2), {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
}).then((exitCode) => {
  process.exitCode = exitCode;
});
