import type { Metadata } from '../../../envoy-api/generated/envoy/config/core/v3/base';
import type { StatsTagIr } from '../ir';

/**
 * App Mesh's `aws.appmesh.aggregate_stats` filter metadata, `{"tags": [{"key", "value"}]}`, which
 * its metric extension reads to aggregate stats by target virtual node and virtual service.
 */
export function aggregateStatsMetadata(tags: readonly StatsTagIr[]): Metadata {
  return {
    filterMetadata: {
      'aws.appmesh.aggregate_stats': { tags: tags.map(({ key, value }) => ({ key, value })) },
    },
  };
}
