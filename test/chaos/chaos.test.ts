import { describe, expect, it } from 'vitest';
import { runChaos } from './chaos.ts';

/** A small chaos run in every test run; `npm run chaos` runs the big ones. */
describe('chaos (small run)', () => {
  it('every saga terminal, none lost, no duplicate effect, no violation, with kills and restarts', async () => {
    const lines: string[] = [];
    const code = await runChaos({ sagas: 30, kills: 3, seed: 3 }, (l) => lines.push(l));
    const last = lines.at(-1) ?? '';
    expect(last, lines.join('\n')).toMatch(
      /^chaos: 30 sagas, 30 terminal, 0 lost, 0 duplicate effects, 0 invariant violations, 3 kills, \d+ restarts$/,
    );
    expect(code, lines.join('\n')).toBe(0);
  }, 600_000);
});
