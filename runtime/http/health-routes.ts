import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { json, problemResponses } from './openapi-util.ts';
import { HealthSchema, ReadySchema } from './schemas.ts';
import { problem } from './problem.ts';

export type Probe = () => Promise<boolean>;
export type CheckResult = 'ok' | 'down';

export const probeTimeoutMs = 2_000;

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

/** Liveness says the process serves requests; readiness says its dependencies answer too. */
export function registerHealthRoutes(app: OpenAPIHono, probes: Record<string, Probe>): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/healthz',
      tags: ['operations'],
      operationId: 'health',
      summary: 'Liveness: the process serves requests (no auth)',
      security: [],
      responses: { 200: json(HealthSchema, 'alive') },
    }),
    (c) => c.json({ status: 'ok' as const }, 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/readyz',
      tags: ['operations'],
      operationId: 'ready',
      summary: 'Readiness: NATS and MongoDB answer (no auth)',
      security: [],
      responses: {
        200: json(ReadySchema, 'ready'),
        ...problemResponses(503),
      },
    }),
    async (c) => {
      const entries = Object.entries(probes);
      const results = await Promise.all(entries.map(([, probe]) => runProbe(probe)));
      const checks: Record<string, CheckResult> = {};
      entries.forEach(([name], i) => {
        checks[name] = results[i] ?? 'down';
      });
      const down = entries.map(([name]) => name).filter((name) => checks[name] === 'down');
      if (down.length === 0) return c.json({ status: 'ready' as const, checks }, 200);
      return problem(c, 503, {
        title: 'Service Unavailable',
        detail: `not ready: ${down.join(', ')} unreachable`,
        checks,
      }) as never;
    },
  );
}
