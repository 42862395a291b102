// The `well_known` string and bytes formats of protoc-gen-validate, with the semantics of its Go
// and C++ generators (Go's net, net/mail and net/url parsers), which Envoy's own validation uses:
// https://github.com/bufbuild/protoc-gen-validate#strings

/** RFC 1034 host name: dot-separated labels of 1–63 letters, digits or inner hyphens. */
export function isHostname(value: string): boolean {
  if (value.length > 253) return false;
  const host = value.endsWith('.') ? value.slice(0, -1) : value;
  return host.split('.').every((label) => label.length <= 63 && HOST_LABEL.test(label));
}
const HOST_LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/i;

/**
 * An email address (RFC 5322 addr-spec, optionally inside `Display Name <...>` as Go's
 * mail.ParseAddress accepts), of at most 254 characters, local part at most 64, host name domain.
 */
export function isEmail(value: string): boolean {
  const address = /^[^<>]*<([^<>]*)>$/.exec(value)?.[1] ?? value;
  if (address.length > 254) return false;
  const at = address.lastIndexOf('@');
  if (at <= 0) return false;
  const local = address.slice(0, at);
  return (
    local.length <= 64 &&
    (DOT_ATOM.test(local) || QUOTED_LOCAL.test(local)) &&
    isHostname(address.slice(at + 1))
  );
}
const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const QUOTED_LOCAL = /^"(?:[^"\\\r\n]|\\.)*"$/;

/** RFC 4122 textual UUID (any version, either case). */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export type IpVersion = 4 | 6;

/**
 * The version of a textual IP address (no brackets, no zone), or undefined if it is not one.
 * IPv4-mapped IPv6 (::ffff:a.b.c.d) counts as IPv4, as with Go's To4().
 */
export function ipVersion(value: string): IpVersion | undefined {
  if (parseIpv4(value)) return 4;
  const bytes = parseIpv6(value);
  if (!bytes) return undefined;
  return isIpv4Mapped(bytes) ? 4 : 6;
}

/** The version of a binary IP address (4 or 16 bytes), as for `bytes.ip`. */
export function binaryIpVersion(bytes: Uint8Array): IpVersion | undefined {
  if (bytes.length === 4) return 4;
  if (bytes.length === 16) return isIpv4Mapped(bytes) ? 4 : 6;
  return undefined;
}

function parseIpv4(value: string): number[] | undefined {
  const parts = value.split('.');
  if (parts.length !== 4) return undefined;
  const octets = parts.map((part) => (/^(?:0|[1-9]\d{0,2})$/.test(part) ? Number(part) : 256));
  return octets.every((octet) => octet <= 255) ? octets : undefined;
}

function parseIpv6(value: string): Uint8Array | undefined {
  const halves = value.split('::');
  if (halves.length > 2) return undefined;
  const groups = halves.map((half) => (half === '' ? [] : half.split(':')));
  const words: number[][] = [];
  for (const [h, half] of groups.entries()) {
    const halfWords: number[] = [];
    for (const [i, group] of half.entries()) {
      const isLast = h === groups.length - 1 && i === half.length - 1;
      const ipv4 = isLast && group.includes('.') ? parseIpv4(group) : undefined;
      if (ipv4) halfWords.push((ipv4[0]! << 8) | ipv4[1]!, (ipv4[2]! << 8) | ipv4[3]!);
      else if (/^[0-9a-f]{1,4}$/i.test(group)) halfWords.push(parseInt(group, 16));
      else return undefined;
    }
    words.push(halfWords);
  }
  const [head = [], tail = []] = words;
  const count = head.length + tail.length;
  // `::` stands for at least one zero group.
  if (halves.length === 2 ? count > 7 : count !== 8) return undefined;
  const all = [...head, ...new Array<number>(8 - count).fill(0), ...tail];
  return Uint8Array.from(all.flatMap((word) => [word >> 8, word & 0xff]));
}

function isIpv4Mapped(bytes: Uint8Array): boolean {
  return (
    bytes.length === 16 &&
    bytes.subarray(0, 10).every((b) => b === 0) &&
    bytes[10] === 0xff &&
    bytes[11] === 0xff
  );
}

/** Absolute URI (RFC 3986: has a scheme), as Go's url.Parse + IsAbs accept it. */
export function isUri(value: string): boolean {
  return SCHEME.test(value) && isUriReference(value);
}

/**
 * URI or relative reference as Go's url.Parse accepts it: no control characters, valid percent
 * escapes, no spaces in the authority, and no `:` in the first segment of a relative path.
 */
export function isUriReference(value: string): boolean {
  if (CONTROL_CHARACTER.test(value) || BAD_ESCAPE.test(value)) return false;
  const scheme = SCHEME.exec(value)?.[0];
  const rest = scheme ? value.slice(scheme.length) : value;
  if (!scheme && rest.split(/[/?#]/, 1)[0]!.includes(':')) return false;
  if (rest.startsWith('//')) {
    const authority = rest.slice(2).split(/[/?#]/, 1)[0]!;
    if (authority.includes(' ')) return false;
  }
  return true;
}
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;
// eslint-disable-next-line no-control-regex -- rejecting control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;
const BAD_ESCAPE = /%(?![0-9A-Fa-f]{2})/;

/**
 * `well_known_regex` patterns. Strict ones follow RFC 7230 (the header-name class is written as
 * protoc-gen-validate writes it, whose `+-.` range also admits `,`); `strict: false` only
 * rejects NUL, CR and LF, Envoy's own header-value check.
 */
export const HTTP_HEADER_NAME = /^:?[0-9a-zA-Z!#$%&'*+,\-.^_|~`]+$/;
// eslint-disable-next-line no-control-regex -- header syntax is about control characters
export const HTTP_HEADER_VALUE = /^[^\u0000-\u0008\u000a-\u001f\u007f]*$/;
// eslint-disable-next-line no-control-regex -- header syntax is about control characters
export const HEADER_STRING = /^[^\u0000\u000a\u000d]*$/;
