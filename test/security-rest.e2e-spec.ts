import { spawn } from 'node:child_process';
import path from 'node:path';
import {
  CreateMeshCommand,
  CreateVirtualNodeCommand,
  DescribeMeshCommand,
  ListMeshesCommand,
  UpdateMeshCommand,
  type AppMeshClient,
} from '@aws-sdk/client-app-mesh';
import { Client } from 'pg';
import { PUBLIC_PATHS, operationOf } from '../apps/admin-api/src/access/operation-actions';
import {
  ALLOW_ALL,
  AUTH_ENV,
  issueKey,
  signedAppMesh,
  TEST_MASTER_KEY,
  type Credentials,
} from './support/access-keys';
import {
  meshContents,
  startTestControlPlane,
  TEST_ACCOUNT_ID,
  TEST_REGION,
  uniqueMeshName,
  type TestControlPlane,
} from './support/control-plane';
import { SERVER_MAIN } from './support/process';
import { eventually } from './support/xds';

const TRELLIS_BIN = path.resolve(__dirname, '../apps/cli/bin/trellis.js');

/** The error the SDK raised, as a user's code sees it. */
async function failure(
  promise: Promise<unknown>,
): Promise<{ name: string; status?: number; message: string }> {
  try {
    await promise;
  } catch (error) {
    const { name, message, $metadata } = error as Error & {
      $metadata?: { httpStatusCode?: number };
    };
    return { name, message, status: $metadata?.httpStatusCode };
  }
  throw new Error('the request succeeded');
}

