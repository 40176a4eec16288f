/** The slots of one lock: a high-water mark and the slots below it that are free again. */
interface LockSlots {
  next: number;
  readonly free: number[];
}

/**
 * The slot numbers a lease's queue keys use, per lock: `<lease hex>.<slot>`. Reusing key names
 * bounds etcd's key index: a fresh name per acquisition leaves one dead key per acquisition under
 * the lock's prefix until etcd compacts, and every queue read (a range over that prefix) walks
 * them all — measured at 10,000 dead keys, etcd's CPU per acquire more than doubled. A slot is
 * freed only once its key is known to be deleted (or never written), so a reused name never meets
 * its previous incarnation. A free list under a high-water mark: taking is O(1), and a lock's entry
 * goes once all its slots are free, so the highest slot is bounded by the most keys one lock had
 * at once (uncertain keys included, until they are known gone).
 *
 * It also tells when the lease has no key left at all (see `onIdle`), so an unused lease can go.
 * @internal
 */
export class KeySlots {
  readonly #locks = new Map<string, LockSlots>();
  #inUse = 0;
  #idleTimer?: NodeJS.Timeout;

  /**
   * @param idleMs How long the lease may have no key before `onIdle` runs; `Infinity`: never.
   * @param onIdle Called once the lease has had no key for `idleMs`.
   */
  constructor(
    private readonly idleMs = Infinity,
    private readonly onIdle: () => void = () => undefined,
  ) {
    this.#armIdleTimer(); // a lease no acquisition ever uses goes idle too
  }

  /** Slots in use, over every lock: held, waiting and not yet deleted keys. */
  get inUse(): number {
    return this.#inUse;
  }

  /** Takes a free slot of `lock`. */
  take(lock: string): number {
    clearTimeout(this.#idleTimer);
    let slots = this.#locks.get(lock);
    if (slots === undefined) {
      slots = { next: 0, free: [] };
      this.#locks.set(lock, slots);
    }
    this.#inUse += 1;
    return slots.free.pop() ?? slots.next++;
  }

  /** Frees `slot` of `lock`: its key is deleted (or was never written). */
  free(lock: string, slot: number): void {
    const slots = this.#locks.get(lock);
    if (slots === undefined || slot >= slots.next || slots.free.includes(slot)) return;
    slots.free.push(slot);
    this.#inUse -= 1;
    if (slots.free.length === slots.next) this.#locks.delete(lock);
    if (this.#inUse === 0) this.#armIdleTimer();
  }

  #armIdleTimer(): void {
    if (this.idleMs === Infinity) return;
    this.#idleTimer = setTimeout(this.onIdle, this.idleMs);
    this.#idleTimer.unref();
  }

  /** Stops the idle timer (the lease is gone). */
  dispose(): void {
    clearTimeout(this.#idleTimer);
  }
}
