import type { HeaderRules, HeaderToAdd } from '../../../mesh-model/src/header-rules';
import type { HeaderValueIr, RouteIr } from '../ir';
import type { NamedHeaderRules } from '../mesh-snapshot';

/** What a header rule sets on an Envoy route. */
export type RouteHeadersIr = Pick<
  RouteIr,
  | 'requestHeadersToAdd'
  | 'requestHeadersToRemove'
  | 'responseHeadersToAdd'
  | 'responseHeadersToRemove'
>;

/** The header rule of the route named `name` among a router's (gateway's) rules. */
export function headerRulesOf(
  rules: ReadonlyArray<NamedHeaderRules> | undefined,
  name: string,
): HeaderRules | undefined {
  return rules?.find((rule) => rule.name === name)?.spec;
}

/**
 * A header rule as Envoy route fields. Names are lower-cased, as Envoy and HTTP/2 carry them; a
 * header without `append` replaces the value the message carries.
 */
export function routeHeaders(rules: HeaderRules | undefined): RouteHeadersIr {
  if (rules === undefined) return {};
  const { requestHeadersToAdd, requestHeadersToRemove } = rules;
  const { responseHeadersToAdd, responseHeadersToRemove } = rules;
  return {
    ...(requestHeadersToAdd?.length && {
      requestHeadersToAdd: requestHeadersToAdd.map(headerValue),
    }),
    ...(requestHeadersToRemove?.length && {
      requestHeadersToRemove: requestHeadersToRemove.map(lowerCase),
    }),
    ...(responseHeadersToAdd?.length && {
      responseHeadersToAdd: responseHeadersToAdd.map(headerValue),
    }),
    ...(responseHeadersToRemove?.length && {
      responseHeadersToRemove: responseHeadersToRemove.map(lowerCase),
    }),
  };
}

function headerValue(header: HeaderToAdd): HeaderValueIr {
  return { name: lowerCase(header.name), value: header.value, overwrite: header.append !== true };
}

function lowerCase(name: string): string {
  return name.toLowerCase();
}
