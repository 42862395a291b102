import 'reflect-metadata';
import pino from 'pino';
import { ConfigError, loadConfig } from './config';
import { migrateDatabase, startControlPlane } from './control-plane';
import { bootstrapKey } from './keys-bootstrap';

/** How often the process checks that the process that started it is still there. */
const PARENT_CHECK_MS = 1000;

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
  if (config.migrations === 'migrate-only') {
    await migrateDatabase(config, logger);
    return;
  }
  const controlPlane = await startControlPlane(config, logger);
  let stopping = false;
  const stop = (reason: string, exitCode = 0): void => {
    if (stopping) {
      // A second signal: skip what is left of the drain.
      logger.warn({ reason }, 'stopping now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ reason }, 'shutting down: draining xDS streams and requests, then the database');
    controlPlane.close().then(
      () => process.exit(exitCode),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  watchParent(() => stop('the parent process exited'));
  // The embedded Postgres died and could not be restarted: exit non-zero, so that whatever
  // supervises this process (systemd, Kubernetes, Docker) starts it afresh.
  void controlPlane.databaseFailed.then(() => stop('database failed', 70));
}

/**
 * Shuts down when the process that started this one goes away. `npm start` runs the server
 * under npm and a shell; when npm dies without passing on its signal, the server (and its
 * embedded Postgres) would otherwise run on, orphaned. As PID 1 of a container there is no
 * parent to watch.
 */
function watchParent(onExit: () => void): void {
  const parent = process.ppid;
  if (parent <= 1) return;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onExit();
  }, PARENT_CHECK_MS);
  timer.unref();
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
