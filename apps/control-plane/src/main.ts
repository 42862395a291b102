import 'reflect-metadata';
import pino from 'pino';
import { ConfigError, loadConfig } from './config';
import { startControlPlane } from './control-plane';
import { bootstrapKey } from './keys-bootstrap';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`trellis: ${error.message}\n`);
    process.exit(2);
  }
  const logger = pino({ level: config.logLevel, base: { service: 'trellis' } });
  const [command, subcommand, ...rest] = process.argv.slice(2);
  if (command === 'keys' && subcommand === 'bootstrap') {
    const nameFlag = rest.indexOf('--name');
    await bootstrapKey(
      config,
      logger,
      nameFlag >= 0 ? (rest[nameFlag + 1] ?? '') : 'admin',
      process.stdout,
    );
    return;
  }
  if (command !== undefined) {
    throw new ConfigError(
      `unknown command "${process.argv.slice(2).join(' ')}"; the one command is: keys bootstrap [--name <name>]`,
    );
  }
  const controlPlane = await startControlPlane(config, logger);
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: draining requests, then stopping the database');
    controlPlane.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`trellis: ${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(
    `trellis: failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
