/**
 * A Map that keeps at most `capacity` entries and forgets the oldest insertion first. Used
 * wherever something is remembered only to recognise a repeat (prepared statements, pushed
 * ids, sends with an unknown outcome), so that memory stays bounded however long a process runs.
 */
export class BoundedMap<K, V> extends Map<K, V> {
  readonly capacity: number;

  constructor(capacity: number) {
    super();
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer');
    this.capacity = capacity;
  }

  override set(key: K, value: V): this {
    // Re-setting a key refreshes its place, so the entry used last is forgotten last.
    if (this.has(key)) super.delete(key);
    else if (this.size >= this.capacity) super.delete(this.keys().next().value!);
    return super.set(key, value);
  }
}
