import { parseHeaderRules } from './header-rules';

describe('parseHeaderRules', () => {
  it('keeps a valid rule as written', () => {
    const rule = {
      requestHeadersToAdd: [
        { name: 'x-customer', value: 'acme' },
        { name: 'X-Forwarded-Host', value: '%REQ(:authority)%' },
        { name: 'via', value: 'trellis', append: true },
        { name: 'x-percent', value: '100%% %REQ(x-a?x-b)% %START_TIME%' },
      ],
      requestHeadersToRemove: ['x-debug'],
      responseHeadersToAdd: [
        { name: 'x-upstream', value: '%RESP(server)% %UPSTREAM_REMOTE_ADDRESS%' },
      ],
      responseHeadersToRemove: ['server'],
    };
    expect(parseHeaderRules(rule)).toEqual(rule);
  });

  it.each<[string, unknown, string]>([
    ['a body that is no object', [], 'The request body must be a JSON object'],
    ['an empty rule', {}, 'a header rule adds or removes at least one header'],
    ['an unknown field', { headers: [] }, 'headers: unknown field'],
    ['a __proto__ key', JSON.parse('{"__proto__": {"x": 1}}'), '__proto__: unknown field'],
    [
      'a pseudo-header to add',
      { requestHeadersToAdd: [{ name: ':path', value: '/' }] },
      'requestHeadersToAdd[0].name: :path is a pseudo-header',
    ],
    [
      'host to remove',
      { requestHeadersToRemove: ['Host'] },
      'requestHeadersToRemove[0]: Envoy does not let a route add or remove host',
    ],
    [
      'a name with a space',
      { responseHeadersToRemove: ['x bad'] },
      'responseHeadersToRemove[0]: x bad is not a valid header name',
    ],
    [
      "Trellis' own header",
      { requestHeadersToAdd: [{ name: 'x-trellis-gateway-target', value: 'x' }] },
      'requestHeadersToAdd[0].name: names starting with x-trellis- are reserved',
    ],
    [
      'a NUL in a value',
      { requestHeadersToAdd: [{ name: 'x-a', value: 'a\u0000b' }] },
      'requestHeadersToAdd[0].value: must not contain line breaks or control characters',
    ],
    [
      'a line break in a value',
      { requestHeadersToAdd: [{ name: 'x-a', value: 'a\r\nx-injected: 1' }] },
      'requestHeadersToAdd[0].value: must not contain line breaks',
    ],
    [
      'a lone %',
      { requestHeadersToAdd: [{ name: 'x-a', value: '100%' }] },
      'requestHeadersToAdd[0].value: % is not a formatter (%NAME% or %NAME(argument)%); write %% for a literal %',
    ],
    [
      'an unknown formatter',
      { requestHeadersToAdd: [{ name: 'x-a', value: '%ENVIRONMENT(SECRET)%' }] },
      'requestHeadersToAdd[0].value: %ENVIRONMENT(SECRET)%: not a formatter Trellis accepts in request headers',
    ],
    [
      'a response formatter in a request header',
      { requestHeadersToAdd: [{ name: 'x-a', value: '%RESP(server)%' }] },
      'a request header cannot read the response',
    ],
    [
      'REQ without a header name',
      { requestHeadersToAdd: [{ name: 'x-a', value: '%REQ()%' }] },
      'REQ takes a header name',
    ],
    [
      'an argument where none is taken',
      { requestHeadersToAdd: [{ name: 'x-a', value: '%HOSTNAME(x)%' }] },
      'HOSTNAME takes no argument',
    ],
    [
      'a header added and removed',
      { requestHeadersToAdd: [{ name: 'X-A', value: '1' }], requestHeadersToRemove: ['x-a'] },
      'requestHeadersToRemove[0]: x-a is also in requestHeadersToAdd',
    ],
    [
      'a header set twice',
      {
        responseHeadersToAdd: [
          { name: 'x-a', value: '1' },
          { name: 'x-a', value: '2' },
        ],
      },
      'responseHeadersToAdd[1].name: x-a is already set by this list',
    ],
    [
      'too many headers',
      { requestHeadersToRemove: Array.from({ length: 51 }, (_, i) => `x-${i}`) },
      'requestHeadersToRemove: must be a list of at most 50 header names',
    ],
    [
      'a huge value',
      { requestHeadersToAdd: [{ name: 'x-a', value: 'v'.repeat(4097) }] },
      'requestHeadersToAdd[0].value: must be a string of at most 4096 characters',
    ],
    [
      'append that is no boolean',
      { requestHeadersToAdd: [{ name: 'x-a', value: '1', append: 'yes' }] },
      'requestHeadersToAdd[0].append: must be true or false',
    ],
  ])('refuses %s, naming the field and rule', (_case, body, message) => {
    let thrown: unknown;
    try {
      parseHeaderRules(body);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({
      errorType: 'BadRequestException',
      message: expect.stringContaining(message) as unknown,
    });
  });
});
