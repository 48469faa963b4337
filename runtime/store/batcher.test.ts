import { afterEach, describe, expect, it, vi } from 'vitest';
import { Batcher } from './batcher.ts';

describe('Batcher', () => {
  it('sends a lone item at once and groups what arrives while a batch is in flight', async () => {
    const batches: number[][] = [];
    let release: () => void = () => undefined;
    const batcher = new Batcher<number, number>(
      async (items) => {
        batches.push(items);
        if (batches.length === 1) await new Promise<void>((r) => (release = r));
        return items.map((i) => i * 10);
      },
      { maxBatch: 3, maxInFlight: 1 },
    );
    const first = batcher.submit(1);
    await Promise.resolve();
    await Promise.resolve();
    expect(batches).toEqual([[1]]);
    const rest = [2, 3, 4, 5, 6].map((i) => batcher.submit(i));
    release();
    expect(await first).toBe(10);
    expect(await Promise.all(rest)).toEqual([20, 30, 40, 50, 60]);
    expect(batches).toEqual([[1], [2, 3, 4], [5, 6]]);
  });

  it('rejects every item of a failed batch, and goes on with the next', async () => {
    let calls = 0;
    const batcher = new Batcher<string, string>(
      async (items) => {
        calls++;
        if (calls === 1) throw new Error('store down');
        return items;
      },
      { maxBatch: 10, maxInFlight: 1 },
    );
    const failed = [batcher.submit('a'), batcher.submit('b')];
    await expect(Promise.all(failed)).rejects.toThrow('store down');
    await expect(failed[1]).rejects.toThrow('store down');
    expect(await batcher.submit('c')).toBe('c');
  });

  describe('with lingerMs', () => {
    afterEach(() => {
      vi.useRealTimers();
    });
    const recording = (batches: number[][]) =>
      new Batcher<number, number>(
        async (items) => {
          batches.push(items);
          return items;
        },
        { maxBatch: 4, maxInFlight: 1, lingerMs: 20 },
      );

    it('items submitted apart within the linger share one batch, sent when it ends', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      const batches: number[][] = [];
      const batcher = recording(batches);
      const first = batcher.submit(1);
      await vi.advanceTimersByTimeAsync(10);
      const second = batcher.submit(2);
      await vi.advanceTimersByTimeAsync(5);
      expect(batches).toEqual([]);
      await vi.advanceTimersByTimeAsync(5);
      expect(batches).toEqual([[1, 2]]);
      expect(await Promise.all([first, second])).toEqual([1, 2]);
    });

    it('a full batch does not wait, and flushNow sends what lingers at once', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      const batches: number[][] = [];
      const batcher = recording(batches);
      const full = [1, 2, 3, 4].map((i) => batcher.submit(i));
      expect(await Promise.all(full)).toEqual([1, 2, 3, 4]);
      const waiting = batcher.submit(5);
      await vi.advanceTimersByTimeAsync(1);
      expect(batches).toEqual([[1, 2, 3, 4]]);
      batcher.flushNow();
      expect(await waiting).toBe(5);
      expect(batches).toEqual([[1, 2, 3, 4], [5]]);
      // Nothing left behind: the cancelled linger sends no empty batch.
      await vi.advanceTimersByTimeAsync(50);
      expect(batches).toHaveLength(2);
    });
  });
});
