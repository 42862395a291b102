import type { DiagnosticKind } from '../../mesh-model/src/diagnostics';

/**
 * A problem that kept part of a mesh from being translated as written. `path` names the App Mesh
 * resource and field: `virtualNode/web.spec.backends[0].virtualService.virtualServiceName`.
 */
export interface TranslationError {
  kind: DiagnosticKind;
  path: string;
  message: string;
}

/** Collects errors while translation goes on with what is valid. */
export class TranslationErrors {
  private readonly collected: TranslationError[] = [];

  add(kind: DiagnosticKind, path: string, message: string): void {
    this.collected.push({ kind, path, message });
  }

  /** Sorted, without duplicates: a resource reached twice reports its problem once. */
  list(): TranslationError[] {
    const seen = new Set<string>();
    return this.collected
      .filter((error) => {
        const key = `${error.kind}\u0000${error.path}\u0000${error.message}`;
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      })
      .sort((a, b) => compareStrings(a.path, b.path) || compareStrings(a.message, b.message));
  }
}

/** Code-unit order, the same on every machine (localeCompare is not). */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

/** Resource paths, `virtualNode/<name>`, `virtualRouter/<router>/route/<name>`, ... */
export const resourcePath = {
  mesh: (mesh: string) => `mesh/${mesh}`,
  virtualNode: (name: string) => `virtualNode/${name}`,
  virtualRouter: (name: string) => `virtualRouter/${name}`,
  route: (router: string, name: string) => `virtualRouter/${router}/route/${name}`,
  virtualService: (name: string) => `virtualService/${name}`,
  virtualGateway: (name: string) => `virtualGateway/${name}`,
  gatewayRoute: (gateway: string, name: string) => `virtualGateway/${gateway}/gatewayRoute/${name}`,
  /** Trellis' header rule (`/v1`) of a route or gateway route path. */
  headerRule: (routePath: string) => `${routePath}/headerRule`,
};
