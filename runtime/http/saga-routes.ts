import type { Hono } from 'hono';
import { z } from 'zod';
import { NotFoundError, ValidationError } from '../errors.ts';
import type { Bus } from '../messaging/index.ts';
import { requestCancel, type SagaRegistry, startSaga } from '../orchestrator/index.ts';
import type { SagaStore } from '../store/index.ts';
import { listSagas, parseListQuery } from './saga-list.ts';
import { readCorrelationId, readJsonObject, readTraceparent } from './start-request.ts';
import { historyView, sagaInspectorView } from './views.ts';

export interface SagaRouteDeps {
  store: SagaStore;
  bus: Bus;
  registry: SagaRegistry;
}

const CancelBody = z.object({ reason: z.string().min(1).max(500).optional() });

export const sagaPath = (sagaId: string) => `/v1/sagas/${encodeURIComponent(sagaId)}`;

/** Starting, listing and inspecting sagas, plus the catalogue of saga types. */
export function registerSagaRoutes(app: Hono, deps: SagaRouteDeps): void {
  app.post('/v1/sagas/:type', async (c) => {
    const type = c.req.param('type');
    // An unknown type is a 404 whatever the body holds, so it is checked before the body is read.
    deps.registry.latest(type);
    const input = await readJsonObject(c.req);
    const { sagaId, doc } = await startSaga(deps, {
      type,
      input,
      correlationId: readCorrelationId(c.req),
      traceparent: readTraceparent(c.req),
    });
    const self = sagaPath(sagaId);
    return c.json(
      {
        sagaId,
        type: doc.type,
        version: doc.version,
        status: doc.status,
        links: { self, history: `${self}/history` },
      },
      202,
      { Location: self },
    );
  });

  app.get('/v1/sagas', async (c) => {
    const query = parseListQuery(c.req.query());
    return c.json({ items: await listSagas(deps.store, query) });
  });

  app.get('/v1/sagas/:id', async (c) => {
    const id = c.req.param('id');
    const [doc, history] = await Promise.all([deps.store.load(id), deps.store.historyOf(id)]);
    if (!doc) throw unknownSaga(id);
    return c.json(sagaInspectorView(doc, history));
  });

  app.get('/v1/sagas/:id/history', async (c) => {
    const id = c.req.param('id');
    // Only existence matters here, so the snapshot and context are not fetched.
    const exists = deps.store.sagas.findOne({ _id: id }, { projection: { _id: 1 } });
    const [doc, history] = await Promise.all([exists, deps.store.historyOf(id)]);
    if (!doc) throw unknownSaga(id);
    return c.json(history.map(historyView));
  });

  app.post('/v1/sagas/:id/cancel', async (c) => {
    const id = c.req.param('id');
    const text = await c.req.text();
    const body = text.trim() === '' ? {} : await readJsonObject(c.req, text);
    const reason = CancelBody.safeParse(body);
    if (!reason.success) {
      throw new ValidationError('invalid cancel request', [
        { field: 'reason', message: reason.error.issues[0]?.message ?? 'invalid' },
      ]);
    }
    const doc = await requestCancel(deps, id, reason.data.reason ?? 'cancelled by request');
    return c.json(
      { sagaId: id, status: doc.status, cancelRequested: true, links: { self: sagaPath(id) } },
      202,
    );
  });

  app.get('/v1/saga-types', (c) => {
    const items = deps.registry
      .types()
      .sort()
      .map((type) => ({
        type,
        versions: deps.registry.versions(type),
        latest: deps.registry.latest(type).version,
      }));
    return c.json({ items });
  });
}

function unknownSaga(id: string): NotFoundError {
  return new NotFoundError(`no saga with id "${id}"`);
}
