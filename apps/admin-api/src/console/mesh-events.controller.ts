import { Controller, Get, Inject, Param, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import {
  NotFoundException,
  ServiceUnavailableException,
} from '../../../../libs/mesh-model/src/errors';
import type { AccessControl } from '../../../../libs/access/src/access-control';
import { meshId, resourceArn } from '../../../../libs/mesh-model/src/resource-kinds';
import type { AuthenticatedRequest } from '../access/request-authentication';
import { type MeshEvent, MeshEventsService } from './mesh-events.service';

/** The process' AccessControl, or null with authentication off. */
export const ACCESS_CONTROL = Symbol('AccessControl');

/** Comment lines that keep idle connections (and proxies between) from timing out. */
const DEFAULT_HEARTBEAT_MS = 15_000;
/**
 * Bytes a connection may have queued for a client that does not read; beyond it the connection
 * is closed (the client reconnects and reads the current state), so a stalled reader costs at
 * most this much memory.
 */
export const MAX_BUFFERED_BYTES = 1024 * 1024;
/** What reading a mesh's events needs (apps/admin-api/src/access/operation-actions.ts). */
const EVENTS_ACTION = 'trellis:GetMeshEvents';
/** Event connections per process. */
export const MAX_EVENT_CONNECTIONS = 1_000;

/**
 * `GET /v1/meshes/{mesh}/events`: Server-Sent Events of a mesh (docs/console.md#events):
 * `change` (a committed write, with revision and actor), `proxy` (a proxy's status changed),
 * `propagation` (how many proxies have the current revision), `rollout` (a rollout's state or
 * step changed), `diagnostics` (a revision's translation problems), and `resync` (events were
 * skipped: read the state again), and `denied` (the key may no longer read the mesh; the stream
 * ends). The first event is `hello` with the current revision, sent
 * once later events are sure to follow what a read made after it shows.
 */
@Controller('v1/meshes/:meshName/events')
export class MeshEventsController {
  constructor(
    private readonly events: MeshEventsService,
    @Inject(ACCESS_CONTROL) private readonly access: AccessControl | null,
  ) {}

  @Get()
  async stream(
    @Param('meshName') meshName: string,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    if (this.events.listeners >= MAX_EVENT_CONNECTIONS) {
      throw new ServiceUnavailableException(
        `Too many event connections (at most ${MAX_EVENT_CONNECTIONS}); try again later`,
      );
    }
    if (!(await this.events.exists(meshName))) {
      throw new NotFoundException(`Mesh ${meshName} does not exist`);
    }
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    response.flushHeaders();
    let sequence = 0;
    let closed = false;
    const send = (event: MeshEvent | { type: 'hello' | 'denied'; data: unknown }): void => {
      if (closed) return;
      if (response.writableLength > MAX_BUFFERED_BYTES) {
        close();
        return;
      }
      sequence += 1;
      response.write(
        `id: ${sequence}\nevent: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`,
      );
    };
    const heartbeat = setInterval(() => {
      if (response.writableLength <= MAX_BUFFERED_BYTES) response.write(': heartbeat\n\n');
    }, this.events.options.eventsHeartbeatMs ?? DEFAULT_HEARTBEAT_MS);
    heartbeat.unref();
    const unsubscribe = this.events.subscribe(meshName, send, () => close());
    // The signature was checked when the stream opened; it ends when the key may no longer
    // read the mesh (revoked, expired, policy changed), saying why, as xDS streams do.
    const principal = (request as AuthenticatedRequest).principal;
    const { region, accountId } = this.events.options;
    const unwatch =
      this.access && principal
        ? this.access.whileAllowed(
            principal,
            EVENTS_ACTION,
            resourceArn(region, accountId, meshId(meshName)),
            (reason) => {
              send({ type: 'denied', data: { message: reason } });
              close();
            },
          )
        : () => undefined;
    const close = (): void => {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      unsubscribe();
      unwatch();
      response.end();
    };
    request.on('close', close);
    response.on('error', close);
    response.write('retry: 2000\n\n');
    // `hello` comes once the events compare against state read now: a client that reads the
    // state on `hello` (each connection's first event) misses nothing in between.
    await this.events.primed(meshName);
    const revision = await this.events.meshes.revision(meshName);
    send({ type: 'hello', data: { meshName, revision } });
  }
}
