import { randomUUID } from 'node:crypto';
import { AppMeshClient } from '@aws-sdk/client-app-mesh';
import { signRequest } from '../../apps/cli/src/request-signing';
import { parseAccessPolicy } from '../../libs/mesh-model/src/access-policy';
import { AccessKeyStore } from '../../libs/persistence/src/access-key-store';
import { createDataSource } from '../../libs/persistence/src/data-source';
import { TEST_REGION } from './control-plane';

/** One master key for every test process: they share the test run's Postgres. */
export const TEST_MASTER_KEY = Buffer.alloc(32, 7).toString('base64');

/** A control plane on loopback with authentication on. */
export const AUTH_ENV = { TRELLIS_AUTH: 'on', TRELLIS_MASTER_KEY: TEST_MASTER_KEY };

export interface Credentials {
  keyName: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/**
 * Issues a key straight in the database (the test run's, or `databaseUrl`), as `keys bootstrap`
 * does; the name is made unique.
 */
export async function issueKey(
  prefix: string,
  policy: unknown,
  options: { expiresAt?: Date; requestsPerSecond?: number; databaseUrl?: string } = {},
): Promise<Credentials> {
  const dataSource = createDataSource(options.databaseUrl ?? process.env.DATABASE_URL!, 1);
  await dataSource.initialize();
  try {
    const store = new AccessKeyStore(dataSource, Buffer.from(TEST_MASTER_KEY, 'base64'));
    const keyName = `${prefix}-${randomUUID().slice(0, 8)}`;
    const issued = await store.create({
      name: keyName,
      description: '',
      policy: parseAccessPolicy(policy),
      requestsPerSecond: options.requestsPerSecond ?? null,
      expiresAt: options.expiresAt ?? null,
      createdBy: 'test',
    });
    return { keyName, accessKeyId: issued.accessKeyId, secretAccessKey: issued.secretAccessKey };
  } finally {
    await dataSource.destroy();
  }
}

export const ALLOW_ALL = { Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };

/** The App Mesh SDK as users configure it for Trellis, with a key's credentials. */
export function signedAppMesh(
  endpoint: string,
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
): AppMeshClient {
  return new AppMeshClient({ region: TEST_REGION, endpoint, credentials, maxAttempts: 1 });
}

/** A GET signed as the trellis CLI signs it. */
export async function signedFetch(url: string, credentials: Credentials): Promise<Response> {
  const headers = await signRequest(
    { method: 'GET', url: new URL(url), headers: { accept: 'application/json' } },
    { credentials, region: TEST_REGION },
  );
  return fetch(url, { headers });
}
