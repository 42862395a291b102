import type { Logger } from 'pino';
import { trafficEndpoints } from '../../../libs/mesh-model/src/cloud-map/endpoints';
import { NotificationFeed } from '../../../libs/persistence/src/mesh-change-feed';
import {
  REGISTRY_CHANGES_CHANNEL,
  type RegistryInstance,
  type RegistryStore,
  type ServiceInstances,
} from '../../../libs/persistence/src/registry-store';
import type {
  CloudMapInstance,
  EndpointRegistry,
} from '../../../libs/translator/src/mesh-snapshot';

export interface RegistryEndpointsOptions {
  databaseUrl: string;
  /** How often service revisions are compared with what was loaded, to repair missed notifications. */
  resyncMs: number;
}

/** One service as loaded, and the instances that receive traffic now. */
interface LoadedService {
  serviceId: string;
  revision: number;
  instances: readonly RegistryInstance[];
  endpoints: readonly CloudMapInstance[];
  /** Fires when the next live lease expires. */
  expiry?: NodeJS.Timeout;
}

type ServiceListener = (namespaceName: string, serviceName: string) => void;

/**
 * The service registry in Postgres as the translator's endpoint source, kept whole in memory:
 * translation is synchronous, and every service a virtual node may name must answer at once
 * (including "does not exist"). A change notification reloads only the service it names; lease
 * expiry is evaluated here, on a timer per service, since nobody writes when a host dies.
 */
export class RegistryEndpoints implements EndpointRegistry {
  private readonly services = new Map<string, LoadedService>();
  /** Reloads in flight per service key; a change meanwhile asks for one more. */
  private readonly reloading = new Map<string, { again: boolean }>();
  private readonly listeners = new Set<ServiceListener>();
  private readonly feed: NotificationFeed;
  private resyncTimer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly store: RegistryStore,
    private readonly logger: Logger,
    private readonly options: RegistryEndpointsOptions,
  ) {
    this.feed = new NotificationFeed(
      options.databaseUrl,
      REGISTRY_CHANGES_CHANNEL,
      logger,
      (message) => {
        let payload: { namespace?: unknown; service?: unknown; revision?: unknown } | undefined;
        try {
          payload = JSON.parse(message) as typeof payload;
        } catch {
          payload = undefined;
        }
        const { namespace, service, revision } = payload ?? {};
        if (typeof namespace !== 'string' || typeof service !== 'string') {
          logger.warn({ payload: message }, 'ignoring malformed registry change notification');
          return;
        }
        const loaded = this.services.get(serviceKey(namespace, service));
        if (typeof revision === 'number' && loaded && loaded.revision >= revision) return;
        this.reload(namespace, service);
      },
      () => void this.resync(),
    );
  }

  async start(): Promise<void> {
    for (const loaded of await this.store.allServiceInstances()) this.keep(loaded);
    await this.feed.start();
    this.resyncTimer = setInterval(() => void this.resync(), this.options.resyncMs);
    this.resyncTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.resyncTimer);
    for (const loaded of this.services.values()) clearTimeout(loaded.expiry);
    await this.feed.stop();
  }

  instances(namespaceName: string, serviceName: string): readonly CloudMapInstance[] | undefined {
    return this.services.get(serviceKey(namespaceName, serviceName))?.endpoints;
  }

  /** Calls `listener` after a service's endpoints may have changed. Returns an unsubscribe. */
  onChange(listener: ServiceListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Reads a service again; coalesces changes that arrive while a read is in flight. */
  private reload(namespaceName: string, serviceName: string): void {
    const key = serviceKey(namespaceName, serviceName);
    const inFlight = this.reloading.get(key);
    if (inFlight) {
      inFlight.again = true;
      return;
    }
    const state = { again: false };
    this.reloading.set(key, state);
    void (async () => {
      do {
        state.again = false;
        try {
          const loaded = await this.store.serviceInstances(namespaceName, serviceName);
          if (this.stopped) return;
          if (loaded) this.keep(loaded);
          else this.forget(key);
          this.announce(namespaceName, serviceName);
        } catch (error) {
          // The last good endpoints stay; the next resync reads the service again.
          this.logger.warn(
            { err: error, namespace: namespaceName, service: serviceName },
            'reading a registry change failed; serving the last good endpoints',
          );
          const previous = this.services.get(key);
          if (previous) previous.revision = -1;
          break;
        }
      } while (state.again);
      this.reloading.delete(key);
    })();
  }

  private keep({ service, instances }: ServiceInstances): void {
    const key = serviceKey(service.namespaceName, service.name);
    clearTimeout(this.services.get(key)?.expiry);
    const now = Date.now();
    const loaded: LoadedService = {
      serviceId: service.id,
      revision: service.revision,
      instances,
      endpoints: trafficEndpoints(instances, now),
    };
    // The next live lease to expire: then the service is read again (a renewal may have moved it).
    const nextExpiry = Math.min(
      ...instances
        .map((instance) => instance.leaseExpiresAt?.getTime() ?? Infinity)
        .filter((at) => at > now),
    );
    if (Number.isFinite(nextExpiry)) {
      loaded.expiry = setTimeout(
        () => this.reload(service.namespaceName, service.name),
        nextExpiry - now + 1,
      );
      loaded.expiry.unref();
    }
    this.services.set(key, loaded);
  }

  private forget(key: string): void {
    clearTimeout(this.services.get(key)?.expiry);
    this.services.delete(key);
  }

  private announce(namespaceName: string, serviceName: string): void {
    for (const listener of this.listeners) listener(namespaceName, serviceName);
  }

  /** Compares every service's revision with what was loaded: repairs missed notifications. */
  private async resync(): Promise<void> {
    try {
      const current = await this.store.revisions();
      const present = new Set<string>();
      for (const { namespaceName, serviceName, serviceId, revision } of current) {
        const key = serviceKey(namespaceName, serviceName);
        present.add(key);
        const loaded = this.services.get(key);
        if (!loaded || loaded.serviceId !== serviceId || loaded.revision !== revision) {
          this.reload(namespaceName, serviceName);
        }
      }
      for (const key of this.services.keys()) {
        if (present.has(key)) continue;
        const [namespaceName, serviceName] = JSON.parse(key) as [string, string];
        this.reload(namespaceName, serviceName);
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'registry resync failed; serving the last good endpoints');
    }
  }
}

function serviceKey(namespaceName: string, serviceName: string): string {
  return JSON.stringify([namespaceName, serviceName]);
}
