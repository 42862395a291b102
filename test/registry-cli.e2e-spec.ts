import type { ServiceDiscoveryClient } from '@aws-sdk/client-servicediscovery';
import { trellis } from './support/cli';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane';
import {
  createHttpNamespace,
  createService,
  serviceDiscoveryClient,
  uniqueNamespaceName,
} from './support/registry';

/** An operator or a host's agent using `trellis registry` against the registry. */
describe('trellis registry', () => {
  let controlPlane: TestControlPlane;
  let cloudMap: ServiceDiscoveryClient;
  let serviceId: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    controlPlane = await startTestControlPlane();
    cloudMap = serviceDiscoveryClient(controlPlane.httpUrl);
    serviceId = await createService(
      cloudMap,
      await createHttpNamespace(cloudMap, uniqueNamespaceName('cli')),
      'orders',
    );
    env = { TRELLIS_ENDPOINT: controlPlane.httpUrl };
  });

  afterAll(async () => {
    cloudMap.destroy();
    await controlPlane.close();
  });

  it('registers, lists with health, heartbeats and deregisters instances', async () => {
    const registered = await trellis(
      [
        'registry',
        'register',
        '--service',
        serviceId,
        '--instance',
        'host-1',
        '--ipv4',
        '10.0.0.7',
        '--port',
        '8080',
        '--attribute',
        'version=green',
      ],
      env,
    );
    expect(registered).toMatchObject({ code: 0, stderr: '' });
    expect(registered.stdout).toMatch(
      new RegExp(`^Registered host-1 in ${serviceId} \\(operation \\S+\\)\\.\\n$`),
    );

    const listed = await trellis(['registry', 'instances', '--service', serviceId], env);
    expect(listed.code).toBe(0);
    const [header, row] = listed.stdout.split('\n');
    expect(header).toMatch(/^INSTANCE\s+HEALTH\s+ADDRESS\s+PORT\s+LEASE UNTIL\s+ATTRIBUTES\s*$/);
    expect(row).toMatch(/^host-1\s+HEALTHY\s+10\.0\.0\.7\s+8080\s+-\s+version=green\s*$/);

    // Without a lease TTL there is nothing to renew: the API's error, exit code 1.
    const refused = await trellis(
      ['registry', 'heartbeat', '--service', serviceId, '--instance', 'host-1'],
      env,
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('has no lease TTL');

    await fetch(`${controlPlane.httpUrl}/v1/registry/services/${serviceId}/lease`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ttlSeconds: 60 }),
    });
    const renewed = await trellis(
      ['registry', 'heartbeat', '--service', serviceId, '--instance', 'host-1', '-o', 'json'],
      env,
    );
    expect(renewed.code).toBe(0);
    const { leaseExpiresAt } = JSON.parse(renewed.stdout) as { leaseExpiresAt: string };
    expect(Date.parse(leaseExpiresAt) - Date.now()).toBeGreaterThan(50_000);

    const deregistered = await trellis(
      ['registry', 'deregister', '--service', serviceId, '--instance', 'host-1'],
      env,
    );
    expect(deregistered.code).toBe(0);
    const empty = await trellis(['registry', 'instances', '--service', serviceId], env);
    expect(empty).toMatchObject({ code: 0, stdout: '' });
    expect(empty.stderr).toContain('has no instances');
  });

  it('refuses a malformed attribute before calling the API', async () => {
    const run = await trellis(
      ['registry', 'register', '--service', serviceId, '--instance', 'h', '--attribute', 'novalue'],
      { TRELLIS_ENDPOINT: 'http://127.0.0.1:9' },
    );
    expect(run.code).toBe(64);
    expect(run.stderr).toContain('--attribute must be KEY=VALUE, got novalue');
  });
});
