import { describe, expect, it } from 'vitest';
import { runChaos } from './chaos.ts';

/** Small chaos runs in every test run; `npm run chaos` runs the big ones. */
describe('chaos (small runs)', () => {
  it('every saga terminal, none lost, no duplicate effect, no violation, with kills and restarts', async () => {
    const lines: string[] = [];
    const code = await runChaos({ sagas: 30, kills: 3, seed: 3 }, (l) => lines.push(l));
    const last = lines.at(-1) ?? '';
    expect(last, lines.join('\n')).toMatch(
      /^chaos: 30 sagas, 30 terminal, 0 lost, 0 duplicate effects, 0 invariant violations, 3 kills, \d+ restarts, 0 pauses, 0 network faults, 0 quorum losses, 0 disk-full, recovery p max \d+\.\d s$/,
    );
    expect(code, lines.join('\n')).toBe(0);
  }, 600_000);

  it('the same under network faults through toxiproxy and a frozen replica', async () => {
    const lines: string[] = [];
    const code = await runChaos(
      {
        sagas: 40,
        kills: 0,
        seed: 5,
        faults: ['network', 'pause'],
        network: 3,
        networkTypes: ['latency', 'half-open', 'reset', 'partition-nats', 'partition-store'],
        pauses: 1,
      },
      (l) => lines.push(l),
    );
    const last = lines.at(-1) ?? '';
    expect(last, lines.join('\n')).toMatch(
      /^chaos: 40 sagas, 40 terminal, 0 lost, 0 duplicate effects, 0 invariant violations, 0 kills, 0 restarts, 1 pauses, 3 network faults, 0 quorum losses, 0 disk-full, recovery p max \d+\.\d s$/,
    );
    expect(code, lines.join('\n')).toBe(0);
  }, 600_000);
});
