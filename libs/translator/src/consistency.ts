import type {
  CertificateSourceIr,
  DestinationIr,
  FilterChainIr,
  ProxyIr,
  TrustSourceIr,
} from './ir';

type TlsSourceIr = CertificateSourceIr | TrustSourceIr;

/**
 * What would make a proxy's configuration inconsistent (go-control-plane's `Consistent()` rule):
 * a cluster a route or TCP proxy names that is not sent, an EDS cluster without its
 * ClusterLoadAssignment (or one without its cluster), an RDS name without its RouteConfiguration,
 * an SDS secret Trellis serves that is not sent, a name sent twice. The translator builds consistent IR; this states the rule and tests hold it.
 */
export function consistencyProblems(ir: ProxyIr): string[] {
  const problems: string[] = [];
  const clusters = new Set(ir.clusters.map((cluster) => cluster.name));
  const routeConfigurations = new Set(ir.routeConfigurations.map((config) => config.name));
  const endpointSets = new Set(ir.endpoints.map((set) => set.clusterName));

  const duplicates = (kind: string, names: string[]) => {
    const seen = new Set<string>();
    for (const name of names) {
      if (seen.has(name)) problems.push(`${kind} ${name} is sent twice`);
      seen.add(name);
    }
  };
  duplicates(
    'listener',
    ir.listeners.map((listener) => listener.name),
  );
  duplicates(
    'route configuration',
    ir.routeConfigurations.map((config) => config.name),
  );
  duplicates(
    'cluster',
    ir.clusters.map((cluster) => cluster.name),
  );
  duplicates(
    'cluster load assignment',
    ir.endpoints.map((set) => set.clusterName),
  );
  duplicates(
    'secret',
    ir.secrets.map((secret) => secret.name),
  );

  const checkDestination = (where: string, destination: DestinationIr) => {
    const names =
      destination.kind === 'cluster'
        ? [destination.name]
        : destination.clusters.map((cluster) => cluster.name);
    for (const name of names) {
      if (!clusters.has(name)) problems.push(`${where} names cluster ${name}, which is not sent`);
    }
  };
  const checkRoutes = (where: string, configs: ProxyIr['routeConfigurations']) => {
    for (const config of configs) {
      for (const host of config.virtualHosts) {
        for (const route of host.routes) {
          checkDestination(
            `${where} ${config.name}/${host.name}/${route.name}`,
            route.action.destination,
          );
        }
      }
    }
  };
  const secrets = new Set(ir.secrets.map((secret) => secret.name));
  const checkSecrets = (where: string, sources: ReadonlyArray<TlsSourceIr | undefined>) => {
    for (const source of sources) {
      if (source?.kind === 'ads' && !secrets.has(source.secretName)) {
        problems.push(`${where} names secret ${source.secretName}, which is not sent`);
      }
    }
  };
  const checkChain = (listener: string, chain: FilterChainIr) => {
    checkSecrets(`listener ${listener}`, [
      chain.tls?.certificate,
      chain.tls?.clientValidation?.trust,
    ]);
    const network = chain.network;
    if (network.kind === 'tcp') {
      checkDestination(`listener ${listener}`, network.destination);
    } else if (network.routes.kind === 'inline') {
      checkRoutes(`listener ${listener}`, [network.routes.config]);
    } else if (!routeConfigurations.has(network.routes.name)) {
      problems.push(
        `listener ${listener} names route configuration ${network.routes.name}, which is not sent`,
      );
    }
  };

  for (const listener of ir.listeners) {
    if (listener.kind === 'api') {
      if (!routeConfigurations.has(listener.routeConfigurationName)) {
        problems.push(
          `listener ${listener.name} names route configuration ${listener.routeConfigurationName}, which is not sent`,
        );
      }
      continue;
    }
    listener.filterChains.forEach((chain) => checkChain(listener.name, chain));
    if (listener.defaultFilterChain !== undefined) {
      checkChain(listener.name, listener.defaultFilterChain);
    }
  }
  checkRoutes('route', ir.routeConfigurations);
  for (const cluster of ir.clusters) {
    checkSecrets(`cluster ${cluster.name}`, [cluster.tls?.certificate, cluster.tls?.trust]);
    if (cluster.discovery.kind === 'eds' && !endpointSets.has(cluster.name)) {
      problems.push(`EDS cluster ${cluster.name} has no ClusterLoadAssignment`);
    }
  }
  for (const set of ir.endpoints) {
    const owner = ir.clusters.find((cluster) => cluster.name === set.clusterName);
    if (owner?.discovery.kind !== 'eds') {
      problems.push(`ClusterLoadAssignment ${set.clusterName} has no EDS cluster`);
    }
  }
  return problems;
}
