import type { TypeUrl } from '../../../xds-types/src/resource-types';

/**
 * Envoy messages by the IR they were built from. Proxies that need an equal resource (the cluster
 * of a target listener, its endpoints) get one message object, built once; the xDS engine
 * encodes and validates a message object once however many proxies it goes to. The IR is plain
 * data, so its JSON is its content.
 *
 * Bounded: once `maxEntries` messages were cached since the last turnover, the older generation
 * is dropped; a message in use keeps being found because every hit moves it to the current one.
 */
export class EnvoyMessageCache {
  private current = new Map<string, object>();
  private previous = new Map<string, object>();

  constructor(private readonly maxEntries = 50_000) {}

  /** The message for `ir` of type `typeUrl`, built by `build` unless an equal one is cached. */
  message<Ir>(typeUrl: TypeUrl, ir: Ir, build: (ir: Ir) => object): object {
    const key = `${typeUrl}\u0000${JSON.stringify(ir)}`;
    let message = this.current.get(key);
    if (message !== undefined) return message;
    message = this.previous.get(key) ?? build(ir);
    if (this.current.size >= this.maxEntries) {
      this.previous = this.current;
      this.current = new Map();
    }
    this.current.set(key, message);
    return message;
  }
}
