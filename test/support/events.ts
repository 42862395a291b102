import { request, type IncomingMessage } from 'node:http';

export interface ServerSentEvent {
  id?: string;
  event: string;
  data: unknown;
}

/**
 * A plain HTTP client of `GET /v1/meshes/{mesh}/events`: parses the stream as the SSE spec says
 * (fields, blank-line dispatch, comment lines) and keeps every event and comment it read.
 */
export class EventStreamClient {
  readonly events: ServerSentEvent[] = [];
  readonly comments: string[] = [];
  ended = false;
  private buffer = '';
  private waiters: Array<() => void> = [];

  private constructor(readonly response: IncomingMessage) {
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => this.read(chunk));
    response.on('end', () => this.finish());
    response.on('close', () => this.finish());
  }

  static open(url: string): Promise<EventStreamClient> {
    return new Promise((resolve, reject) => {
      const outgoing = request(url, { headers: { accept: 'text/event-stream' } }, (response) =>
        resolve(new EventStreamClient(response)),
      );
      outgoing.on('error', reject);
      outgoing.end();
    });
  }

  /** The first event (already read or still to come) of `type` that `match` accepts. */
  async next<T>(
    type: string,
    match: (data: T) => boolean = () => true,
    timeoutMs = 10_000,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find((event) => event.event === type && match(event.data as T));
      if (found) return found.data as T;
      if (this.ended) throw new Error(`event stream ended before a matching ${type} event`);
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `no matching ${type} event within ${timeoutMs} ms; got ${JSON.stringify(this.events.map((event) => event.event))}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Resolves when the server ended the stream. */
  async end(timeoutMs = 10_000): Promise<void> {
    await this.next('__never__', () => false, timeoutMs).catch((error: Error) => {
      if (!this.ended) throw error;
    });
  }

  close(): void {
    this.response.destroy();
  }

  private read(chunk: string): void {
    this.buffer += chunk;
    let blank: number;
    while ((blank = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, blank);
      this.buffer = this.buffer.slice(blank + 2);
      let event = 'message';
      let id: string | undefined;
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
        else if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('id: ')) id = line.slice(4);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (data.length > 0) this.events.push({ id, event, data: JSON.parse(data.join('\n')) });
    }
    this.wake();
  }

  private finish(): void {
    this.ended = true;
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}
