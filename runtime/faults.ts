/**
 * Crash points for tests that prove the runtime's guarantees under real process death.
 * Off unless `JETSAGA_FAULTS` is set, e.g. `after-commit=3` kills the process (SIGKILL,
 * no cleanup) the 3rd time a saga transition has been written but not yet published.
 */
export const FaultPoint = {
  /** Saga document written, outbox not yet published. */
  afterCommit: 'after-commit',
  /** Outbox published, the triggering message not yet acked. */
  afterPublish: 'after-publish',
} as const;
export type FaultPoint = (typeof FaultPoint)[keyof typeof FaultPoint];

const plan = parse(process.env.JETSAGA_FAULTS);
const hits = new Map<string, number>();

function parse(spec: string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const part of (spec ?? '').split(',').filter(Boolean)) {
    const [point, n] = part.split('=');
    const count = Number(n ?? '1');
    if (!point || !Number.isInteger(count) || count < 1) {
      throw new Error(
        `JETSAGA_FAULTS: "${part}" is not <point>=<n>; points: ${Object.values(FaultPoint).join(', ')}`,
      );
    }
    out.set(point, count);
  }
  return out;
}

export function faultPoint(point: FaultPoint): void {
  const at = plan.get(point);
  if (at === undefined) return;
  const n = (hits.get(point) ?? 0) + 1;
  hits.set(point, n);
  if (n === at) {
    process.stderr.write(`jetsaga: fault injection: crashing at ${point} #${n}\n`);
    process.kill(process.pid, 'SIGKILL');
  }
}
