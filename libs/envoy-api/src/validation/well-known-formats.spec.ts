import {
  binaryIpVersion,
  HEADER_STRING,
  HTTP_HEADER_NAME,
  HTTP_HEADER_VALUE,
  ipVersion,
  isEmail,
  isHostname,
  isUri,
  isUriReference,
  isUuid,
} from './well-known-formats';

describe('well-known formats', () => {
  it.each([
    ['10.0.0.1', 4],
    ['255.255.255.255', 4],
    ['::ffff:10.0.0.1', 4], // IPv4-mapped, as Go's To4() sees it
    ['::1', 6],
    ['2001:db8::8a2e:370:7334', 6],
    ['1:2:3:4:5:6:7::', 6],
    ['::', 6],
    ['64:ff9b::192.0.2.33', 6],
    ['256.0.0.1', undefined],
    ['010.0.0.1', undefined], // leading zeros are ambiguous (octal) and rejected
    ['1.2.3', undefined],
    ['1:2:3:4:5:6:7:8:9', undefined],
    ['1::2::3', undefined],
    ['fe80::1%eth0', undefined], // zones are not addresses
    ['[::1]', undefined],
    ['', undefined],
  ])('ipVersion(%j) is %p', (text, version) => {
    expect(ipVersion(text)).toBe(version);
  });

  it.each([
    [[10, 0, 0, 1], 4],
    [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1], 4],
    [[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 6],
    [[1, 2, 3], undefined],
  ])('binaryIpVersion(%j) is %p', (bytes, version) => {
    expect(binaryIpVersion(Uint8Array.from(bytes))).toBe(version);
  });

  it.each([
    ['web', true],
    ['web.mesh-a.svc.cluster.local', true],
    ['web.local.', true],
    ['WEB.Local', true],
    ['-web.local', false],
    ['web-.local', false],
    ['web..local', false],
    ['web_api.local', false],
    [`${'a'.repeat(64)}.local`, false],
    [Array.from({ length: 64 }, () => 'abc').join('.'), false], // 255 characters
    ['', false],
  ])('isHostname(%j) is %p', (text, valid) => {
    expect(isHostname(text)).toBe(valid);
  });

  it.each([
    ['ops@example.com', true],
    ['first.last+tag@mail.example.com', true],
    ['"quoted local"@example.com', true],
    ['Ops Team <ops@example.com>', true],
    ['ops@', false],
    ['@example.com', false],
    ['ops@@example.com', false],
    ['ops..team@example.com', false],
    [`${'a'.repeat(65)}@example.com`, false],
    ['ops@exa_mple.com', false],
  ])('isEmail(%j) is %p', (text, valid) => {
    expect(isEmail(text)).toBe(valid);
  });

  it.each([
    ['https://example.com/a?b=c#d', true, true],
    ['urn:isbn:0451450523', true, true],
    ['/relative/path?x=1', false, true],
    ['relative', false, true],
    ['', false, true],
    ['a%20b', false, true],
    ['a%2', false, false],
    ['http://exa mple.com/', false, false],
    ['http://example.com/\n', false, false],
    ['rel:ative/path', true, true], // reads as scheme "rel"
    ['./a:b', false, true],
  ])('isUri(%j) is %p, isUriReference is %p', (text, uri, reference) => {
    expect(isUri(text)).toBe(uri);
    expect(isUriReference(text)).toBe(reference);
  });

  it.each([
    ['123e4567-e89b-12d3-a456-426614174000', true],
    ['123E4567-E89B-12D3-A456-426614174000', true],
    ['123e4567e89b12d3a456426614174000', false],
    ['123e4567-e89b-12d3-a456-42661417400g', false],
  ])('isUuid(%j) is %p', (text, valid) => {
    expect(isUuid(text)).toBe(valid);
  });

  it.each([
    [HTTP_HEADER_NAME, 'x-request-id', true],
    [HTTP_HEADER_NAME, ':authority', true],
    [HTTP_HEADER_NAME, 'x,y', true], // protoc-gen-validate's `+-.` range admits ','
    [HTTP_HEADER_NAME, 'x y', false],
    [HTTP_HEADER_NAME, '', false],
    [HTTP_HEADER_VALUE, 'text/html; q=0.9\tx', true],
    [HTTP_HEADER_VALUE, 'a\u0001b', false],
    [HTTP_HEADER_VALUE, 'a\u007fb', false],
    [HEADER_STRING, 'anything but\u0001 NUL, CR, LF', true],
    [HEADER_STRING, 'a\rb', false],
    [HEADER_STRING, 'a\u0000b', false],
  ])('%s matches %j: %p', (regex, text, matches) => {
    expect(regex.test(text)).toBe(matches);
  });
});