function run(
  file: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !name.startsWith('AWS_') && !name.startsWith('TRELLIS_'),
    ),
  );
  const child = spawn(process.execPath, [file, ...args], { env: { ...inherited, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function credentialsIn(output: string): { accessKeyId: string; secretAccessKey: string } {
  return {
    accessKeyId: /AWS_ACCESS_KEY_ID=(\S+)/.exec(output)![1]!,
    secretAccessKey: /AWS_SECRET_ACCESS_KEY=(\S+)/.exec(output)![1]!,
  };
}

describe('SigV4 with Trellis access keys on the REST API', () => {
  let replicaA: TestControlPlane;
  let replicaB: TestControlPlane;
  let admin: Credentials;
  let adminMesh: AppMeshClient;

  beforeAll(async () => {
    [replicaA, replicaB] = await Promise.all([
      startTestControlPlane(AUTH_ENV),
      startTestControlPlane({ ...AUTH_ENV, TRELLIS_ROLES: 'admin' }),
    ]);
    admin = await issueKey('admin', ALLOW_ALL);
    adminMesh = signedAppMesh(replicaA.httpUrl, admin);
  });

  afterAll(async () => {
    adminMesh?.destroy();
    await replicaA?.close();
    await replicaB?.close();
  });

  it('lets the AWS SDK with a valid key work unchanged, and records the key name as the actor', async () => {
    const meshName = uniqueMeshName('signed');
    const created = await adminMesh.send(new CreateMeshCommand({ meshName }));
    expect(created.mesh?.metadata?.arn).toBe(
      `arn:aws:appmesh:${TEST_REGION}:${TEST_ACCOUNT_ID}:mesh/${meshName}`,
    );
    const log = await replicaA.db.query('SELECT actor FROM change_log WHERE mesh_name = $1', [
      meshName,
    ]);
    expect(log.rows).toEqual([{ actor: admin.keyName }]);
  });

  it.each([
    [
      'a wrong secret',
      () => ({ accessKeyId: admin.accessKeyId, secretAccessKey: 'not-the-secret' }),
      'InvalidSignatureException',
      'The request signature we calculated does not match',
    ],
    [
      'an unknown key',
      () => ({ accessKeyId: 'TKIAUNKNOWNUNKNOWN22', secretAccessKey: 'whatever' }),
      'UnrecognizedClientException',
      'The security token included in the request is invalid',
    ],
    [
      'a session token',
      () => ({ ...admin, sessionToken: 'FwoGZXIvYXdzE' }),
      'UnrecognizedClientException',
      'Trellis keys take no session token',
    ],
  ])(
    'refuses %s with 403 %s and changes nothing',
    async (_case, credentials, errorType, message) => {
      const meshName = uniqueMeshName('refused');
      await adminMesh.send(new CreateMeshCommand({ meshName }));
      const before = await meshContents(replicaA.db, meshName);
      const client = signedAppMesh(replicaA.httpUrl, credentials());
      const error = await failure(
        client.send(
          new UpdateMeshCommand({ meshName, spec: { egressFilter: { type: 'ALLOW_ALL' } } }),
        ),
      );
      client.destroy();
      expect(error).toMatchObject({ name: errorType, status: 403 });
      expect(error.message).toContain(message);
      expect(await meshContents(replicaA.db, meshName)).toEqual(before);
    },
  );

  it('refuses what the policy does not allow with AWS wording, and changes nothing', async () => {
    const prodMesh = uniqueMeshName('prod');
    const otherMesh = uniqueMeshName('other');
    await adminMesh.send(new CreateMeshCommand({ meshName: prodMesh }));
    await adminMesh.send(new CreateMeshCommand({ meshName: otherMesh }));
    const scoped = await issueKey('prod-operator', {
      Statement: [
        { Effect: 'Allow', Action: 'appmesh:Describe*', Resource: '*' },
        {
          Effect: 'Allow',
          Action: 'appmesh:*',
          Resource: `arn:aws:appmesh:*:*:mesh/${prodMesh}/*`,
        },
        {
          Effect: 'Deny',
          Action: 'appmesh:CreateVirtualNode',
          Resource: `arn:aws:appmesh:*:*:mesh/${prodMesh}/virtualNode/db`,
        },
      ],
    });
    const client = signedAppMesh(replicaA.httpUrl, scoped);
    const before = await meshContents(replicaA.db, otherMesh);

    // Allowed: reading anywhere, writing under the prod mesh.
    await client.send(new DescribeMeshCommand({ meshName: otherMesh }));
    await client.send(
      new CreateVirtualNodeCommand({ meshName: prodMesh, virtualNodeName: 'web', spec: {} }),
    );

    const outside = await failure(
      client.send(
        new CreateVirtualNodeCommand({ meshName: otherMesh, virtualNodeName: 'web', spec: {} }),
      ),
    );
    expect(outside).toEqual({
      name: 'AccessDeniedException',
      status: 403,
      message: `User: ${scoped.keyName} is not authorized to perform: appmesh:CreateVirtualNode on resource: arn:aws:appmesh:${TEST_REGION}:${TEST_ACCOUNT_ID}:mesh/${otherMesh}/virtualNode/web`,
    });
    const denied = await failure(
      client.send(
        new CreateVirtualNodeCommand({ meshName: prodMesh, virtualNodeName: 'db', spec: {} }),
      ),
    );
    expect(denied.message).toMatch(
      /appmesh:CreateVirtualNode on resource: .*virtualNode\/db with an explicit deny$/,
    );
    const listing = await failure(client.send(new ListMeshesCommand({})));
    expect(listing.name).toBe('AccessDeniedException');
    client.destroy();
    expect(await meshContents(replicaA.db, otherMesh)).toEqual(before);
    const nodes = await replicaA.db.query(
      `SELECT name FROM mesh_resource WHERE mesh_name = $1 AND kind = 'virtualNode'`,
      [prodMesh],
    );
    expect(nodes.rows).toEqual([{ name: 'web' }]);
  });

  it('refuses an expired key', async () => {
    const meshName = uniqueMeshName('expiry');
    await adminMesh.send(new CreateMeshCommand({ meshName }));
    const expiring = await issueKey('expiring', ALLOW_ALL, {
      expiresAt: new Date(Date.now() + 60_000),
    });
    const client = signedAppMesh(replicaA.httpUrl, expiring);
    await client.send(new DescribeMeshCommand({ meshName }));
    // Time passes: the key's expiry is now behind us (and every replica hears of the change).
    await replicaA.db.query(
      `UPDATE access_key SET expires_at = now() - interval '1 second' WHERE name = $1`,
      [expiring.keyName],
    );
    await replicaA.db.query(`SELECT pg_notify('trellis_access_keys', $1)`, [expiring.keyName]);
    await eventually(async () => {
      const error = await failure(client.send(new DescribeMeshCommand({ meshName })));
      expect(error).toMatchObject({ name: 'UnrecognizedClientException', status: 403 });
      expect(error.message).toContain(`the access key ${expiring.keyName} expired at`);
    }, 5000);
    client.destroy();
  });

  it('manages keys with `trellis keys`, and a key revoked on one replica is refused by the other within 5 s', async () => {
    const meshName = uniqueMeshName('revoke');
    await adminMesh.send(new CreateMeshCommand({ meshName }));
    const env = {
      TRELLIS_ENDPOINT: replicaA.httpUrl,
      AWS_ACCESS_KEY_ID: admin.accessKeyId,
      AWS_SECRET_ACCESS_KEY: admin.secretAccessKey,
      AWS_REGION: TEST_REGION,
    };
    const name = `ci-${meshName}`;
    const created = await run(
      TRELLIS_BIN,
      [
        'keys',
        'create',
        '--name',
        name,
        '--policy',
        JSON.stringify({
          Statement: [
            {
              Effect: 'Allow',
              Action: 'appmesh:*',
              Resource: `arn:aws:appmesh:*:*:mesh/${meshName}*`,
            },
          ],
        }),
      ],
      env,
    );
    expect(created).toMatchObject({ code: 0, stderr: '' });
    const first = credentialsIn(created.stdout);
    const onB = signedAppMesh(replicaB.httpUrl, first);
    await onB.send(new DescribeMeshCommand({ meshName }));

    // Rotation: both credentials work during the grace period.
    const rotated = await run(TRELLIS_BIN, ['keys', 'rotate', name, '--grace', '600'], env);
    expect(rotated.code).toBe(0);
    const second = credentialsIn(rotated.stdout);
    expect(second.accessKeyId).not.toBe(first.accessKeyId);
    expect(rotated.stdout).toContain(`${first.accessKeyId} keeps working until`);
    const onBRotated = signedAppMesh(replicaB.httpUrl, second);
    await onBRotated.send(new DescribeMeshCommand({ meshName }));
    await onB.send(new DescribeMeshCommand({ meshName }));

    const listed = await run(TRELLIS_BIN, ['keys', 'list'], env);
    expect(listed.stdout).toMatch(
      new RegExp(`${name}\\s+Active\\s+${second.accessKeyId},${first.accessKeyId}`),
    );
    expect(listed.stdout).not.toContain(second.secretAccessKey);

    const revoked = await run(TRELLIS_BIN, ['keys', 'revoke', name], env);
    // The revocation committed before the command answered.
    const revokedAt = Date.now();
    expect(revoked).toMatchObject({ code: 0, stdout: `Revoked access key ${name}.\n` });
    await eventually(async () => {
      for (const client of [onB, onBRotated]) {
        const error = await failure(client.send(new DescribeMeshCommand({ meshName })));
        expect(error).toMatchObject({ name: 'UnrecognizedClientException', status: 403 });
        expect(error.message).toContain('was revoked');
      }
    }, 5000);
    expect(Date.now() - revokedAt).toBeLessThan(5000);
    onB.destroy();
    onBRotated.destroy();
    const log = await replicaA.db.query(
      `SELECT created_by, revoked_by FROM access_key WHERE name = $1`,
      [name],
    );
    expect(log.rows).toEqual([{ created_by: admin.keyName, revoked_by: admin.keyName }]);
  });

  it('guards the keys API by policy', async () => {
    const reader = await issueKey('reader', {
      Statement: [
        { Effect: 'Allow', Action: ['trellis:ListKeys', 'appmesh:Describe*'], Resource: '*' },
      ],
    });
    const env = {
      TRELLIS_ENDPOINT: replicaA.httpUrl,
      AWS_ACCESS_KEY_ID: reader.accessKeyId,
      AWS_SECRET_ACCESS_KEY: reader.secretAccessKey,
    };
    expect((await run(TRELLIS_BIN, ['keys', 'list'], env)).code).toBe(0);
    const refused = await run(
      TRELLIS_BIN,
      ['keys', 'create', '--name', 'escalation', '--policy', JSON.stringify(ALLOW_ALL)],
      env,
    );
    expect(refused).toMatchObject({ code: 1 });
    expect(refused.stderr).toBe(
      `AccessDeniedException: User: ${reader.keyName} is not authorized to perform: trellis:CreateKey on resource: arn:aws:trellis:${TEST_REGION}:${TEST_ACCOUNT_ID}:key/escalation\n`,
    );
  });

  it("answers 429 TooManyRequestsException over a key's request rate", async () => {
    const slow = await issueKey('slow', ALLOW_ALL, { requestsPerSecond: 1 });
    const client = signedAppMesh(replicaA.httpUrl, slow);
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, () => client.send(new ListMeshesCommand({}))),
    );
    client.destroy();
    const refused = results.filter((result) => result.status === 'rejected');
    expect(refused.length).toBeGreaterThanOrEqual(3);
    for (const result of refused) {
      expect(result.reason).toMatchObject({
        name: 'TooManyRequestsException',
        message: 'Rate exceeded',
        $metadata: { httpStatusCode: 429 },
      });
    }
  });

  it('maps every route the API serves to an IAM action', () => {
    const router = (replicaA.app.getHttpAdapter().getInstance() as { router: { stack: Layer[] } })
      .router;
    const routes = router.stack
      // Nest's own catch-all (`/{*path}`, its 404) is no operation.
      .filter((layer) => layer.route && !layer.route.path.includes('{*'))
      .flatMap((layer) =>
        Object.keys(layer.route!.methods).map((method) => ({
          method: method.toUpperCase(),
          path: layer.route!.path,
        })),
      );
    expect(routes.length).toBeGreaterThan(30);
    const unmapped = routes.filter(
      ({ method, path }) =>
        !PUBLIC_PATHS.has(path) &&
        !operationOf(
          {
            method,
            path: path.replace(/:[A-Za-z]+/g, 'x'),
            query: {},
            body: {},
            // Cloud Map's one route (`POST /`) names its operation in this header.
            headers: { 'x-amz-target': 'Route53AutoNaming_v20170314.ListNamespaces' },
          },
          { region: TEST_REGION, accountId: TEST_ACCOUNT_ID },
        ),
    );
    expect(unmapped).toEqual([]);
  });
});

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
}

