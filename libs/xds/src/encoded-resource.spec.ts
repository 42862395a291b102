import { Cluster } from '../../envoy-api/generated/envoy/config/cluster/v3/cluster';
import { Resource } from '../../envoy-api/generated/envoy/service/discovery/v3/discovery';
import { Any } from '../../envoy-api/generated/google/protobuf/any';
import { edsCluster } from '../../../test/support/xds';
import { CLUSTER, CLUSTER_LOAD_ASSIGNMENT } from '../../xds-types/src/resource-types';
import { ResourceEncoder } from './encoded-resource';

describe('ResourceEncoder', () => {
  it('reuses a resource for a new message object with the same content, type and name', () => {
    const encoder = new ResourceEncoder();
    const first = encoder.encode({ typeUrl: CLUSTER, name: 'cds_a', message: edsCluster('cds_a') });
    const second = encoder.encode({
      typeUrl: CLUSTER,
      name: 'cds_a',
      message: edsCluster('cds_a'),
    });
    expect(second).toBe(first);
  });

  it('encodes anew when the content, the name or the type differs', () => {
    const encoder = new ResourceEncoder();
    const a = encoder.encode({ typeUrl: CLUSTER, name: 'cds_a', message: edsCluster('cds_a') });
    const slower = encoder.encode({
      typeUrl: CLUSTER,
      name: 'cds_a',
      message: edsCluster('cds_a', 5),
    });
    const renamed = encoder.encode({
      typeUrl: CLUSTER,
      name: 'other',
      message: edsCluster('cds_a'),
    });
    expect(slower).not.toBe(a);
    expect(slower.version).not.toBe(a.version);
    expect(renamed).not.toBe(a);
    expect(renamed.version).toBe(a.version);
    expect(renamed.name).toBe('other');
  });

  it('gives the same versions, bytes and failures as an encoder without the content cache', () => {
    const cached = new ResourceEncoder();
    const uncached = new ResourceEncoder(0);
    const inputs = [
      { typeUrl: CLUSTER, name: 'cds_a', message: edsCluster('cds_a') },
      // cluster_name has min_len 1.
      { typeUrl: CLUSTER_LOAD_ASSIGNMENT, name: '', message: { clusterName: '' } },
    ] as const;
    for (let round = 0; round < 2; round++) {
      for (const input of inputs) {
        const message = structuredClone(input.message);
        const hit = cached.encode({ ...input, message });
        const fresh = uncached.encode({ ...input, message: structuredClone(input.message) });
        expect(hit).toEqual(fresh);
      }
    }
    const failing = cached.encode({ ...inputs[1], message: { clusterName: '' } });
    expect(failing.failures.length).toBeGreaterThan(0);
    expect(cached.bytesEncoded).toBe(uncached.bytesEncoded);
  });

  it('keeps at most the given number of resources, dropping the least recently used', () => {
    const encoder = new ResourceEncoder(2);
    const encode = (name: string) =>
      encoder.encode({ typeUrl: CLUSTER, name, message: edsCluster(name) });
    const a = encode('a');
    const b = encode('b');
    expect(encode('a')).toBe(a); // a is now the most recently used
    encode('c'); // drops b
    expect(encode('a')).toBe(a);
    expect(encode('b')).not.toBe(b);
  });
});

describe('ResourceEncoder wrappers', () => {
  it('wraps the message in an Any and a delta Resource that decode to it', () => {
    const encoder = new ResourceEncoder();
    const message = edsCluster(`cds_${'x'.repeat(300)}`);
    const encoded = encoder.encode({ typeUrl: CLUSTER, name: 'cds_long', message });
    const any = Any.decode(encoded.any);
    expect(any.typeUrl).toBe(CLUSTER);
    expect(Cluster.decode(any.value!)).toEqual(Cluster.decode(Cluster.encode(message).finish()));
    const resource = Resource.decode(encoded.deltaResource);
    expect(resource.name).toBe('cds_long');
    expect(resource.version).toBe(encoded.version);
    expect([...resource.resource!.value!]).toEqual([...any.value!]);
  });
});
