import { accessLog } from './proxy-settings';

describe('accessLog', () => {
  it.each([
    ['no logging', undefined, undefined],
    [
      'a path alone keeps Envoy’s default format',
      { accessLog: { file: { path: '/dev/stdout' } } },
      { path: '/dev/stdout' },
    ],
    [
      'text gets the newline Envoy does not add',
      { accessLog: { file: { path: '/log', format: { text: '%RESPONSE_CODE%' } } } },
      { path: '/log', format: { kind: 'text', text: '%RESPONSE_CODE%\n' } },
    ],
    [
      'JSON key/value pairs',
      {
        accessLog: {
          file: { path: '/log', format: { json: [{ key: 'code', value: '%RESPONSE_CODE%' }] } },
        },
      },
      { path: '/log', format: { kind: 'json', fields: { code: '%RESPONSE_CODE%' } } },
    ],
  ])('%s', (_case, logging, expected) => {
    expect(accessLog(logging)).toEqual(expected);
  });
});
