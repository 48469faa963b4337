import { describe, expect, it } from 'vitest';
import { createLogger } from '../observability/index.ts';
import { metricsRegistry } from '../observability/metrics.ts';
import { PurgeLoop, type PurgeRound } from './purge-loop.ts';

const log = createLogger('silent');
// Longer than any test: a round that waits for the interval does not come while the test runs.
const hour = 3_600_000;

async function until(predicate: () => boolean): Promise<void> {
  while (!predicate()) await new Promise((r) => setTimeout(r, 5));
}

async function purgedOf(collection: string): Promise<number> {
  const metric = await metricsRegistry.getSingleMetric('jetsaga_purged_total')?.get();
  return metric?.values.find((v) => v.labels.collection === collection)?.value ?? 0;
}

describe('PurgeLoop', () => {
  it('runs the next round at once after a full one, then waits for the interval; counts what rounds deleted', async () => {
    const rounds: PurgeRound[] = [
      { deleted: { loop_full: 2 }, full: true },
      { deleted: { loop_full: 2, loop_other: 0 }, full: true },
      { deleted: { loop_full: 1 }, full: false },
      { deleted: { loop_full: 100 }, full: false },
    ];
    let ran = 0;
    const before = await purgedOf('loop_full');
    const loop = new PurgeLoop('full', async () => rounds[ran++]!, hour, log);
    loop.start(0);
    await until(() => ran === 3);
    await loop.stop();
    expect(ran).toBe(3);
    expect(await purgedOf('loop_full')).toBe(before + 5);
  });

  it('takes a failed round as not full: the next one waits for the interval', async () => {
    let ran = 0;
    const loop = new PurgeLoop(
      'failing',
      async () => {
        ran++;
        throw new Error('store away');
      },
      hour,
      log,
    );
    loop.start(0);
    await until(() => ran === 1);
    await loop.stop();
    expect(ran).toBe(1);
  });

  it('stops after the round under way, and starts no other even when it was full', async () => {
    let release: (() => void) | undefined;
    let ran = 0;
    const loop = new PurgeLoop(
      'stopping',
      () =>
        new Promise<PurgeRound>((resolve) => {
          ran++;
          release = () => resolve({ deleted: {}, full: true });
        }),
      hour,
      log,
    );
    loop.start(0);
    await until(() => release !== undefined);
    let stopped = false;
    const stopping = loop.stop().then(() => {
      stopped = true;
    });
    await new Promise((r) => setImmediate(r));
    expect(stopped).toBe(false);
    release!();
    await stopping;
    expect(ran).toBe(1);
  });
});
