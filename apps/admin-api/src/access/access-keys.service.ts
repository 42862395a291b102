import { Injectable } from '@nestjs/common';
import { parseAccessPolicy } from '../../../../libs/mesh-model/src/access-policy';
import { BadRequestException, NotFoundException } from '../../../../libs/mesh-model/src/errors';
import {
  AccessKeyStore,
  type AccessKey,
  type IssuedCredential,
} from '../../../../libs/persistence/src/access-key-store';

/** A key as the API shows it: never a secret, except once in the answer that issues it. */
export interface AccessKeyView {
  name: string;
  description: string;
  state: 'Active' | 'Expired' | 'Revoked';
  policy: unknown;
  requestsPerSecond: number | null;
  createdBy: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  credentials: Array<{
    accessKeyId: string;
    createdAt: string;
    expiresAt: string | null;
    active: boolean;
  }>;
}

export interface IssuedAccessKeyView extends AccessKeyView {
  accessKeyId: string;
  secretAccessKey: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.@+=-]{0,63}$/;
const CREATE_FIELDS = new Set(['name', 'description', 'policy', 'expiresAt', 'requestsPerSecond']);
const DEFAULT_GRACE_SECONDS = 3600;
const MAX_GRACE_SECONDS = 30 * 86_400;

/** Trellis' access keys (docs/security.md): create, list, describe, rotate, revoke. */
@Injectable()
export class AccessKeysService {
  constructor(private readonly store: AccessKeyStore) {}

  async create(body: unknown, actor: string): Promise<IssuedAccessKeyView> {
    const input = object(body);
    for (const field of Object.keys(input)) {
      if (!CREATE_FIELDS.has(field)) throw new BadRequestException(`${field}: unknown field`);
    }
    const name = keyName(input.name, 'name');
    const description = input.description ?? '';
    if (typeof description !== 'string' || description.length > 256) {
      throw new BadRequestException('description: must be a string of at most 256 characters');
    }
    const requestsPerSecond = input.requestsPerSecond ?? null;
    if (
      requestsPerSecond !== null &&
      (!Number.isInteger(requestsPerSecond) ||
        (requestsPerSecond as number) < 1 ||
        (requestsPerSecond as number) > 100_000)
    ) {
      throw new BadRequestException('requestsPerSecond: must be an integer from 1 to 100000');
    }
    const now = new Date();
    const expiresAt =
      input.expiresAt === undefined ? null : timestamp(input.expiresAt, 'expiresAt');
    if (expiresAt && expiresAt <= now) {
      throw new BadRequestException('expiresAt: must be in the future');
    }
    const issued = await this.store.create(
      {
        name,
        description,
        policy: parseAccessPolicy(input.policy),
        requestsPerSecond: requestsPerSecond as number | null,
        expiresAt,
        createdBy: actor,
      },
      now,
    );
    return issuedView(issued, now);
  }

  async list(): Promise<{ keys: AccessKeyView[] }> {
    const now = new Date();
    return { keys: (await this.store.list()).map((key) => view(key, now)) };
  }

  async describe(name: string): Promise<AccessKeyView> {
    const key = await this.store.get(name);
    if (!key) throw new NotFoundException(`No access key named ${name}`);
    return view(key, new Date());
  }

  async rotate(name: string, body: unknown): Promise<IssuedAccessKeyView> {
    const input = object(body ?? {});
    for (const field of Object.keys(input)) {
      if (field !== 'graceSeconds') throw new BadRequestException(`${field}: unknown field`);
    }
    const grace = input.graceSeconds ?? DEFAULT_GRACE_SECONDS;
    if (
      !Number.isInteger(grace) ||
      (grace as number) < 0 ||
      (grace as number) > MAX_GRACE_SECONDS
    ) {
      throw new BadRequestException(
        `graceSeconds: must be an integer from 0 to ${MAX_GRACE_SECONDS}`,
      );
    }
    const now = new Date();
    return issuedView(await this.store.rotate(name, grace as number, now), now);
  }

  async revoke(name: string, actor: string): Promise<AccessKeyView> {
    return view(await this.store.revoke(name, actor), new Date());
  }
}

function issuedView(issued: IssuedCredential, now: Date): IssuedAccessKeyView {
  return {
    ...view(issued.key, now),
    accessKeyId: issued.accessKeyId,
    secretAccessKey: issued.secretAccessKey,
  };
}

function view(key: AccessKey, now: Date): AccessKeyView {
  const expired = key.expiresAt !== null && key.expiresAt <= now;
  const state = key.revokedAt ? 'Revoked' : expired ? 'Expired' : 'Active';
  return {
    name: key.name,
    description: key.description,
    state,
    policy: key.policy,
    requestsPerSecond: key.requestsPerSecond,
    createdBy: key.createdBy,
    createdAt: key.createdAt.toISOString(),
    expiresAt: key.expiresAt?.toISOString() ?? null,
    revokedAt: key.revokedAt?.toISOString() ?? null,
    credentials: key.credentials.map((credential) => ({
      accessKeyId: credential.accessKeyId,
      createdAt: credential.createdAt.toISOString(),
      expiresAt: credential.expiresAt?.toISOString() ?? null,
      active: state === 'Active' && (credential.expiresAt === null || credential.expiresAt > now),
    })),
  };
}

export function keyName(value: unknown, field: string): string {
  if (typeof value !== 'string' || !NAME.test(value)) {
    throw new BadRequestException(
      `${field}: must be 1 to 64 letters, digits and _.@+=- starting with a letter or digit`,
    );
  }
  return value;
}

function object(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new BadRequestException('The request body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

/** An ISO 8601 date-time or epoch seconds, as App Mesh's own timestamps. */
function timestamp(value: unknown, field: string): Date {
  const date =
    typeof value === 'number'
      ? new Date(value * 1000)
      : typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value)
        ? new Date(value)
        : undefined;
  if (!date || Number.isNaN(date.getTime())) {
    throw new BadRequestException(`${field}: must be an ISO 8601 date-time or epoch seconds`);
  }
  return date;
}
