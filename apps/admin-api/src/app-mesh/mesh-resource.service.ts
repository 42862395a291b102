import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { NotFoundException } from '../../../../libs/mesh-model/src/errors';
import {
  describeMissing,
  enforcedReferences,
  meshId,
  meshNameOfArn,
  parentId,
  referencedId,
  type ResourceId,
  type ResourceKind,
} from '../../../../libs/mesh-model/src/resource-kinds';
import {
  MeshStore,
  type MeshWriteTransaction,
  type Tag,
} from '../../../../libs/persistence/src/mesh-store';
import { ADMIN_API_OPTIONS, type AdminApiOptions } from '../admin-api.options';
import { decodePageToken, encodePageToken, isName } from './page-token';
import { resourceData, resourceRef } from './resource-data';
import { ResourceWrites } from '../resource-writes';

export interface WriteRequest {
  /** The App Mesh operation name, part of the client-token fingerprint. */
  operation: string;
  id: ResourceId;
  spec: Record<string, unknown>;
  tags?: Tag[];
  clientToken?: string;
  actor: string;
}

export interface WriteResult {
  /** The `*Data` response body (or `{}` for tag operations). */
  body: Record<string, unknown>;
  /** The mesh revision this write produced (or produced first, for a replay). */
  revision: number;
}

export interface Page {
  items: Record<string, unknown>[];
  nextToken?: string;
}

/**
 * The App Mesh operations on resources: reads, client tokens, and writes through the one write
 * path ({@link ResourceWrites}), which checks every rule that needs other resources. Spec shapes
 * are validated before a request gets here.
 */
@Injectable()
export class MeshResourceService {
  constructor(
    private readonly store: MeshStore,
    private readonly writes: ResourceWrites,
    @Inject(ADMIN_API_OPTIONS) private readonly options: AdminApiOptions,
  ) {}

  async describe(id: ResourceId): Promise<Record<string, unknown>> {
    const resource = await this.store.get(id);
    if (!resource) throw new NotFoundException(describeMissing(id, this.options.accountId));
    return resourceData(resource, this.options.accountId, 'ACTIVE');
  }

  async list(
    kind: ResourceKind,
    meshName: string | undefined,
    parentName: string,
    limit: number | undefined,
    nextToken: string | undefined,
  ): Promise<Page> {
    if (meshName !== undefined) await this.requireExisting(meshId(meshName));
    const parent =
      meshName === undefined ? undefined : parentId({ meshName, kind, parentName, name: '' });
    if (parent) await this.requireExisting(parent);
    const pageSize = limit ?? 100;
    const rows = await this.store.list(
      kind,
      meshName,
      parentName,
      pageSize + 1,
      decodePageToken(nextToken, isName),
    );
    const page = rows.slice(0, pageSize);
    const last = page[page.length - 1];
    return {
      items: page.map((row) => resourceRef(row, this.options.accountId)),
      nextToken: rows.length > pageSize && last ? encodePageToken(last.id.name) : undefined,
    };
  }

  create(request: WriteRequest): Promise<WriteResult> {
    return this.idempotentWrite(request, async (tx) => {
      const { resource, revision } = await this.writes.create(tx, {
        id: request.id,
        spec: request.spec,
        tags: request.tags ?? [],
        change: { operation: 'CREATE', actor: request.actor },
      });
      return { body: resourceData(resource, this.options.accountId, 'ACTIVE'), revision };
    });
  }

  update(request: WriteRequest): Promise<WriteResult> {
    return this.idempotentWrite(request, async (tx) => {
      const { id, spec } = request;
      const { resource, revision } = await this.writes.update(tx, {
        id,
        expectedReferences: enforcedReferences(id.kind, spec).map((reference) =>
          referencedId(id.meshName, reference),
        ),
        next: () => ({ spec }),
        change: { operation: 'UPDATE', actor: request.actor },
      });
      return { body: resourceData(resource, this.options.accountId, 'ACTIVE'), revision };
    });
  }

