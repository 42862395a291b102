import { spawn } from 'node:child_process';
import { DescribeMeshCommand } from '@aws-sdk/client-app-mesh';
import {
  startTestControlPlane,
  uniqueMeshName,
  type TestControlPlane,
} from './support/control-plane';

/**
 * docs/migrating-from-app-mesh.md, section 2: an SDK program with no endpoint in its code
 * reaches Trellis through AWS_ENDPOINT_URL_APP_MESH alone (the variable the AWS CLI reads too).
 */
describe('the migration guide', () => {
  let trellis: TestControlPlane;
  beforeAll(async () => {
    trellis = await startTestControlPlane({ TRELLIS_ROLES: 'admin' });
  });
  afterAll(() => trellis?.close());

  it('points an unmodified SDK program at Trellis with AWS_ENDPOINT_URL_APP_MESH', async () => {
    const meshName = uniqueMeshName('guide');
    const program = `
      const { AppMeshClient, CreateMeshCommand } = require('@aws-sdk/client-app-mesh');
      new AppMeshClient({})
        .send(new CreateMeshCommand({ meshName: process.argv[1] }))
        .then((out) => console.log(out.mesh.metadata.arn), (e) => { console.error(e); process.exit(1); });`;
    const child = spawn(process.execPath, ['-e', program, meshName], {
      env: {
        PATH: process.env.PATH,
        AWS_ENDPOINT_URL_APP_MESH: trellis.httpUrl,
        AWS_REGION: 'eu-west-1',
        AWS_ACCESS_KEY_ID: 'AKIDGUIDE',
        AWS_SECRET_ACCESS_KEY: 'not-checked',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    expect(await new Promise((resolve) => child.on('close', resolve))).toBe(0);
    const described = await trellis.appMesh.send(new DescribeMeshCommand({ meshName }));
    expect(stdout.trim()).toBe(described.mesh?.metadata?.arn);
  });
});
