// Liveness and readiness, one implementation for the api role's port and every process's ops
// endpoint (runtime/ops-server.ts): the probes, their timeouts and the short cache that keeps a
// burst of scrapes and kubelet probes from turning into a burst of pings.

export type Probe = () => Promise<boolean>;
export type CheckResult = 'ok' | 'down';

/**
 * The longest a probe may take before it counts as down: well under a kubelet's default 1 s probe
 * timeout, so /readyz answers in time whatever NATS or MongoDB do.
 */
export const probeTimeoutMs = 500;

/** How long one readiness result is reused (every caller in that window shares it, and its pings). */
export const readinessCacheMs = 1_000;

/**
 * A probe that hangs, throws or answers false counts as down: readiness must answer within
 * the orchestrator's (e.g. Kubernetes') own probe timeout, whatever the dependency does.
 */
export async function runProbe(probe: Probe, timeoutMs = probeTimeoutMs): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    const reachable = await Promise.race([
      Promise.resolve()
        .then(probe)
        .catch(() => false),
      timedOut,
    ]);
    return reachable ? 'ok' : 'down';
  } finally {
    clearTimeout(timer);
  }
}

export interface Readiness {
  ready: boolean;
  /** Every probe by name. */
  checks: Record<string, CheckResult>;
  /** The names of the probes that are down, in the order they were given. */
  down: string[];
}

/** The result in use for each probe set (by identity), and when its check started. */
const cached = new WeakMap<object, { at: number; result: Promise<Readiness> }>();

/**
 * Runs every probe at once, each bounded by `timeoutMs`. A result (or the check still running) is
 * reused for `cacheMs` by every caller with the same probes object: the api port and the ops port of
 * one process share it.
 */
export function checkReadiness(
  probes: Readonly<Record<string, Probe>>,
  opts: { timeoutMs?: number; cacheMs?: number } = {},
): Promise<Readiness> {
  const cacheMs = opts.cacheMs ?? readinessCacheMs;
  const now = Date.now();
  const hit = cached.get(probes);
  if (hit && now - hit.at < cacheMs) return hit.result;
  const result = runAll(probes, opts.timeoutMs ?? probeTimeoutMs);
  cached.set(probes, { at: now, result });
  return result;
}

async function runAll(probes: Readonly<Record<string, Probe>>, timeoutMs: number): Promise<Readiness> {
  const entries = Object.entries(probes);
  const results = await Promise.all(entries.map(([, probe]) => runProbe(probe, timeoutMs)));
  const checks: Record<string, CheckResult> = {};
  entries.forEach(([name], i) => {
    checks[name] = results[i] ?? 'down';
  });
  const down = entries.map(([name]) => name).filter((name) => checks[name] === 'down');
  return { ready: down.length === 0, checks, down };
}

/** The RFC 9457 members of a 503 from /readyz: which checks failed, and all of them. */
export function notReadyProblem(r: Readiness): {
  title: string;
  detail: string;
  checks: Record<string, CheckResult>;
} {
  return { title: 'Service Unavailable', detail: `not ready: ${r.down.join(', ')} down`, checks: r.checks };
}
