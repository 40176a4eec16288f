// Unit spec of key slots: names are reused once free, bounded by the most keys at once, and an
// unused lease is told so after its idle time.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { KeySlots } from './key-slots.js';

describe('KeySlots', () => {
  it('reuses freed slots, per lock, and starts again from 0 once a lock has none in use', () => {
    const slots = new KeySlots();
    assert.deepEqual([slots.take('a'), slots.take('a'), slots.take('b')], [0, 1, 0]);
    slots.free('a', 0);
    assert.equal(slots.take('a'), 0);
    slots.free('a', 0);
    slots.free('a', 1);
    assert.equal(slots.inUse, 1);
    assert.equal(slots.take('a'), 0);
  });

  it('keeps the highest slot at the most keys held at once, however many come and go', () => {
    const slots = new KeySlots();
    for (let round = 0; round < 1_000; round += 1) {
      const taken = [slots.take('hot'), slots.take('hot'), slots.take('hot')];
      assert.ok(Math.max(...taken) < 3);
      for (const slot of taken) slots.free('hot', slot);
    }
  });

  it('ignores a slot freed twice, so two keys never share a name', () => {
    const slots = new KeySlots();
    const first = slots.take('a');
    slots.take('a');
    slots.free('a', first);
    slots.free('a', first);
    assert.equal(slots.inUse, 1);
    assert.equal(slots.take('a'), first);
    assert.notEqual(slots.take('a'), first);
  });

  it('calls onIdle once no slot has been in use for idleMs, not while one is', async () => {
    let idle = 0;
    const slots = new KeySlots(20, () => (idle += 1));
    const slot = slots.take('a');
    await delay(40);
    assert.equal(idle, 0);
    slots.free('a', slot);
    slots.free('a', slots.take('a')); // a take in between restarts the idle time
    await delay(60);
    assert.equal(idle, 1);
    slots.dispose();
  });
});
