import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { LoadCommand, LoadEvent } from './load-client';

/** The load generator process, as promises. */
export class LoadGeneratorProcess {
  private readonly child: ChildProcess;
  private readonly waiting = new Map<LoadEvent['kind'], (event: LoadEvent) => void>();
  private stopping = false;
  lastProgress = { opened: 0, synced: 0 };

  constructor(onFailure: (message: string) => void) {
    this.child = fork(path.join(__dirname, 'load-client.js'), [], { stdio: 'inherit' });
    this.child.on('message', (event: LoadEvent) => {
      if (event.kind === 'failed') onFailure(`load generator: ${event.message}`);
      if (event.kind === 'progress') this.lastProgress = event;
      this.waiting.get(event.kind)?.(event);
    });
    this.child.on('exit', (code, signal) => {
      if (!this.stopping) onFailure(`load generator exited (${code ?? signal})`);
    });
  }

  send(command: LoadCommand): void {
    this.child.send(command);
  }

  next<K extends LoadEvent['kind']>(kind: K): Promise<Extract<LoadEvent, { kind: K }>> {
    return new Promise((resolve) =>
      this.waiting.set(kind, (event) => {
        this.waiting.delete(kind);
        resolve(event as Extract<LoadEvent, { kind: K }>);
      }),
    );
  }

  stop(): void {
    this.stopping = true;
    if (this.child.connected) this.send({ kind: 'stop' });
    else this.child.kill();
  }
}
