/**
 * Tracks when a promise settles, to assert that it has not yet (an acquire still waiting).
 * @example
 * const waiting = tracked(locks.acquire('x'));
 * assert.equal(waiting.settled(), false);
 */
export function tracked<T>(promise: Promise<T>): { promise: Promise<T>; settled: () => boolean } {
  let done = false;
  const settle = () => {
    done = true;
  };
  promise.then(settle, settle);
  return { promise, settled: () => done };
}
