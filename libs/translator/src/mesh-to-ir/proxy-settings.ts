import type { ClientPolicy, Logging, VirtualNodeSpec } from '../../../mesh-model/src/validation';
import type { AccessLogIr, TracingIr } from '../ir';
import type { MeshSnapshot, TracingSettings } from '../mesh-snapshot';
import { compareStrings, resourcePath } from '../translation-errors';

/** A virtual service the proxy sends traffic to, with the client policy that applies to it. */
export interface Backend {
  serviceName: string;
  clientPolicy?: ClientPolicy;
  /** Where errors about the reference point. */
  path: string;
  /** Where the client policy is defined: the backend's own, or the node's backendDefaults. */
  policyPath: string;
}

/**
 * A node's backends, sorted by name. A backend's own client policy replaces the node's
 * `backendDefaults`; a service listed twice counts once (App Mesh de-duplicated them,
 * aws-app-mesh-roadmap#170), the first listing winning.
 */
export function backendsOf(nodeName: string, node: VirtualNodeSpec): Backend[] {
  const byName = new Map<string, Backend>();
  (node.backends ?? []).forEach((backend, index) => {
    const { virtualServiceName, clientPolicy } = backend.virtualService;
    if (byName.has(virtualServiceName)) return;
    const nodePath = `${resourcePath.virtualNode(nodeName)}.spec`;
    const path = `${nodePath}.backends[${index}].virtualService`;
    const policy = clientPolicy ?? node.backendDefaults?.clientPolicy;
    byName.set(virtualServiceName, {
      serviceName: virtualServiceName,
      ...(policy !== undefined && { clientPolicy: policy }),
      path,
      policyPath:
        clientPolicy !== undefined
          ? `${path}.clientPolicy`
          : `${nodePath}.backendDefaults.clientPolicy`,
    });
  });
  return [...byName.values()].sort((a, b) => compareStrings(a.serviceName, b.serviceName));
}

/** Every virtual service of the mesh, sorted, under the node's backend defaults. */
export function allServicesAsBackends(
  mesh: MeshSnapshot,
  nodeName: string,
  node: VirtualNodeSpec,
): Backend[] {
  const policy = node.backendDefaults?.clientPolicy;
  return [...mesh.virtualServices.keys()].sort(compareStrings).map((serviceName) => ({
    serviceName,
    ...(policy !== undefined && { clientPolicy: policy }),
    path: resourcePath.virtualService(serviceName),
    policyPath: `${resourcePath.virtualNode(nodeName)}.spec.backendDefaults.clientPolicy`,
  }));
}

/**
 * X-Ray for every HTTP connection manager of the proxy, as the App Mesh Envoy agent configures
 * it: segment `<mesh>/<node>` unless overridden, origin and `aws.app_mesh` segment fields.
 */
export function tracing(
  settings: TracingSettings,
  meshName: string,
  nodeName: string,
): TracingIr | undefined {
  if (!settings.enabled) return undefined;
  return {
    // An empty override would break Envoy's rule (segment_name min_len 1) and the whole listener.
    segmentName: settings.segmentName || `${meshName}/${nodeName}`,
    daemonAddress: settings.daemonAddress,
    daemonPort: settings.daemonPort,
    ...(settings.samplingRate !== undefined && { samplingRate: settings.samplingRate }),
    meshName,
    virtualNodeName: nodeName,
  };
}

/**
 * The node's file access log. Envoy writes a text format verbatim, so one without a trailing
 * newline gets one (otherwise log lines run together); JSON formats are key/value pairs.
 */
export function accessLog(logging: Logging | undefined): AccessLogIr | undefined {
  const file = logging?.accessLog?.file;
  if (file === undefined) return undefined;
  const format = file.format;
  if (format === undefined) return { path: file.path };
  if ('text' in format) {
    const text = format.text.endsWith('\n') ? format.text : `${format.text}\n`;
    return { path: file.path, format: { kind: 'text', text } };
  }
  const fields: Record<string, string> = {};
  for (const { key, value } of format.json) fields[key] = value;
  return { path: file.path, format: { kind: 'json', fields } };
}
