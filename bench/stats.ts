// Small numeric helpers shared by the benchmark phases.

/** Nearest-rank percentile of an ascending array; null when empty. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function summarize(values: number[]): { p50: number | null; p95: number | null; p99: number | null } {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99) };
}

/** Rounds to `digits` decimals, keeping null (a figure that could not be produced) as null. */
export function round(value: number | null | undefined, digits = 1): number | null {
  if (value === null || value === undefined || !Number.isFinite(value)) return null;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs `worker(i)` on `concurrency` lanes until `until()` says stop; returns how many calls completed. */
export async function lanes(
  concurrency: number,
  until: () => boolean,
  worker: (lane: number) => Promise<void>,
) {
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, lane) => {
      while (!until()) {
        await worker(lane);
        done++;
      }
    }),
  );
  return done;
}
