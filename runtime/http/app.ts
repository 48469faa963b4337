import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { methodNotAllowed } from 'hono/method-not-allowed';
import type { Bus } from '../messaging/index.ts';
import type { Logger } from '../observability/index.ts';
import type { SagaRegistry } from '../orchestrator/index.ts';
import type { SagaStore } from '../store/index.ts';
import { registerHealthRoutes } from './health-routes.ts';
import { problem, statusTitle, toProblem } from './problem.ts';
import { requestLog } from './request-log.ts';
import { registerSagaRoutes } from './saga-routes.ts';

export interface ApiDeps {
  store: SagaStore;
  bus: Bus;
  registry: SagaRegistry;
  log: Logger;
  /** Each probe resolves true when reachable. */
  probes: { nats: () => Promise<boolean>; mongo: () => Promise<boolean> };
}

export const maxBodyBytes = 1024 * 1024;

/** The HTTP API. Every error, routing misses included, leaves as application/problem+json. */
export function createApp(deps: ApiDeps): Hono {
  const log = deps.log.child({ component: 'http' });
  const app = new Hono();

  app.use(requestLog(log));
  app.use(
    methodNotAllowed({
      app,
      onMethodNotAllowed: (c, allowed) =>
        problem(
          c,
          405,
          {
            title: statusTitle(405),
            detail: `${c.req.method} is not allowed here; use ${allowed.join(', ')}`,
          },
          { Allow: allowed.join(', ') },
        ),
    }),
  );
  app.use(
    bodyLimit({
      maxSize: maxBodyBytes,
      // The rest of the body is never read, so the connection cannot carry another request.
      onError: (c) =>
        problem(
          c,
          413,
          { title: statusTitle(413), detail: `request body exceeds ${maxBodyBytes} bytes` },
          { Connection: 'close' },
        ),
    }),
  );

  registerHealthRoutes(app, deps.probes);
  registerSagaRoutes(app, deps);

  app.notFound((c) =>
    problem(c, 404, { title: statusTitle(404), detail: `no route for ${c.req.method} ${c.req.path}` }),
  );
  app.onError((err, c) => {
    const mapped = toProblem(err);
    if (mapped.unexpected) log.error({ err, method: c.req.method, path: c.req.path }, 'http handler failed');
    else if (mapped.status >= 500)
      log.warn({ err: err.message, path: c.req.path }, 'http dependency unavailable');
    return problem(c, mapped.status, mapped.fields, mapped.headers);
  });
  return app;
}
