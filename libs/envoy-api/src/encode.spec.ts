import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { XRayConfig } from '../generated/envoy/config/trace/v3/xray';
import { copyOf, encodeMessage, withWritten, write } from './encode';

describe('the shared writer', () => {
  const config: XRayConfig = { segmentName: 'mesh-a/web'.repeat(40) };
  const expected = XRayConfig.encode(config, new BinaryWriter()).finish();

  it("reads @bufbuild/protobuf's writer state as it is: the same bytes as finish()", () => {
    expect([...encodeMessage(XRayConfig, config)]).toEqual([...expected]);
    expect(
      withWritten(
        (writer) => XRayConfig.encode(config, writer),
        (bytes) => [...bytes],
      ),
    ).toEqual([...expected]);
  });

  it('starts every encode empty, after a success and after a failure', () => {
    expect(() =>
      write((writer) => {
        writer.fork().string('half a message');
        throw new Error('the build failed');
      }),
    ).toThrow('the build failed');
    expect([...encodeMessage(XRayConfig, config)]).toEqual([...expected]);
    expect([...encodeMessage(XRayConfig, config)]).toEqual([...expected]);
  });

  it('hands out copies that later encodes do not change', () => {
    const first = encodeMessage(XRayConfig, config);
    const kept = copyOf(first);
    encodeMessage(XRayConfig, { segmentName: 'other' });
    expect([...first]).toEqual([...kept]);
  });
});
