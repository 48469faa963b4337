import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { json, problemResponses } from './openapi-util.ts';
import { HealthSchema, ReadySchema } from './schemas.ts';
import { problem } from './problem.ts';
import { checkReadiness, notReadyProblem, type Probe } from './probes.ts';

export {
  type CheckResult,
  checkReadiness,
  notReadyProblem,
  type Probe,
  probeTimeoutMs,
  type Readiness,
  readinessCacheMs,
  runProbe,
} from './probes.ts';

/**
 * Liveness says the process serves requests (it asks nothing else: NATS or MongoDB away does not
 * fail it); readiness says its dependencies answer too (and, on a process with consumers, that they
 * run). The api role serves them on its port, every process on its ops port (runtime/ops-server.ts),
 * from the same probes and the same cached result.
 */
export function registerHealthRoutes(app: OpenAPIHono, probes: Record<string, Probe>): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/healthz',
      tags: ['operations'],
      operationId: 'health',
      summary: 'Liveness: the process serves requests (no auth)',
      description:
        'Answers `{"status":"ok"}` while this process serves HTTP. It asks nothing else: NATS or MongoDB being away does not fail it (that is `/readyz`). Meant for a liveness probe, whose failure restarts the process.',
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
      summary: 'Readiness: NATS and MongoDB answer, the consumers of this process run (no auth)',
      description:
        'Answers 200 with each check when NATS and MongoDB answer within 500 ms and, in a process that consumes messages, its consumers run; otherwise a 503 problem naming the checks that failed. The result is kept for a second, so frequent probes cost the servers nothing. Meant for a readiness probe, whose failure takes the process out of rotation rather than restarting it.',
      security: [],
      responses: {
        200: json(ReadySchema, 'ready'),
        ...problemResponses(503),
      },
    }),
    async (c) => {
      const readiness = await checkReadiness(probes);
      if (readiness.ready) return c.json({ status: 'ready' as const, checks: readiness.checks }, 200);
      return problem(c, 503, notReadyProblem(readiness)) as never;
    },
  );
}
