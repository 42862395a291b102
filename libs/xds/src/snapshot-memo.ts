import type { EncodedSnapshot } from './config-source';

/** Entries one snapshot's memo keeps before starting afresh. */
const MAX_ENTRIES = 4096;
/** Characters of keys one snapshot's memo keeps before starting afresh (a key lists resource names). */
const MAX_KEY_CHARACTERS = 4 * 1024 * 1024;

/**
 * Values computed once per snapshot and subscription, for every stream that shares both. Entries
 * go away with their snapshot; within one long-lived snapshot (the empty one of proxies no source
 * knows, or a mesh nobody changes) proxies sending ever new subscriptions cannot make it grow
 * without bound: past its limits the memo starts afresh.
 */
export class SnapshotMemo<Value> {
  private readonly bySnapshot = new WeakMap<
    EncodedSnapshot['resources'],
    { values: Map<string, Value>; keyCharacters: number }
  >();

  get(snapshot: EncodedSnapshot['resources'], key: string, compute: () => Value): Value {
    let memo = this.bySnapshot.get(snapshot);
    if (!memo) this.bySnapshot.set(snapshot, (memo = { values: new Map(), keyCharacters: 0 }));
    let value = memo.values.get(key);
    if (value === undefined) {
      value = compute();
      if (memo.values.size >= MAX_ENTRIES || memo.keyCharacters + key.length > MAX_KEY_CHARACTERS) {
        memo.values.clear();
        memo.keyCharacters = 0;
      }
      memo.values.set(key, value);
      memo.keyCharacters += key.length;
    }
    return value;
  }
}
