import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

/** deploy/compose/compose.yaml is well formed: Docker is not here to run it (deploy/README.md). */
describe('deploy/compose', () => {
  const compose = parse(
    readFileSync(path.resolve(__dirname, '../deploy/compose/compose.yaml'), 'utf8'),
    { merge: true },
  ) as {
    services: Record<string, { depends_on?: Record<string, unknown>; volumes?: string[] }>;
    volumes: Record<string, unknown>;
  };

  it('has the Color App shape: Postgres, admin, two xDS replicas, gateway, three tellers with sidecars, X-Ray', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      [
        'postgres',
        'trellis-admin',
        'trellis-xds-1',
        'trellis-xds-2',
        'bootstrap',
        'gateway',
        'blue',
        'blue-envoy',
        'green',
        'green-envoy',
        'red',
        'red-envoy',
        'xray',
      ].sort(),
    );
  });

  it('depends only on services and mounts only volumes it declares', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const dependency of Object.keys(service.depends_on ?? {})) {
        expect([name, compose.services[dependency] !== undefined]).toEqual([name, true]);
      }
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0]!;
        if (!source.startsWith('.')) expect(Object.keys(compose.volumes)).toContain(source);
      }
    }
  });
});
