import { AsyncLocalStorage } from 'node:async_hooks';
import type { DataSource, EntityManager } from 'typeorm';
import { withDatabaseErrors } from './database-errors';

/**
 * Which code runs inside a transaction. A transaction holds one pool connection until it ends;
 * a read on the pool from inside it takes a second one, and enough concurrent transactions doing
 * that exhaust the pool while each waits for a connection the others hold (the whole process
 * stalls until the pool's timeout). So inside a transaction every read goes through the
 * transaction: pool reads and nested transactions refuse to run there.
 */
const transactionScope = new AsyncLocalStorage<true>();

/** Raised for a pool read or a second transaction inside a transaction: a bug, not bad input. */
export class NestedPoolUseError extends Error {
  constructor(what: string) {
    super(
      `${what} inside a transaction would take a second pool connection; read through the transaction instead`,
    );
    this.name = 'NestedPoolUseError';
  }
}

/**
 * Runs `work` in one transaction on one pool connection; it commits only if `work` resolves.
 * Driver failures become App Mesh exceptions ({@link withDatabaseErrors}).
 */
export function inTransaction<T>(
  dataSource: DataSource,
  work: (manager: EntityManager) => Promise<T>,
): Promise<T> {
  if (transactionScope.getStore()) {
    return Promise.reject(new NestedPoolUseError('A transaction'));
  }
  return withDatabaseErrors(() =>
    dataSource.transaction((manager) => transactionScope.run(true, () => work(manager))),
  );
}

/** Runs `read` on a pool connection of its own; refuses inside a transaction. */
export function onPool<T>(read: () => Promise<T>): Promise<T> {
  if (transactionScope.getStore()) {
    return Promise.reject(new NestedPoolUseError('A read outside the transaction'));
  }
  return withDatabaseErrors(read);
}

/**
 * Writers of one mesh take turns on its row lock, each holding a pool connection while it waits:
 * a burst of writes to one mesh would take every connection and leave the rest of the process
 * (other meshes, xDS loads, `/readyz`) waiting. So they queue here first, and at most two per
 * mesh hold connections: the lock holder and the next one, already waiting in Postgres so that
 * the hand-over costs no extra round trip.
 */
const WRITERS_PER_MESH = 2;

interface WriterSlots {
  active: number;
  waiting: Array<() => void>;
}

const meshWriters = new WeakMap<DataSource, Map<string, WriterSlots>>();

/** {@link inTransaction} for a transaction that writes (and locks) the mesh `meshName`. */
export async function inMeshTransaction<T>(
  dataSource: DataSource,
  meshName: string,
  work: (manager: EntityManager) => Promise<T>,
): Promise<T> {
  // Checked before queueing: a nested write waiting for its own mesh's turn would never get it.
  if (transactionScope.getStore()) throw new NestedPoolUseError('A transaction');
  let byMesh = meshWriters.get(dataSource);
  if (!byMesh) meshWriters.set(dataSource, (byMesh = new Map<string, WriterSlots>()));
  let slots = byMesh.get(meshName);
  if (!slots) byMesh.set(meshName, (slots = { active: 0, waiting: [] }));
  if (slots.active < WRITERS_PER_MESH) slots.active += 1;
  else await new Promise<void>((resolve) => slots.waiting.push(resolve));
  try {
    return await inTransaction(dataSource, work);
  } finally {
    const next = slots.waiting.shift();
    if (next) next();
    else if (--slots.active === 0) byMesh.delete(meshName);
  }
}
