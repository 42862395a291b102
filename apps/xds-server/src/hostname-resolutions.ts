import { lookup } from 'node:dns/promises';
import type { Logger } from 'pino';

/** How often a name is resolved again: the system resolver gives no TTL, so a bounded interval. */
export const DNS_REFRESH_MS = 5_000;

interface Resolution {
  addresses?: readonly string[];
  timer?: NodeJS.Timeout;
}

/**
 * DNS names of DNS-discovered virtual nodes, resolved by the control plane for proxyless gRPC
 * clients (which take only IP endpoints over EDS). A name is resolved when a translation first
 * asks for it, then every {@link DNS_REFRESH_MS}; a change in its addresses is announced, so the
 * clients that use it get new endpoints. Resolution goes through the system resolver
 * (getaddrinfo: /etc/hosts, then DNS), as Envoy's would on the same host.
 */
export class HostnameResolutions {
  private readonly names = new Map<string, Resolution>();
  private readonly listeners = new Set<(hostname: string) => void>();
  private stopped = false;

  constructor(
    private readonly logger: Logger,
    private readonly refreshMs = DNS_REFRESH_MS,
  ) {}

  /** The addresses last resolved; undefined (and a resolution started) when there are none yet. */
  addresses(hostname: string): readonly string[] | undefined {
    let resolution = this.names.get(hostname);
    if (!resolution) {
      resolution = {};
      this.names.set(hostname, resolution);
      void this.resolve(hostname, resolution);
    }
    return resolution.addresses;
  }

  onChange(listener: (hostname: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stop(): void {
    this.stopped = true;
    for (const resolution of this.names.values()) clearTimeout(resolution.timer);
  }

  private async resolve(hostname: string, resolution: Resolution): Promise<void> {
    let addresses: string[] = [];
    try {
      const found = await lookup(hostname, { all: true, verbatim: true });
      addresses = found.map((entry) => entry.address);
    } catch (error) {
      this.logger.warn({ err: error, hostname }, 'a DNS-discovered virtual node does not resolve');
    }
    if (this.stopped) return;
    const changed = addresses.join(',') !== (resolution.addresses ?? []).join(',');
    resolution.addresses = addresses.length > 0 ? addresses : undefined;
    resolution.timer = setTimeout(() => void this.resolve(hostname, resolution), this.refreshMs);
    resolution.timer.unref();
    if (changed) for (const listener of this.listeners) listener(hostname);
  }
}
