import { readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ResolvedTracing } from '../../libs/mesh-model/src/tracing';
import { createDataSource } from '../../libs/persistence/src/data-source';
import { MeshReader } from '../../libs/persistence/src/mesh-reader';
import { MeshStore } from '../../libs/persistence/src/mesh-store';
import { meshSnapshot } from '../../libs/translator/src/mesh-snapshot';
import { translate } from '../../libs/translator/src/translate';
import { benchMeshResources, nodeName, writeBenchMesh } from '../translation/bench-mesh';
import { BENCH_REGISTRY } from '../translation/translation-bench';
import { groupSubscriptions, type GroupSubscriptions } from '../xds/bench-mesh';
import type { Protocol } from '../xds/load-client';
import type { ControlPlaneProcess } from './control-plane-process';
import {
  connect,
  loadGenerator,
  restartUnderFleet,
  startControlPlane,
  type RestartResult,
  type SystemBenchOptions,
} from './fanout';

// A cold start under a full fleet: the translation benchmark's mesh (bench/translation) stored,
// every virtual node with proxies connected, then a restart of the control plane under them.
// Proxies reconnect with Envoy's backoff and the versions they hold; measured until the
// propagation API shows every proxy in sync.

const NO_TRACING: ResolvedTracing = {
  enabled: false,
  daemonAddress: '127.0.0.1',
  daemonPort: 2000,
};

export interface ColdStartSize {
  /** Virtual nodes in the stored mesh. */
  nodes: number;
  /** Proxies, spread evenly over the virtual nodes. */
  proxies: number;
}

export interface ColdStartResult extends RestartResult {
  protocol: Protocol;
  nodes: number;
  /** App Mesh resources stored. */
  storedResources: number;
}

export async function runColdStart(
  options: SystemBenchOptions,
  protocol: Protocol,
  size: ColdStartSize,
): Promise<ColdStartResult> {
  const label = `cold start ${protocol} ${size.nodes} nodes, ${size.proxies} proxies`;
  const meshName = `cold-${protocol}-${size.nodes}`;
  options.log(`${label}: starting the control plane, writing the mesh`);
  let controlPlane = await startControlPlane(options);
  const { generator, failed } = loadGenerator();
  try {
    const { groups, storedResources } = await writeMesh(controlPlane, options, meshName, size);
    options.log(`${label}: connecting`);
    await connect(
      generator,
      failed,
      {
        port: controlPlane.options.xdsPort,
        protocol,
        streams: size.proxies,
        groups,
        mesh: meshName,
        reconnect: true,
      },
      options.timeoutMs,
    );
    const restart = await restartUnderFleet(controlPlane, generator, {
      streams: size.proxies,
      meshName,
      options,
      label,
    });
    controlPlane = restart.controlPlane;
    return { protocol, nodes: size.nodes, storedResources, ...restart.result };
  } finally {
    generator.stop();
    await controlPlane.stop();
  }
}

/**
 * Writes the mesh straight into the control plane's database (setup, not measured) and returns
 * what each virtual node's proxies subscribe to, from the translator.
 */
async function writeMesh(
  controlPlane: ControlPlaneProcess,
  options: SystemBenchOptions,
  meshName: string,
  size: ColdStartSize,
): Promise<{ groups: GroupSubscriptions[]; storedResources: number }> {
  const password = readFileSync(path.join(options.dataDir, 'postgres-password'), 'utf8').trim();
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${controlPlane.options.postgresPort}/trellis`;
  const dataSource = createDataSource(url, 2);
  await dataSource.initialize();
  try {
    const resources = benchMeshResources(meshName, size.nodes);
    const started = performance.now();
    await writeBenchMesh(new MeshStore(dataSource), meshName, resources);
    options.log(
      `${meshName}: wrote ${resources.length} resources in ${Math.round(performance.now() - started)} ms`,
    );
    const contents = await new MeshReader(dataSource).load(meshName);
    if (!contents) throw new Error(`${meshName} is missing after writing it`);
    const snapshot = meshSnapshot(contents);
    const groups: GroupSubscriptions[] = [];
    for (let index = 0; index < size.nodes; index++) {
      const virtualNode = nodeName(index);
      const { resources: translated } = translate(
        snapshot,
        // Names of endpoints and route configurations do not depend on tracing.
        { kind: 'sidecar', virtualNode, tracing: NO_TRACING },
        BENCH_REGISTRY,
      );
      groups.push({ ...groupSubscriptions(translated), virtualNode });
    }
    return { groups, storedResources: resources.length };
  } finally {
    await dataSource.destroy();
  }
}
