import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

/**
 * CPU profiles of this process, one per phase, for Chrome DevTools or speedscope: written to
 * `<prefix>-<phase>.cpuprofile`; does nothing without a prefix.
 */
export class PhaseProfiler {
  private readonly session = new Session();

  constructor(private readonly prefix: string | undefined) {
    if (prefix) this.session.connect();
  }

  async start(): Promise<void> {
    if (!this.prefix) return;
    await this.session.post('Profiler.enable');
    await this.session.post('Profiler.start');
  }

  async stop(phase: string): Promise<void> {
    if (!this.prefix) return;
    const { profile } = await this.session.post('Profiler.stop');
    writeFileSync(`${this.prefix}-${phase}.cpuprofile`, JSON.stringify(profile));
  }
}
