import { CreateMeshCommand, CreateVirtualNodeCommand } from '@aws-sdk/client-app-mesh';
import pino from 'pino';
import type { DataSource } from 'typeorm';
import { MeshConfigSource } from '../apps/xds-server/src/mesh-config-source';
import { createDataSource } from '../libs/persistence/src/data-source';
import { MeshReader } from '../libs/persistence/src/mesh-reader';
import { DEFAULT_ENGINE_OPTIONS, XdsEngine, type ResponseSink } from '../libs/xds/src/xds-engine';
import {
  startTestControlPlane,
  uniqueMeshName,
  type TestControlPlane,
} from './support/control-plane';
import { envoyNode, sendWrite } from './support/mesh';

/**
 * The xDS source keeps a translation per proxy group for as long as the engine has a stream in
 * the group: once the last proxy of a virtual node goes, its translation goes too, so memory
 * follows the proxies connected, not every virtual node name ever seen.
 */
describe('translations of groups without proxies', () => {
  let trellis: TestControlPlane;
  let dataSource: DataSource;
  const logger = pino({ level: 'silent' });

  beforeAll(async () => {
    trellis = await startTestControlPlane({ TRELLIS_ROLES: 'admin' });
    dataSource = createDataSource(process.env.DATABASE_URL!, 2);
    await dataSource.initialize();
  });
  afterAll(async () => {
    await dataSource?.destroy();
    await trellis?.close();
  });

  const NODE_SPEC = {
    listeners: [{ portMapping: { port: 8080, protocol: 'http' as const } }],
    serviceDiscovery: { dns: { hostname: 'app.local' } },
  };
  const sink: ResponseSink = () => undefined;

  it('are dropped when the last stream of the group closes, and made again on the next', async () => {
    const meshName = uniqueMeshName('release');
    await sendWrite(trellis.appMesh, new CreateMeshCommand({ meshName }));
    for (const virtualNodeName of ['a', 'b']) {
      await sendWrite(
        trellis.appMesh,
        new CreateVirtualNodeCommand({ meshName, virtualNodeName, spec: NODE_SPEC }),
      );
    }
    const source = new MeshConfigSource(new MeshReader(dataSource), logger, {
      databaseUrl: process.env.DATABASE_URL!,
      accountId: '111122223333',
      tracing: { enabled: false, daemonAddress: '127.0.0.1', daemonPort: 2000 },
      resyncMs: 3_600_000,
    });
    const engine = new XdsEngine(source, logger, DEFAULT_ENGINE_OPTIONS);
    engine.start();
    try {
      const a1 = await engine.open(envoyNode(meshName, 'a'), 'sotw', sink);
      const a2 = await engine.open(envoyNode(meshName, 'a'), 'sotw', sink);
      const b = await engine.open(envoyNode(meshName, 'b'), 'sotw', sink);
      expect(await source.keptTranslations()).toBe(2);
      const translated = source.translations;

      engine.close(a1); // a2 still uses group a
      expect(await source.keptTranslations()).toBe(2);
      engine.close(a2);
      expect(await source.keptTranslations()).toBe(1);

      // A proxy of `a` comes back: translated again, the same configuration as before.
      const again = await engine.open(envoyNode(meshName, 'a'), 'sotw', sink);
      expect(source.translations).toBe(translated + 1);
      expect(await source.keptTranslations()).toBe(2);
      engine.close(again);
      engine.close(b);
      expect(await source.keptTranslations()).toBe(0);
    } finally {
      engine.stop();
    }
  });
});
