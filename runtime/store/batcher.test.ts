import { describe, expect, it } from 'vitest';
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
});