  delete(id: ResourceId, actor: string): Promise<WriteResult> {
    return this.store.write(id.meshName, async (tx) => {
      const { resource, revision } = await this.writes.delete(tx, id, {
        operation: 'DELETE',
        actor,
      });
      return {
        body: resourceData(resource, this.options.accountId, 'DELETED', new Date()),
        revision,
      };
    });
  }

  async listTags(
    arn: string,
    limit: number | undefined,
    nextToken: string | undefined,
  ): Promise<{ tags: Tag[]; nextToken?: string }> {
    const resource = await this.store.findByArn(arn);
    if (!resource) throw new NotFoundException(`No resource with ARN ${arn}`);
    const sorted = [...resource.tags].sort((a, b) => compare(a.key, b.key));
    const after = decodePageToken(nextToken, isName);
    const remaining =
      after === undefined ? sorted : sorted.filter((tag) => compare(tag.key, after) > 0);
    const pageSize = limit ?? 50;
    const page = remaining.slice(0, pageSize);
    const last = page[page.length - 1];
    return {
      tags: page,
      nextToken: remaining.length > pageSize && last ? encodePageToken(last.key) : undefined,
    };
  }

  /** Adds or overwrites tags; with more than the tag limit in the end, applies none. */
  tag(arn: string, tags: Tag[], actor: string): Promise<WriteResult> {
    return this.changeTags(arn, actor, 'TAG', (current) => {
      const merged = new Map(current.map((tag) => [tag.key, tag]));
      for (const tag of tags) merged.set(tag.key, tag);
      return [...merged.values()];
    });
  }

  untag(arn: string, tagKeys: string[], actor: string): Promise<WriteResult> {
    const removed = new Set(tagKeys);
    return this.changeTags(arn, actor, 'UNTAG', (current) =>
      current.filter((tag) => !removed.has(tag.key)),
    );
  }

  /**
   * A tag change through the write path. The resource is found by ARN through the transaction:
   * a read on the pool here would hold a second connection per tag call, and concurrent calls
   * would exhaust the pool.
   */
  private changeTags(
    arn: string,
    actor: string,
    operation: 'TAG' | 'UNTAG',
    next: (current: Tag[]) => Tag[],
  ): Promise<WriteResult> {
    const notFound = () => new NotFoundException(`No resource with ARN ${arn}`);
    const meshName = meshNameOfArn(arn);
    if (meshName === undefined) return Promise.reject(notFound());
    return this.store.write(meshName, async (tx) => {
      const found = await tx.findByArn(arn);
      if (!found || found.id.meshName !== meshName) throw notFound();
      const { revision } = await this.writes.update(tx, {
        id: found.id,
        next: (current) => ({ tags: next(current.tags) }),
        change: { operation, actor },
        problems: { missing: notFound },
      });
      return { body: {}, revision };
    });
  }

  /**
   * Runs a Create/Update at most once per client token: a retry with the same token and
   * request gets the first answer and changes nothing.
   */
  private idempotentWrite(
    request: WriteRequest,
    write: (tx: MeshWriteTransaction) => Promise<WriteResult>,
  ): Promise<WriteResult> {
    return this.store.write(request.id.meshName, async (tx) => {
      const { clientToken } = request;
      if (clientToken !== undefined) {
        const previous = await tx.claimClientToken(clientToken, fingerprint(request));
        if (previous) {
          return {
            body: previous.response as Record<string, unknown>,
            revision: previous.revision ?? 0,
          };
        }
      }
      const result = await write(tx);
      if (clientToken !== undefined) {
        await tx.completeClientToken(clientToken, result.body, result.revision);
      }
      return result;
    });
  }

  private async requireExisting(id: ResourceId): Promise<void> {
    if (!(await this.store.get(id))) {
      throw new NotFoundException(describeMissing(id, this.options.accountId));
    }
  }
}

function fingerprint(request: WriteRequest): string {
  return createHash('sha256')
    .update(JSON.stringify([request.operation, request.id, request.spec, request.tags ?? null]))
    .digest('hex');
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
