import { describe, expect, it, vi } from 'vitest';
import { ActorHost } from './actor-host.ts';

/** Gives way `n` times: work of uneven length, with no timer. */
const yieldTimes = async (n: number) => {
  for (let i = 0; i < n; i++) await Promise.resolve();
};

describe('ActorHost', () => {
  it('runs one message at a time per actor, in arrival order, and actors in parallel', async () => {
    const host = new ActorHost({
      create: (key) => ({ key, log: [] as number[] }),
      idleMs: 10_000,
      maxLive: 100,
    });
    let concurrentA = 0;
    let maxConcurrentA = 0;
    const order: string[] = [];
    const work = (key: string, i: number) =>
      host.run(key, async (actor) => {
        if (key === 'a') maxConcurrentA = Math.max(maxConcurrentA, ++concurrentA);
        // Uneven: run side by side, a2 would finish before a1.
        await yieldTimes(5 - (i % 3));
        actor.log.push(i);
        order.push(`${key}${i}`);
        if (key === 'a') concurrentA--;
        return i;
      });
    const results = await Promise.all([work('a', 1), work('b', 1), work('a', 2), work('a', 3), work('b', 2)]);
    expect(results).toEqual([1, 1, 2, 3, 2]);
    expect(maxConcurrentA).toBe(1);
    expect(order.filter((o) => o.startsWith('a'))).toEqual(['a1', 'a2', 'a3']);
    host.close();
  });

  it('a failing message does not block the mailbox', async () => {
    const host = new ActorHost({ create: () => ({}), idleMs: 10_000, maxLive: 10 });
    await expect(host.run('x', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(host.run('x', async () => 'next')).resolves.toBe('next');
    host.close();
  });

  it('passivates beyond the live cap (least recently used) and when idle', async () => {
    const passivated: string[] = [];
    let created = 0;
    const host = new ActorHost({
      create: () => ({ id: ++created }),
      idleMs: 60,
      maxLive: 2,
      onPassivate: (key) => passivated.push(key),
    });
    for (const key of ['a', 'b', 'c']) await host.run(key, async () => undefined);
    expect(host.size).toBe(2);
    expect(passivated).toEqual(['a']);
    // Idle for 60 ms, the sweeper (every 50 ms) passivates both.
    await vi.waitFor(() => expect(host.size).toBe(0), { timeout: 5_000 });
    // Re-activation creates a fresh actor: state is reloaded from the store.
    const actor = await host.run('a', async (a) => a);
    expect(actor.id).toBe(4);
    host.close();
  });

  it('passivates a finished actor once its mailbox is empty, and activates it again for a late message', async () => {
    const passivated: string[] = [];
    let created = 0;
    const host = new ActorHost({
      create: () => ({ id: ++created, ended: false }),
      idleMs: 60_000,
      maxLive: 100,
      onPassivate: (key) => passivated.push(key),
      finished: (a) => a.ended,
    });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const first = host.run('s', async (a) => {
      a.ended = true;
      await gate;
    });
    // Queued behind the first: the actor stays live until its mailbox is empty.
    const second = host.run('s', async (a) => a.id);
    release();
    await first;
    expect(passivated).toEqual([]);
    expect(await second).toBe(1);
    // Once the mailbox's bookkeeping after its last message has run.
    await host.drain();
    expect(passivated).toEqual(['s']);
    expect(host.size).toBe(0);
    await host.run('other', async () => undefined);
    expect(host.size).toBe(1);
    expect(await host.run('s', async (a) => a.id)).toBe(3);
    host.close();
  });
});
