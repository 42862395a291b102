import { BadRequestException } from './errors';

/**
 * A header rule: what the proxy adds to and removes from the requests a route or gateway route
 * matches, and from their responses — Trellis' own resource (`/v1`), which App Mesh never had
 * (aws-app-mesh-roadmap #206). Stored as written; {@link parseHeaderRules} is the only way in.
 */
export interface HeaderRules {
  requestHeadersToAdd?: HeaderToAdd[];
  requestHeadersToRemove?: string[];
  responseHeadersToAdd?: HeaderToAdd[];
  responseHeadersToRemove?: string[];
}

export interface HeaderToAdd {
  name: string;
  /** A static value, or one with Envoy formatters ({@link FORMATTERS}); `%%` is a literal `%`. */
  value: string;
  /** Add another value to one the message carries; unset or false replaces it. */
  append?: boolean;
}

export const MAX_HEADERS_PER_LIST = 50;
export const MAX_HEADER_NAME_LENGTH = 256;
/** Envoy allows 16 KiB (`HeaderValue.value` max_bytes); a header rule needs far less. */
export const MAX_HEADER_VALUE_LENGTH = 4096;

const LISTS = [
  'requestHeadersToAdd',
  'requestHeadersToRemove',
  'responseHeadersToAdd',
  'responseHeadersToRemove',
] as const;

/** RFC 9110 §5.1 field name: a token. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Names Trellis' own translation uses between a gateway's listeners and its egress. */
export const RESERVED_HEADER_PREFIX = 'x-trellis-';

/**
 * The Envoy formatters a header value may use, and in which direction. They are the ones whose
 * value is known when route headers are evaluated
 * (https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_conn_man/headers#custom-request-response-headers);
 * `REQ(<header>)` reads a request header (`%REQ(:authority)%` is the host the client asked for,
 * before any rewrite), `RESP(<header>)` a response header. Environment variables and metadata
 * are left out: they would expose the proxy's own environment to the upstream.
 */
const FORMATTERS: Record<string, 'request' | 'response' | 'both'> = {
  DOWNSTREAM_REMOTE_ADDRESS: 'both',
  DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT: 'both',
  DOWNSTREAM_DIRECT_REMOTE_ADDRESS: 'both',
  DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT: 'both',
  DOWNSTREAM_LOCAL_ADDRESS: 'both',
  DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT: 'both',
  DOWNSTREAM_LOCAL_PORT: 'both',
  HOSTNAME: 'both',
  PROTOCOL: 'both',
  REQUESTED_SERVER_NAME: 'both',
  START_TIME: 'both',
  UPSTREAM_REMOTE_ADDRESS: 'response',
};

type Direction = 'request' | 'response';

/**
 * Checks a header rule as a `/v1` request sends it, against Envoy's rules for route headers
 * (`HeaderValueOption` and `request_headers_to_remove` validation, and what Envoy refuses when
 * it loads a route: adding or removing `:`-prefixed pseudo-headers or `host`), so that nothing
 * the proxy would reject is stored. Throws BadRequestException naming every field at fault.
 */
