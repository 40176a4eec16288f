import { setTimeout as delay } from 'node:timers/promises';

/**
 * Polls `check` every 25 ms until it is true; fails after `timeoutMs` naming `what`. Tests wait
 * for conditions with this, never with a fixed sleep.
 * @example
 * await waitFor('the waiter to queue', async () => (await keys()).length === 2);
 */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const stopAt = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > stopAt) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(25);
  }
}
