import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import express, { type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { NotFoundException } from '../../../../libs/mesh-model/src/errors';
import { sendAppMeshError } from '../app-mesh/app-mesh-exception.filter';

/**
 * Where `npm run build` puts the console (apps/console, built by Vite): `dist/console`, beside
 * this file's own `dist/apps`, so the container image copies it the same way.
 */
export const CONSOLE_ROOT = join(__dirname, '../../../../console');

/**
 * The console as static files at /ui: no server of its own; its pages call the same APIs with
 * the user's access key (docs/console.md). Views are addressed by the URL's fragment
 * (`/ui/#/m/topology`), so index.html is the only page.
 */
export function serveConsole(app: NestExpressApplication, logger: Logger): void {
  if (!existsSync(join(CONSOLE_ROOT, 'index.html'))) {
    logger.warn(
      { console: CONSOLE_ROOT },
      'the console is not built (npm run build); /ui answers 404',
    );
    return;
  }
  app.use('/ui', express.static(CONSOLE_ROOT, { index: 'index.html', maxAge: '5m' }));
  app.use('/ui', (request: Request, response: Response) =>
    sendAppMeshError(
      response,
      new NotFoundException(`No console file ${request.originalUrl}; the console is at /ui/`),
    ),
  );
}
