import { Listener } from '../generated/envoy/config/listener/v3/listener';
import { XRayConfig } from '../generated/envoy/config/trace/v3/xray';
import { Router } from '../generated/envoy/extensions/filters/http/router/v3/router';
import { decodeAny, packAny, typeNameOf, typeUrl, unpackAny } from './any';

describe('Any helpers', () => {
  const xray: XRayConfig = { segmentName: 'mesh-a/web' };

  it('packs a message under its type URL and unpacks it again', () => {
    const any = packAny(XRayConfig, xray);

    expect(any.typeUrl).toBe('type.googleapis.com/envoy.config.trace.v3.XRayConfig');
    expect(unpackAny(any, XRayConfig)).toEqual(XRayConfig.fromPartial(xray));
  });

  it('refuses to unpack an Any holding another type', () => {
    expect(() => unpackAny(packAny(XRayConfig, xray), Router)).toThrow(
      'Any holds envoy.config.trace.v3.XRayConfig, not envoy.extensions.filters.http.router.v3.Router',
    );
  });

  it('decodes any generated type by its type URL, whatever the URL prefix', () => {
    const any = {
      ...packAny(XRayConfig, xray),
      typeUrl: 'example.com/envoy.config.trace.v3.XRayConfig',
    };

    expect(decodeAny(any)).toEqual({
      typeName: XRayConfig.$type,
      message: XRayConfig.fromPartial(xray),
    });
    expect(
      decodeAny({ typeUrl: 'type.googleapis.com/acme.Unknown', value: new Uint8Array() }),
    ).toBeUndefined();
  });

  it('hands back the message packAny encoded, without decoding its bytes again', () => {
    const any = packAny(XRayConfig, xray);
    expect(decodeAny(any)).toEqual({ typeName: XRayConfig.$type, message: xray });
    expect(decodeAny(any)?.message).toBe(xray);
    // Equal bytes that packAny did not make are decoded.
    const copy = { typeUrl: any.typeUrl, value: Uint8Array.from(any.value!) };
    expect(decodeAny(copy)?.message).not.toBe(xray);
  });

  it('names types the way Envoy reads type URLs', () => {
    expect(typeUrl(Listener)).toBe('type.googleapis.com/envoy.config.listener.v3.Listener');
    expect(typeNameOf('type.googleapis.com/envoy.config.listener.v3.Listener')).toBe(
      Listener.$type,
    );
  });
});
