/**
 * The slot numbers a lease's queue keys use, per lock: `<lease hex>.<slot>`, always the lowest
 * free one. Reusing key names bounds etcd's key index: a fresh name per acquisition leaves one
 * dead key per acquisition under the lock's prefix until etcd compacts, and every queue read
 * (a range over that prefix) walks them all — measured at 10,000 dead keys, etcd's CPU per
 * acquire more than doubled. A slot is freed only once its key is known to be deleted, so a
 * reused name never meets its previous incarnation.
 * @internal
 */
export class KeySlots {
  /** `<lock>\0<slot>` of every slot in use: one small string per held or waiting key. */
  readonly #used = new Set<string>();

  /** Takes the lowest slot of `lock` not in use. */
  take(lock: string): number {
    let slot = 0;
    while (this.#used.has(`${lock}\0${slot}`)) slot += 1;
    this.#used.add(`${lock}\0${slot}`);
    return slot;
  }

  /** Frees `slot` of `lock`: its key is deleted (or was never written). */
  free(lock: string, slot: number): void {
    this.#used.delete(`${lock}\0${slot}`);
  }
}
