import type * as grpc from '@grpc/grpc-js';
import type { ServerHttp2Session } from 'node:http2';

/**
 * Sends GOAWAY on the HTTP/2 connection a server call arrived on, so that its client opens a
 * new connection — through the load balancer, to any replica — instead of retrying on this one.
 *
 * grpc-js offers GOAWAY only for a whole port (`drain`, `unbind`, `tryShutdown`) or on its own
 * connection-age timer; a single connection is reachable only through the server's private
 * session map (grpc-js pinned in package.json; the drain and max-age tests fail if it moves).
 * Node's `session.close()` sends GOAWAY naming the last stream it accepted, so streams already
 * open keep working until they end, and the session closes itself after its last stream.
 *
 * Returns false when the connection is not found (already closed, or grpc-js changed).
 */
export function goAwayConnectionOf(server: grpc.Server, call: { getPeer(): string }): boolean {
  const peer = call.getPeer();
  for (const session of serverSessions(server)) {
    const socket = session.socket as { remoteAddress?: string; remotePort?: number } | undefined;
    if (`${socket?.remoteAddress}:${socket?.remotePort}` !== peer) continue;
    if (!session.closed) session.close();
    return true;
  }
  return false;
}

/**
 * grpc-js' `forceShutdown()` destroys the sessions in its channelz map only; with channelz off
 * (as Trellis runs) that map is empty, so open connections outlived the server and kept the
 * process alive. Destroys every open connection of the server; call it with forceShutdown.
 */
export function destroyConnections(server: grpc.Server): void {
  for (const session of serverSessions(server)) {
    if (!session.destroyed) session.destroy();
  }
}

/**
 * The server's open HTTP/2 sessions. grpc-js keeps them per listening server
 * (`http2Servers.get(server).sessions`), and with channelz on also in `sessions`; Trellis runs
 * with channelz off (libs/xds/src/ads-server.ts), so both places are read.
 */
function serverSessions(server: grpc.Server): Set<ServerHttp2Session> {
  const found = new Set<ServerHttp2Session>();
  const internals = server as unknown as {
    sessions?: unknown;
    http2Servers?: unknown;
  };
  if (internals.sessions instanceof Map) {
    for (const session of (internals.sessions as Map<ServerHttp2Session, unknown>).keys()) {
      found.add(session);
    }
  }
  if (internals.http2Servers instanceof Map) {
    for (const entry of (internals.http2Servers as Map<unknown, { sessions?: unknown }>).values()) {
      if (!(entry.sessions instanceof Set)) continue;
      for (const session of entry.sessions as Set<ServerHttp2Session>) found.add(session);
    }
  }
  return found;
}
