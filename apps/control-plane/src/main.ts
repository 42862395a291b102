import 'reflect-metadata';
import pino from 'pino';
import { ConfigError, loadConfig } from './config';
import { startControlPlane } from './control-plane';

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
  const controlPlane = await startControlPlane(config, logger);
  let stopping = false;
  const stop = (signal: NodeJS.Signals | 'database failed', exitCode = 0): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: draining requests, then stopping the database');
    controlPlane.close().then(
      () => process.exit(exitCode),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // The embedded Postgres died and could not be restarted: exit non-zero, so that whatever
  // supervises this process (systemd, Kubernetes, Docker) starts it afresh.
  void controlPlane.databaseFailed.then(() => stop('database failed', 70));
}

main().catch((error: unknown) => {
  process.stderr.write(
    `trellis: failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
