import type { RouteConfiguration } from '../../libs/envoy-api/generated/envoy/config/route/v3/route';
import type { DiscoveryResponse } from '../../libs/envoy-api/generated/envoy/service/discovery/v3/discovery';
import { CLUSTER, LISTENER, ROUTE_CONFIGURATION } from '../../libs/xds-types/src/resource-types';
import { type AdsChannel, decodedResources, SotwAdsClient } from './xds';

/** The egress route configuration of a sidecar whose backends listen on http 8080. */
const ROUTE_CONFIG = 'rds_egress_http_8080';

/** Virtual node → weight. */
export type Weights = Record<string, number>;

/** How a sidecar answers a route configuration with these weights of its service. */
export type Answer = (weights: Weights) => 'ack' | 'nack' | 'ignore';

/** What an {@link AnsweringSidecar} says when it rejects a route configuration. */
export const NACK_MESSAGE = 'weights not allowed here';

/**
 * A sidecar that subscribes like Envoy and then answers every response on its own, route
 * configurations as `answer` says (by the weights they give `service`), and keeps the weights
 * it saw.
 */
export class AnsweringSidecar {
  /** The weights of the service in each route configuration accepted, in order. */
  readonly routeWeights: Weights[] = [];
  readonly rejected: Weights[] = [];
  private closed = false;

  private constructor(
    private readonly client: SotwAdsClient,
    private readonly meshName: string,
    private readonly service: string,
    private readonly answerRoutes: Answer,
  ) {}

  static async connect(
    port: number,
    meshName: string,
    virtualNode: string,
    service: string,
    answer: Answer = () => 'ack',
    channel?: AdsChannel,
  ): Promise<AnsweringSidecar> {
    const nodeId = `mesh/${meshName}/virtualNode/${virtualNode}`;
    const node = { id: nodeId, cluster: nodeId, userAgentName: 'envoy' };
    const client = new SotwAdsClient(port, node, channel);
    const sidecar = new AnsweringSidecar(client, meshName, service, answer);
    client.subscribe(CLUSTER, []);
    sidecar.answer(await client.next());
    client.subscribe(LISTENER, []);
    sidecar.answer(await client.next());
    client.subscribe(ROUTE_CONFIGURATION, [ROUTE_CONFIG]);
    sidecar.answer(await client.next());
    void sidecar.run();
    return sidecar;
  }

  close(): void {
    this.closed = true;
    this.client.close();
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      let response: DiscoveryResponse;
      try {
        response = await this.client.next();
      } catch (error) {
        // A quiet stream is normal between steps; an ended stream ends the sidecar.
        if (!this.closed && /no xDS response/.test((error as Error).message)) continue;
        return;
      }
      this.answer(response);
    }
  }

  private answer(response: DiscoveryResponse): void {
    if (response.typeUrl !== ROUTE_CONFIGURATION) {
      this.client.ack(response);
      return;
    }
    const weights = serviceWeights(response, this.meshName, this.service);
    switch (weights ? this.answerRoutes(weights) : 'ack') {
      case 'ack':
        if (weights) this.routeWeights.push(weights);
        this.client.ack(response);
        return;
      case 'nack':
        this.rejected.push(weights!);
        this.client.nack(response, NACK_MESSAGE);
        return;
      case 'ignore':
        return;
    }
  }
}

/** Virtual node → weight of the route to `service` in an RDS response (undefined if absent). */
function serviceWeights(
  response: DiscoveryResponse,
  meshName: string,
  service: string,
): Weights | undefined {
  for (const config of decodedResources(response) as RouteConfiguration[]) {
    const host = config.virtualHosts?.find((vh) => vh.domains?.includes(service));
    const action = host?.routes?.[0]?.action;
    if (action?.$case !== 'route') continue;
    const specifier = action.value.clusterSpecifier;
    const clusters =
      specifier?.$case === 'weightedClusters'
        ? (specifier.value.clusters ?? []).map((c) => [c.name ?? '', c.weight ?? 0] as const)
        : specifier?.$case === 'cluster'
          ? [[specifier.value, 100] as const]
          : [];
    const prefix = `cds_egress_${meshName}_`;
    return Object.fromEntries(
      clusters.map(([name, weight]) => [name.slice(prefix.length, -'_http_8080'.length), weight]),
    );
  }
  return undefined;
}
