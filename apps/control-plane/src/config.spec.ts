import { ConfigError, loadConfig } from './config';

const TLS = {
  TRELLIS_HTTP_TLS_CERT_FILE: '/tls/http.pem',
  TRELLIS_HTTP_TLS_KEY_FILE: '/tls/http-key.pem',
  TRELLIS_XDS_TLS_CERT_FILE: '/tls/xds.pem',
  TRELLIS_XDS_TLS_KEY_FILE: '/tls/xds-key.pem',
};

describe('secure defaults', () => {
  it('keeps authentication off on loopback, as `npm start` always ran', () => {
    expect(loadConfig({}).auth.enabled).toBe(false);
  });

  it('turns authentication on by default when a port is exposed', () => {
    expect(loadConfig({ ...TLS, TRELLIS_XDS_HOST: '0.0.0.0' }).auth.enabled).toBe(true);
  });

  it.each([
    [
      'an exposed API without TLS',
      { TRELLIS_HTTP_HOST: '0.0.0.0' },
      'TRELLIS_HTTP_HOST=0.0.0.0 is not a loopback address, so anyone who reaches it could change the mesh. Set TRELLIS_HTTP_TLS_CERT_FILE and TRELLIS_HTTP_TLS_KEY_FILE (TLS), or TRELLIS_ALLOW_INSECURE=1',
    ],
    [
      'an exposed xDS port with authentication off',
      { ...TLS, TRELLIS_XDS_HOST: '10.0.0.5', TRELLIS_AUTH: 'off' },
      'TRELLIS_XDS_HOST=10.0.0.5 is not a loopback address, so anyone who reaches it could change the mesh. Set TRELLIS_AUTH=on (SigV4 with Trellis access keys)',
    ],
    [
      'a client CA without server TLS',
      { TRELLIS_XDS_TLS_CLIENT_CA_FILE: '/tls/ca.pem' },
      'TRELLIS_XDS_TLS_CLIENT_CA_FILE needs TLS on the xDS port',
    ],
    [
      'half a certificate',
      { TRELLIS_XDS_TLS_CERT_FILE: '/tls/xds.pem' },
      'TRELLIS_XDS_TLS_KEY_FILE is missing',
    ],
  ])('refuses to start with %s, saying what to set', (_case, env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('starts exposed without TLS or keys only with the explicit opt-out', () => {
    const config = loadConfig({
      TRELLIS_HTTP_HOST: '0.0.0.0',
      TRELLIS_AUTH: 'off',
      TRELLIS_ALLOW_INSECURE: '1',
    });
    expect(config.auth.enabled).toBe(false);
  });

  it('does not guard the API port of an xDS-only replica, which serves probes there', () => {
    expect(() => loadConfig({ TRELLIS_ROLES: 'xds', TRELLIS_HTTP_HOST: '0.0.0.0' })).not.toThrow();
  });
});
