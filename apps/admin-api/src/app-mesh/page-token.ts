import { BadRequestException } from '../../../../libs/mesh-model/src/errors';

/** Page tokens are opaque to clients: where the next page starts, as the list defines it. */
export function encodePageToken(position: string | number): string {
  return Buffer.from(JSON.stringify({ position }), 'utf8').toString('base64url');
}

/** The position in a token this API issued; BadRequestException (or `invalid()`) for anything else. */
export function decodePageToken<T extends string | number>(
  token: string | undefined,
  isPosition: (value: unknown) => value is T,
  invalid: () => Error = () =>
    new BadRequestException('nextToken: is not a token returned by this API'),
): T | undefined {
  if (token === undefined) return undefined;
  try {
    const decoded: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    const position = (decoded as { position?: unknown } | null)?.position;
    if (isPosition(position)) return position;
  } catch {
    // not JSON: reported below
  }
  throw invalid();
}

export const isName = (value: unknown): value is string => typeof value === 'string';
export const isRevision = (value: unknown): value is number => Number.isInteger(value);
