// The chaos run's offered load and what it measures: sagas started through the API at a steady rate
// (open loop: a start does not wait for the previous one), the completion rate sampled every second
// from the store, and, for each fault, how long after it ended that rate was back to 90 % of its level
// in the window before it began.
/** One saga the load starts: its type, its input, and the idempotency key every retry of it sends. */
export interface PlannedStart {
  type: string;
  key: string;
  input: unknown;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts given up on after this long: such an order counts as lost. */
const START_GIVE_UP_MS = 180_000;
/** One attempt's limit: a start through a half-open link must not hang the load. */
const ATTEMPT_TIMEOUT_MS = 15_000;
/** Starts in flight at most; beyond, the load waits (and falls behind its rate, which the log says). */
const MAX_IN_FLIGHT = 256;

export class SteadyLoad {
  /** Saga ids the API acknowledged, in acknowledgement order. */
  readonly accepted: string[] = [];
  /** Sagas whose start was fired (acknowledged or not yet). */
  fired = 0;
  /** Sagas whose start was given up on, with why. */
  readonly failures: string[] = [];
  private inFlight = 0;

  constructor(
    private readonly opts: {
      starts: readonly PlannedStart[];
      /** Starts per second. */
      rate: number;
      /** The API's base url (read at each attempt). */
      api: () => string;
    },
  ) {}

  /** Fires every start at its time (`t0 + i / rate`); resolves once every start has an answer. */
  async run(t0: number): Promise<void> {
    const { starts, rate } = this.opts;
    const all: Promise<void>[] = [];
    for (let i = 0; i < starts.length; i++) {
      await sleep(Math.max(0, t0 + (i * 1000) / rate - Date.now()));
      while (this.inFlight >= MAX_IN_FLIGHT) await sleep(50);
      this.fired++;
      this.inFlight++;
      all.push(
        this.start(starts[i]!).finally(() => {
          this.inFlight--;
        }),
      );
    }
    await Promise.all(all);
  }

  private async start(s: PlannedStart): Promise<void> {
    const until = Date.now() + START_GIVE_UP_MS;
    let last = '';
    while (Date.now() < until) {
      try {
        const res = await fetch(`${this.opts.api()}/v1/saga-types/${s.type}/sagas`, {
          method: 'POST',
          // The business id as idempotency key: a retry after a lost answer gets the same saga.
          headers: { 'content-type': 'application/json', 'idempotency-key': s.key },
          body: JSON.stringify(s.input),
          signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
        });
        if (res.status === 202 || res.status === 200) {
          this.accepted.push(((await res.json()) as { sagaId: string }).sagaId);
          return;
        }
        last = `${res.status} ${await res.text()}`;
        if (res.status < 500 && res.status !== 429 && res.status !== 408) break;
      } catch (err) {
        last = err instanceof Error ? err.message : String(err);
      }
      await sleep(300);
    }
    this.failures.push(`${s.key}: ${last}`);
  }
}

export interface Sample {
  /** ms since t0. */
  t: number;
  /** Sagas terminal at that time. */
  terminal: number;
  /** Orders whose start had been fired by then. */
  fired: number;
}

/** Every second, the count of terminal sagas (a sample is skipped while the store does not answer). */
export class CompletionSampler {
  readonly samples: Sample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(
    private readonly t0: number,
    private readonly terminal: () => Promise<number>,
    private readonly fired: () => number,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      if (this.busy) return;
      this.busy = true;
      const t = Date.now() - this.t0;
      const fired = this.fired();
      this.terminal()
        .then((terminal) => void this.samples.push({ t, terminal, fired }))
        .catch(() => undefined)
        .finally(() => {
          this.busy = false;
        });
    }, 1000);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** A fault as the recovery measure sees it: its span, in ms since t0. */
export interface FaultSpan {
  name: string;
  start: number;
  end: number;
}

export interface Recovery {
  fault: FaultSpan;
  /** Completions per second in the window before the fault began. */
  before: number;
  /** Seconds from its end until the rate was back to 90 % of `before` (or nothing was left to do). */
  seconds: number;
  /** False when the samples ran out first: `seconds` is then a lower bound. */
  recovered: boolean;
}

/**
 * Completions per second over the `windowMs` before `t`, from the samples (the last sample at or
 * before each end of the window; none yet counts as 0).
 */
export function rateAt(samples: readonly Sample[], t: number, windowMs: number): number {
  const at = (x: number) => {
    let v = 0;
    for (const s of samples) {
      if (s.t > x) break;
      v = s.terminal;
    }
    return v;
  };
  return (at(t) - at(t - windowMs)) / (windowMs / 1000);
}

/**
 * For a fault: the completion rate in the window before it began, and the first sample after its end
 * where the rate over the window is back to 90 % of it, or where every order fired so far is terminal
 * (the load had ended, nothing was left to complete).
 */
export function recoveryOf(samples: readonly Sample[], fault: FaultSpan, windowMs: number): Recovery {
  const before = rateAt(samples, fault.start, windowMs);
  const after = samples.filter((s) => s.t >= fault.end);
  for (const s of after) {
    if (s.terminal >= s.fired || rateAt(samples, s.t, windowMs) >= 0.9 * before) {
      return { fault, before, seconds: (s.t - fault.end) / 1000, recovered: true };
    }
  }
  const lastT = after.at(-1)?.t ?? fault.end;
  return { fault, before, seconds: (lastT - fault.end) / 1000, recovered: false };
}
