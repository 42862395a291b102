import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

/**
 * deploy/kubernetes against the Kubernetes API schemas (kubernetes-models, offline, through
 * deploy/kubernetes/validate.mjs, an ES module and so a process of its own). Where kubectl is
 * installed each overlay is rendered with `kubectl kustomize` and every object validated; the
 * files are validated one by one everywhere (patches as partial objects).
 */

const ROOT = path.resolve(__dirname, '..');
const KUBERNETES = path.join(ROOT, 'deploy/kubernetes');
const VALIDATE = path.join(KUBERNETES, 'validate.mjs');
const OVERLAYS = ['base', 'overlays/dev', 'overlays/production'];
const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;

interface Validation {
  status: number | null;
  stdout: string;
  stderr: string;
}

function validate(args: string[], input?: string): Validation {
  const result = spawnSync(process.execPath, [VALIDATE, ...args], {
    cwd: ROOT,
    input,
    encoding: 'utf8',
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function render(overlay: string): string {
  const result = spawnSync('kubectl', ['kustomize', path.join(KUBERNETES, overlay)], {
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`kubectl kustomize ${overlay}: ${result.stderr}`);
  return result.stdout;
}

interface KubeObject {
  kind: string;
  metadata: { name: string };
  spec?: Record<string, unknown>;
}

type Container = {
  name: string;
  env?: Array<{ name: string; valueFrom?: unknown; value?: string }>;
  securityContext?: Record<string, unknown>;
  readinessProbe?: { httpGet?: { path: string } };
  livenessProbe?: { httpGet?: { path: string } };
};

function podSpec(object: KubeObject): {
  securityContext: Record<string, unknown>;
  containers: Container[];
  initContainers?: Container[];
} {
  return (object.spec as { template: { spec: ReturnType<typeof podSpec> } }).template.spec;
}

/** Kustomization files and what they list as patches, per directory. */
function manifestFiles(): { resources: string[]; patches: string[] } {
  const resources: string[] = [];
  const patches: string[] = [];
  for (const overlay of OVERLAYS) {
    const dir = path.join(KUBERNETES, overlay);
    const kustomization = parse(readFileSync(path.join(dir, 'kustomization.yaml'), 'utf8')) as {
      patches?: Array<{ path: string }>;
    };
    const patchFiles = new Set((kustomization.patches ?? []).map((patch) => patch.path));
    for (const file of readdirSync(dir).filter((name) => name.endsWith('.yaml'))) {
      if (file === 'kustomization.yaml') continue;
      (patchFiles.has(file) ? patches : resources).push(path.join(dir, file));
    }
  }
  return { resources, patches };
}

describe('deploy/kubernetes', () => {
  it('every resource file and every patch is valid against the Kubernetes API schemas', () => {
    const { resources, patches } = manifestFiles();
    expect(resources.length).toBeGreaterThan(5);
    const full = validate(resources);
    expect(full.stderr).toBe('');
    expect(full.status).toBe(0);
    const partial = validate(['--partial', ...patches]);
    expect(partial.stderr).toBe('');
    expect(partial.status).toBe(0);
  });

  (kubectl ? describe : describe.skip)('rendered with kubectl kustomize', () => {
    it.each(OVERLAYS)(
      '%s renders to objects valid against the Kubernetes API schemas',
      (overlay) => {
        const result = validate([], render(overlay));
        expect(result.stderr).toBe('');
        expect(result.status).toBe(0);
        for (const object of [
          'Deployment/trellis-admin',
          'Deployment/trellis-xds',
          'Service/trellis-admin',
          'Service/trellis-xds',
          'PodDisruptionBudget/trellis-xds',
          'HorizontalPodAutoscaler/trellis-xds',
          'NetworkPolicy/trellis',
          'ServiceMonitor/trellis',
        ]) {
          expect(result.stdout).toContain(`ok ${object}\n`);
        }
      },
    );

    it.each(['overlays/dev', 'overlays/production'])(
      '%s runs non-root, read-only, probed, with the database URL and keys from Secrets',
      (overlay) => {
        const objects = parseAllDocuments(render(overlay)).map((doc) => doc.toJS() as KubeObject);
        const deployments = objects.filter(
          (object) => object.kind === 'Deployment' && object.metadata.name.startsWith('trellis-'),
        );
        expect(deployments.map((d) => d.metadata.name).sort()).toEqual([
          'trellis-admin',
          'trellis-xds',
        ]);
        for (const deployment of deployments) {
          const pod = podSpec(deployment);
          expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
          for (const container of [...pod.containers, ...(pod.initContainers ?? [])]) {
            expect(container.securityContext).toMatchObject({
              readOnlyRootFilesystem: true,
              allowPrivilegeEscalation: false,
            });
            const env = new Map((container.env ?? []).map((entry) => [entry.name, entry]));
            expect(env.get('DATABASE_URL')?.valueFrom).toEqual({
              secretKeyRef: { name: expect.stringMatching(/^trellis-database/), key: 'url' },
            });
          }
          const [server] = pod.containers;
          expect(server!.livenessProbe?.httpGet?.path).toBe('/healthz');
          expect(server!.readinessProbe?.httpGet?.path).toBe('/readyz');
          expect(
            server!.env?.find((entry) => entry.name === 'TRELLIS_MASTER_KEY')?.valueFrom,
          ).toBeDefined();
        }
        // Migrations run once, in the admin pods' init container; the servers never migrate.
        const admin = podSpec(deployments.find((d) => d.metadata.name === 'trellis-admin')!);
        expect(admin.initContainers?.[0]?.env?.find((e) => e.name === 'TRELLIS_ROLES')?.value).toBe(
          'migrate',
        );
        const hasPostgres = objects.some((object) => object.kind === 'StatefulSet');
        expect(hasPostgres).toBe(overlay === 'overlays/dev');
      },
    );
  });

  describe('the validator', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(path.join(tmpdir(), 'trellis-manifests-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it.each<[string, { containerPort?: string; selector?: string }, string]>([
      [
        'a port given as a name where a number belongs',
        { containerPort: '"http"' },
        '/spec/template/spec/containers/0/ports/0/containerPort must be integer',
      ],
      ['a Deployment without its selector', { selector: '' }, '/spec must have required property'],
    ])('fails on %s, naming the field', (_case, change, message) => {
      const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: { name: broken }
spec:
${change.selector === '' ? '' : '  selector: { matchLabels: { app: x } }\n'}  template:
    metadata: { labels: { app: x } }
    spec:
      containers:
        - name: x
          image: x
          ports: [{ containerPort: ${change.containerPort ?? 8080} }]
`;
      const file = path.join(dir, 'broken.yaml');
      writeFileSync(file, deployment);
      const result = validate([file]);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain(`Deployment/broken (${file}): ${message}`);
    });

    it('fails on a kind the Kubernetes API does not have', () => {
      const result = validate([], 'apiVersion: apps/v1\nkind: Deploymnet\nmetadata: { name: x }\n');
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('unknown kind apps/v1 Deploymnet');
    });
  });
});
