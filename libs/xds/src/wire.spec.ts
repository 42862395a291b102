import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { Any } from '../../envoy-api/generated/google/protobuf/any';
import {
  DeltaDiscoveryResponse,
  DiscoveryResponse,
  Resource,
} from '../../envoy-api/generated/envoy/service/discovery/v3/discovery';
import { CLUSTER, ROUTE_CONFIGURATION } from '../../xds-types/src/resource-types';
import { deltaDiscoveryResponse, discoveryResponse } from './wire';

function any(typeUrl: string, value: Uint8Array): Any {
  return { typeUrl, value };
}

function bytes(length: number, seed: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff);
}

const anys: Any[] = [
  any(CLUSTER, bytes(5, 1)),
  any(CLUSTER, bytes(127, 2)), // length varints of 1 and 2 bytes around 128
  any(CLUSTER, bytes(200, 3)),
  any(CLUSTER, bytes(20_000, 4)), // 3-byte length varint
];

const resources: Resource[] = [
  { name: 'cds_a', version: 'v1', resource: any(CLUSTER, bytes(10, 5)) },
  {
    name: 'rds_ünïcödé_ルート_🚀',
    version: 'v2',
    resource: any(ROUTE_CONFIGURATION, bytes(300, 6)),
  },
];

/** The assembly wire.ts replaced (BinaryWriter), kept here as the reference for the bytes. */
function oldDiscoveryResponse(v: string, t: string, n: string, list: readonly Uint8Array[]) {
  const writer = new BinaryWriter().uint32(10).string(v);
  for (const a of list) writer.uint32(18).bytes(a);
  return writer.uint32(34).string(t).uint32(42).string(n).finish();
}

function oldDeltaDiscoveryResponse(
  v: string,
  t: string,
  n: string,
  list: readonly Uint8Array[],
  removed: readonly string[],
) {
  const writer = new BinaryWriter().uint32(10).string(v);
  for (const r of list) writer.uint32(18).bytes(r);
  writer.uint32(34).string(t).uint32(42).string(n);
  for (const name of removed) writer.uint32(50).string(name);
  return writer.finish();
}

const encodeAny = (a: Any) => Any.encode(a).finish();
const encodeResource = (r: Resource) => Resource.encode(r).finish();

describe('discoveryResponse', () => {
  const cases: [string, string, string, string, Any[]][] = [
    ['no resources', '1', CLUSTER, 'n1', []],
    ['one resource', 'abc', CLUSTER, '42', anys.slice(0, 1)],
    ['several resources', 'v'.repeat(200), CLUSTER, 'nonce-7', anys],
    ['unicode strings', 'vérsion✓', 'type.googleapis.com/ü', 'nönce🚀', anys.slice(1, 3)],
  ];

  it.each(cases)('%s: the bytes of the generated encoder', (_, version, typeUrl, nonce, list) => {
    const out = discoveryResponse(version, typeUrl, nonce, list.map(encodeAny));
    expect(Buffer.isBuffer(out)).toBe(true);
    const expected = DiscoveryResponse.encode({
      versionInfo: version,
      resources: list,
      typeUrl,
      nonce,
    }).finish();
    expect(Buffer.from(out).equals(Buffer.from(expected))).toBe(true);
    expect(DiscoveryResponse.decode(out)).toMatchObject({
      versionInfo: version,
      resources: list,
      typeUrl,
      nonce,
    });
  });

  it('writes empty strings, as BinaryWriter did', () => {
    const list = anys.slice(0, 2).map(encodeAny);
    const out = discoveryResponse('', CLUSTER, '', list);
    expect(Buffer.from(out).equals(Buffer.from(oldDiscoveryResponse('', CLUSTER, '', list)))).toBe(
      true,
    );
    expect(discoveryResponse('', '', '', [])).toEqual(Buffer.from([10, 0, 34, 0, 42, 0]));
  });

  it('writes a lone surrogate as U+FFFD, as BinaryWriter did', () => {
    const out = discoveryResponse('a\ud800b', CLUSTER, '\udc00', []);
    expect(
      Buffer.from(out).equals(Buffer.from(oldDiscoveryResponse('a\ud800b', CLUSTER, '\udc00', []))),
    ).toBe(true);
  });
});

describe('deltaDiscoveryResponse', () => {
  const cases: [string, string, string, string, Resource[], string[]][] = [
    ['no resources', '1', CLUSTER, 'n1', [], []],
    ['several resources', 'sys', ROUTE_CONFIGURATION, 'nonce-9', resources, []],
    ['unicode strings', 'vérsion✓', ROUTE_CONFIGURATION, 'nönce🚀', resources.slice(1), []],
  ];

  it.each(cases)('%s: the bytes of the generated encoder', (_, version, typeUrl, nonce, list) => {
    const out = deltaDiscoveryResponse(version, typeUrl, nonce, list.map(encodeResource), []);
    const expected = DeltaDiscoveryResponse.encode({
      systemVersionInfo: version,
      resources: list,
      typeUrl,
      nonce,
    }).finish();
    expect(Buffer.from(out).equals(Buffer.from(expected))).toBe(true);
  });

  // The generated encoder writes removed_resources (6) before the nonce (5); field order does
  // not matter on the wire, and wire.ts keeps the order it always had.
  it.each([
    ['removed names only', [] as Resource[], ['cds_gone']],
    ['resources and unicode removed names', resources, ['a', 'ü-🚀-ルート', 'x'.repeat(300)]],
  ])(
    '%s: what the generated decoder reads, and the bytes BinaryWriter wrote',
    (_, list, removed) => {
      const encoded = list.map(encodeResource);
      const out = deltaDiscoveryResponse('sys', CLUSTER, 'n2', encoded, removed);
      expect(
        Buffer.from(out).equals(
          Buffer.from(oldDeltaDiscoveryResponse('sys', CLUSTER, 'n2', encoded, removed)),
        ),
      ).toBe(true);
      const decoded = DeltaDiscoveryResponse.decode(out);
      expect(decoded).toMatchObject({
        systemVersionInfo: 'sys',
        resources: list,
        typeUrl: CLUSTER,
        nonce: 'n2',
        removedResources: removed,
      });
      expect(Buffer.from(DeltaDiscoveryResponse.encode(decoded).finish())).toEqual(
        Buffer.from(
          DeltaDiscoveryResponse.encode({
            systemVersionInfo: 'sys',
            resources: list,
            typeUrl: CLUSTER,
            nonce: 'n2',
            removedResources: removed,
          }).finish(),
        ),
      );
    },
  );

  it('writes empty strings, as BinaryWriter did', () => {
    const out = deltaDiscoveryResponse('', CLUSTER, '', [], ['']);
    expect(out).toEqual(Buffer.from(oldDeltaDiscoveryResponse('', CLUSTER, '', [], [''])));
  });
});
