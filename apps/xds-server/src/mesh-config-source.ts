import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import type { Node } from '../../../libs/envoy-api/generated/envoy/config/core/v3/base';
import type { ConfigSnapshot, ConfigSource } from '../../../libs/xds/src/config-source';

/**
 * The App Mesh resources in Postgres as an xDS configuration source. Proxy identity is
 * App Mesh's: `node.id` (or `node.cluster`) is `mesh/<mesh>/virtualNode/<name>` or its ARN.
 */
export class MeshConfigSource implements ConfigSource {
  constructor(
    private readonly dataSource: DataSource,
    private readonly logger: Logger,
  ) {}

  groupOf(node: Node): string | undefined {
    return proxyIdentity(node);
  }

  meshOf(node: Node): string | undefined {
    return proxyIdentity(node)?.split('/')[1];
  }

  load(_group: string): Promise<ConfigSnapshot | undefined> {
    // Translation of App Mesh resources into Envoy configuration is the next step.
    return Promise.resolve(undefined);
  }

  onChange(_listener: (groups: readonly string[] | 'all') => void): () => void {
    return () => undefined;
  }
}

const IDENTITY =
  /^(?:arn:[^:]+:appmesh:[^:]*:[^:]*:)?(mesh\/[^/]+\/(?:virtualNode|virtualGateway)\/[^/]+)$/;

/** `mesh/<mesh>/virtualNode/<name>` from a node id or cluster in any form App Mesh used. */
export function proxyIdentity(node: Node): string | undefined {
  for (const candidate of [node.id, node.cluster]) {
    const match = candidate ? IDENTITY.exec(candidate) : null;
    if (match) return match[1];
  }
  return undefined;
}
