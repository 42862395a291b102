import type { EntityManager } from 'typeorm';
import { ClientTokenEntity } from './entities/client-token.entity';

/** What a request completed with its token answered. */
export interface ClaimedToken {
  response: unknown;
  revision: number | null;
}

/**
 * Records an idempotency token (App Mesh's clientToken, Cloud Map's CreatorRequestId) for a
 * request, in the caller's transaction. Returns the stored outcome when the same request was
 * already completed with it; throws `reused()` when the token was used for a different request.
 * A concurrent request holding the token is awaited (its row lock).
 */
export async function claimClientToken(
  manager: EntityManager,
  token: string,
  requestHash: string,
  reused: (previous: ClaimedToken) => Error,
): Promise<ClaimedToken | undefined> {
  const inserted: unknown[] = await manager.query(
    `INSERT INTO client_token (token, request_hash, created_at) VALUES ($1, $2, now())
     ON CONFLICT (token) DO NOTHING RETURNING token`,
    [token, requestHash],
  );
  if (inserted.length > 0) return undefined;
  const previous = await manager.findOneByOrFail(ClientTokenEntity, { token });
  const claimed = { response: previous.response, revision: previous.revision };
  if (previous.requestHash !== requestHash) throw reused(claimed);
  return claimed;
}

/** Stores what the request that claimed `token` answered, for its retries. */
export async function completeClientToken(
  manager: EntityManager,
  token: string,
  response: unknown,
  revision: number | null,
): Promise<void> {
  await manager.query(
    'UPDATE client_token SET response = $2::json, revision = $3 WHERE token = $1',
    [token, JSON.stringify(response), revision],
  );
}
