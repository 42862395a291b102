import pino from 'pino';
import { DiscoveryResponse } from '../../envoy-api/generated/envoy/service/discovery/v3/discovery';
import {
  edsCluster,
  TestConfigSource,
  testNode,
  typeVersion,
  type EnvoyConfig,
} from '../../../test/support/xds';
import { CLUSTER } from '../../xds-types/src/resource-types';
import { XdsEngine } from './xds-engine';

// Orderings of loads, opens and closes that sockets cannot stage deterministically; the
// protocol itself is covered end to end in test/xds-protocol.e2e-spec.ts.

const before: EnvoyConfig = { clusters: [edsCluster('cds_a')] };
const after: EnvoyConfig = { clusters: [edsCluster('cds_a'), edsCluster('cds_b')] };

let source: TestConfigSource;
let engine: XdsEngine;

beforeEach(() => {
  source = new TestConfigSource();
  engine = new XdsEngine(source, pino({ level: 'silent' }), { debounceMs: 1, maxWaitMs: 10 });
  engine.start();
});

afterEach(() => engine.stop());

/** The cluster versions a stream was sent, in order. */
function clusterVersionsSentTo(responses: Buffer[]): string[] {
  return responses.map((bytes) => DiscoveryResponse.decode(bytes).versionInfo ?? '');
}

describe('XdsEngine', () => {
  it('does not let a slow first load overwrite a change published while it ran', async () => {
    source.publish('web', before);
    source.holdLoads();
    const sent: Buffer[] = [];
    const opening = engine.open(testNode('web-1', 'web'), 'sotw', (bytes) => sent.push(bytes));

    source.publish('web', after);
    const settling = engine.settled();
    await new Promise((resolve) => setImmediate(resolve)); // the refresh starts, if it may
    source.releaseLoads(); // the newer load answers first
    const stream = await opening;
    await settling;
    stream.request({ typeUrl: CLUSTER, resourceNames: [] });

    expect(clusterVersionsSentTo(sent)).toEqual([typeVersion(CLUSTER, after)]);
  });

  it('keeps a stream that joins its group as the last stream leaves informed of changes', async () => {
    source.publish('web', before);
    const leaving = await engine.open(testNode('web-1', 'web'), 'sotw', () => undefined);
    const sent: Buffer[] = [];
    const joining = engine.open(testNode('web-2', 'web'), 'sotw', (bytes) => sent.push(bytes));
    engine.close(leaving);
    const stream = await joining;
    stream.request({ typeUrl: CLUSTER, resourceNames: [] });

    source.publish('web', after);
    await engine.settled();

    expect(clusterVersionsSentTo(sent)).toEqual([
      typeVersion(CLUSTER, before),
      typeVersion(CLUSTER, after),
    ]);
  });
});