export function parseHeaderRules(body: unknown): HeaderRules {
  if (!isRecord(body)) throw new BadRequestException('The request body must be a JSON object');
  const issues: string[] = [];
  for (const key of Object.keys(body)) {
    if (!(LISTS as readonly string[]).includes(key)) {
      issues.push(`${printable(key)}: unknown field; a header rule has ${LISTS.join(', ')}`);
    }
  }
  const rules: HeaderRules = {};
  const added = {
    request: headersToAdd(body.requestHeadersToAdd, 'requestHeadersToAdd', 'request', issues),
    response: headersToAdd(body.responseHeadersToAdd, 'responseHeadersToAdd', 'response', issues),
  };
  const removed = {
    request: headersToRemove(body.requestHeadersToRemove, 'requestHeadersToRemove', issues),
    response: headersToRemove(body.responseHeadersToRemove, 'responseHeadersToRemove', issues),
  };
  for (const direction of ['request', 'response'] as const) {
    const adds = new Set(added[direction]?.map((header) => header.name.toLowerCase()));
    (removed[direction] ?? []).forEach((name, index) => {
      if (adds.has(name.toLowerCase())) {
        issues.push(
          `${direction}HeadersToRemove[${index}]: ${name} is also in ${direction}HeadersToAdd; ` +
            'a header is either added or removed',
        );
      }
    });
  }
  if (added.request) rules.requestHeadersToAdd = added.request;
  if (removed.request) rules.requestHeadersToRemove = removed.request;
  if (added.response) rules.responseHeadersToAdd = added.response;
  if (removed.response) rules.responseHeadersToRemove = removed.response;
  if (issues.length === 0 && LISTS.every((list) => (rules[list]?.length ?? 0) === 0)) {
    issues.push(
      `${LISTS.join(', ')}: a header rule adds or removes at least one header; ` +
        'to have none, delete the rule',
    );
  }
  if (issues.length > 0) throw new BadRequestException(issues.join('; '));
  return rules;
}

function headersToAdd(
  value: unknown,
  field: string,
  direction: Direction,
  issues: string[],
): HeaderToAdd[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length > MAX_HEADERS_PER_LIST) {
    issues.push(
      `${field}: must be a list of at most ${MAX_HEADERS_PER_LIST} {"name", "value", "append"} objects`,
    );
    return undefined;
  }
  const headers: HeaderToAdd[] = [];
  const replaced = new Set<string>();
  value.forEach((item: unknown, index) => {
    const path = `${field}[${index}]`;
    if (!isRecord(item)) {
      issues.push(`${path}: must be an object with name and value`);
      return;
    }
    for (const key of Object.keys(item)) {
      if (key !== 'name' && key !== 'value' && key !== 'append') {
        issues.push(`${path}.${printable(key)}: unknown field; a header has name, value, append`);
      }
    }
    const { name, value: text, append } = item;
    const nameIssue = headerNameProblem(name);
    if (nameIssue !== undefined) issues.push(`${path}.name: ${nameIssue}`);
    const valueIssue = headerValueProblem(text, direction);
    if (valueIssue !== undefined) issues.push(`${path}.value: ${valueIssue}`);
    if (append !== undefined && typeof append !== 'boolean') {
      issues.push(`${path}.append: must be true or false`);
    }
    if (nameIssue !== undefined || valueIssue !== undefined) return;
    const header: HeaderToAdd = { name: name as string, value: text as string };
    if (append === true || append === false) header.append = append;
    const key = header.name.toLowerCase();
    if (!header.append && replaced.has(key)) {
      issues.push(
        `${path}.name: ${header.name} is already set by this list; set it once, or use "append": true`,
      );
    }
    if (!header.append) replaced.add(key);
    headers.push(header);
  });
  return headers;
}

function headersToRemove(value: unknown, field: string, issues: string[]): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length > MAX_HEADERS_PER_LIST) {
    issues.push(`${field}: must be a list of at most ${MAX_HEADERS_PER_LIST} header names`);
    return undefined;
  }
  const names: string[] = [];
  const seen = new Set<string>();
  value.forEach((name: unknown, index) => {
    const problem = headerNameProblem(name);
    if (problem !== undefined) {
      issues.push(`${field}[${index}]: ${problem}`);
      return;
    }
    const key = (name as string).toLowerCase();
    if (seen.has(key)) issues.push(`${field}[${index}]: ${name as string} is listed twice`);
    seen.add(key);
    names.push(name as string);
  });
  return names;
}

