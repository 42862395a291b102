import type { Response } from 'express';
import { BadRequestException, NotFoundException } from '../../../../libs/mesh-model/src/errors';
import { validateOperationInput } from '../../../../libs/mesh-model/src/validation';
import type { WriteResult } from './mesh-resource.service';

export const MESH_REVISION_HEADER = 'x-trellis-mesh-revision';
/**
 * Where a write's translation problems will be: the mesh's diagnostics at the revision it produced
 * (or a later one). The write succeeds whatever they are, as in App Mesh.
 */
export const DIAGNOSTICS_HEADER = 'x-trellis-diagnostics';

export function diagnosticsUrl(meshName: string, revision: number): string {
  return `/v1/meshes/${encodeURIComponent(meshName)}/diagnostics?revision=${revision}`;
}

/** Query-string members of the App Mesh API; any other query parameter is ignored. */
const QUERY_MEMBERS = ['meshOwner', 'limit', 'nextToken', 'resourceArn'] as const;

/**
 * Assembles an operation's input from path labels, known query parameters and the JSON
 * body, and validates it against the App Mesh model. Body members may not repeat a
 * path or query member.
 */
export function operationInput(
  operation: string,
  pathLabels: Record<string, string | undefined>,
  query: Record<string, unknown>,
  body: unknown,
): Record<string, unknown> {
  if (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body))) {
    throw new BadRequestException('The request body must be a JSON object');
  }
  const bodyMembers = (body ?? {}) as Record<string, unknown>;
  // No prototype: a body member named `__proto__` stays a member (and an unknown field).
  const input = Object.create(null) as Record<string, unknown>;
  for (const [key, value] of Object.entries(bodyMembers)) {
    if (Object.hasOwn(pathLabels, key) || (QUERY_MEMBERS as readonly string[]).includes(key)) {
      throw new BadRequestException(
        `${key}: unknown field in the request body (it belongs in the URL)`,
      );
    }
    input[key] = value;
  }
  for (const [key, value] of Object.entries(pathLabels)) {
    if (value !== undefined) input[key] = value;
  }
  for (const key of QUERY_MEMBERS) {
    const value = query[key];
    if (value === undefined) continue;
    if (typeof value !== 'string') throw new BadRequestException(`${key}: must be given once`);
    input[key] = key === 'limit' && /^-?\d+$/.test(value) ? Number(value) : value;
  }
  validateOperationInput(operation, input);
  return input;
}

/** `meshOwner` may name this Trellis' account only; other accounts' meshes do not exist here. */
export function checkMeshOwner(
  input: Record<string, unknown>,
  meshName: string,
  accountId: string,
): void {
  const owner = input.meshOwner;
  if (owner !== undefined && owner !== accountId) {
    throw new NotFoundException(
      `Mesh with name ${meshName} is not present for account ${owner as string}`,
    );
  }
}

/** The access key id from a SigV4 `Authorization` header, recorded as the change's actor. */
export function actorFrom(authorization: string | undefined): string {
  const match = authorization?.match(/Credential=([^/,\s]+)\//);
  return match?.[1] ?? 'anonymous';
}

/** Sets the mesh revision and diagnostics headers of a write and returns its body. */
export function writeResponse(response: Response, result: WriteResult): Record<string, unknown> {
  response.setHeader(MESH_REVISION_HEADER, String(result.revision));
  const meshName = result.body.meshName;
  if (typeof meshName === 'string') {
    response.setHeader(DIAGNOSTICS_HEADER, diagnosticsUrl(meshName, result.revision));
  }
  return result.body;
}
