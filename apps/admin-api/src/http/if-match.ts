import { BadRequestException } from '../../../../libs/mesh-model/src/errors';

/**
 * The resource version an `If-Match` header names: `"3"` (an entity tag, as this API's ETag
 * header sends it) or a bare `3`; `*` matches any version. `what` names the resource in the
 * message (`the route's`).
 */
export function expectedVersionOf(ifMatch: string | undefined, what: string): number | undefined {
  if (ifMatch === undefined) return undefined;
  const value = ifMatch.trim();
  if (value === '*') return undefined;
  const match = /^(?:W\/)?(?:"(\d{1,15})"|(\d{1,15}))$/.exec(value);
  if (!match) {
    throw new BadRequestException(
      `If-Match: must be ${what} version (metadata.version), e.g. "3", got ${value}`,
    );
  }
  return Number(match[1] ?? match[2]);
}