/** Why `name` cannot be a header Envoy adds or removes on a route; undefined when it can. */
function headerNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_HEADER_NAME_LENGTH) {
    return `must be a header name of 1 to ${MAX_HEADER_NAME_LENGTH} characters`;
  }
  if (name.startsWith(':')) {
    return `${printable(name)} is a pseudo-header; Envoy does not let a route add or remove pseudo-headers`;
  }
  if (name.toLowerCase() === 'host') {
    return 'Envoy does not let a route add or remove host; a gateway route rewrites it with action.rewrite.hostname';
  }
  if (!TOKEN.test(name)) {
    return `${printable(name)} is not a valid header name (RFC 9110 token: letters, digits and !#$%&'*+-.^_\`|~)`;
  }
  if (name.toLowerCase().startsWith(RESERVED_HEADER_PREFIX)) {
    return `names starting with ${RESERVED_HEADER_PREFIX} are reserved for Trellis' own routing`;
  }
  return undefined;
}

/**
 * Why `value` cannot be a header value: no line breaks or control characters (Envoy's
 * HTTP_HEADER_VALUE rule), and every `%` part of a formatter this direction supports or `%%`.
 */
function headerValueProblem(value: unknown, direction: Direction): string | undefined {
  if (typeof value !== 'string' || value.length > MAX_HEADER_VALUE_LENGTH) {
    return `must be a string of at most ${MAX_HEADER_VALUE_LENGTH} characters`;
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(value)) {
    return 'must not contain line breaks or control characters';
  }
  return formatterProblem(value, direction);
}

/** Formatters are `%NAME%` or `%NAME(argument)%`; `%%` is a literal `%`. */
function formatterProblem(value: string, direction: Direction): string | undefined {
  let rest = value;
  while (rest.length > 0) {
    const at = rest.indexOf('%');
    if (at < 0) return undefined;
    rest = rest.slice(at);
    if (rest.startsWith('%%')) {
      rest = rest.slice(2);
      continue;
    }
    const match = /^%([A-Z_]+)(?:\(([^()%]*)\))?%/.exec(rest);
    const shown = printable((match?.[0] ?? /^%[^%]*%?/.exec(rest)?.[0] ?? rest).slice(0, 60));
    if (!match) {
      return `${shown} is not a formatter (%NAME% or %NAME(argument)%); write %% for a literal %`;
    }
    const [whole, command, argument] = match as unknown as [string, string, string | undefined];
    const problem = commandProblem(command, argument, direction);
    if (problem !== undefined) return `${shown}: ${problem}`;
    rest = rest.slice(whole.length);
  }
  return undefined;
}

function commandProblem(
  command: string,
  argument: string | undefined,
  direction: Direction,
): string | undefined {
  if (command === 'REQ' || command === 'RESP') {
    if (command === 'RESP' && direction === 'request') {
      return 'a request header cannot read the response; use it in responseHeadersToAdd';
    }
    // `%REQ(x-a?x-b)%`: the first header present.
    const names = argument?.split('?') ?? [];
    const valid = names.length >= 1 && names.length <= 2 && names.every(isFormatterHeaderName);
    return valid
      ? undefined
      : `${command} takes a header name, or two separated by ?, e.g. %${command}(:authority)%`;
  }
  const supported = FORMATTERS[command];
  const accepted = `REQ(<header>), ${direction === 'response' ? 'RESP(<header>), ' : ''}${Object.keys(
    FORMATTERS,
  )
    .filter((name) => FORMATTERS[name] === 'both' || FORMATTERS[name] === direction)
    .join(', ')}`;
  if (supported === undefined || (supported !== 'both' && supported !== direction)) {
    return `not a formatter Trellis accepts in ${direction} headers; accepted: ${accepted}`;
  }
  if (argument !== undefined) return `${command} takes no argument`;
  return undefined;
}

function isFormatterHeaderName(name: string): boolean {
  return (
    name.length > 0 &&
    name.length <= MAX_HEADER_NAME_LENGTH &&
    /^:?[!#$&'*+.^_`|~0-9A-Za-z-]+$/.test(name)
  );
}

/** A key or name as it can be shown in a message: control characters escaped, length capped. */
function printable(text: string): string {
  const shown = JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text);
  return shown.slice(1, -1);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