describe('keys bootstrap', () => {
  it('creates the first key in an empty database, prints it once, and refuses a second time', async () => {
    const admin = new Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    const database = `bootstrap_${Date.now()}`;
    await admin.query(`CREATE DATABASE ${database}`);
    const url = new URL(process.env.DATABASE_URL!);
    url.pathname = `/${database}`;
    const env = { DATABASE_URL: url.toString(), TRELLIS_MASTER_KEY: TEST_MASTER_KEY };
    try {
      const first = await run(SERVER_MAIN, ['keys', 'bootstrap'], env);
      expect(first).toMatchObject({ code: 0 });
      expect(first.stdout).toContain(
        'Created access key admin, allowed every action on every resource.',
      );
      const credentials = credentialsIn(first.stdout);
      const control = await startTestControlPlane({ ...AUTH_ENV, DATABASE_URL: url.toString() });
      try {
        const client = signedAppMesh(control.httpUrl, credentials);
        await client.send(new ListMeshesCommand({}));
        client.destroy();
      } finally {
        await control.close();
      }
      const second = await run(SERVER_MAIN, ['keys', 'bootstrap'], env);
      expect(second.code).toBe(2);
      expect(second.stderr).toContain('1 access key(s) exist already');
    } finally {
      await admin.query(`DROP DATABASE ${database} WITH (FORCE)`);
      await admin.end();
    }
  });
});
