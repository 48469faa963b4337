import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Infra } from '../../runtime/dev/index.ts';
import type { SagaDoc } from '../../runtime/store/index.ts';
import { ProcessCluster } from '../cluster.ts';
import { order, waitUntil } from '../harness.ts';

/**
 * OpenTelemetry traces across the role processes: each role exports its spans over OTLP/HTTP
 * (JSON) to a receiver this test runs, and each saga makes one trace, parented across processes
 * through the `traceparent` its messages carry: the API request, the orchestrator's steps and
 * command publishes, the participants' handlers and replies.
 */

interface CollectedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  attributes: Record<string, unknown>;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
}
interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}
interface OtlpRequest {
  resourceSpans?: Array<{
    resource?: { attributes?: OtlpAttribute[] };
    scopeSpans?: Array<{
      spans?: Array<{
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        attributes?: OtlpAttribute[];
      }>;
    }>;
  }>;
}

const valueOf = (v: OtlpValue): unknown => v.stringValue ?? v.intValue ?? v.boolValue ?? v.doubleValue;
const attributesOf = (attrs: OtlpAttribute[] = []) =>
  Object.fromEntries(attrs.map((a) => [a.key, valueOf(a.value)]));

/** A minimal OTLP/HTTP traces receiver (JSON bodies, gzip or not) keeping every span it gets. */
async function startReceiver(): Promise<{ url: string; spans: CollectedSpan[]; server: Server }> {
  const spans: CollectedSpan[] = [];
  const read = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    return req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body;
  };
  const server = createServer((req, res) => {
    read(req)
      .then((body) => {
        if (req.url !== '/v1/traces' || !String(req.headers['content-type']).includes('json')) {
          res.writeHead(415).end();
          return;
        }
        const msg = JSON.parse(body.toString('utf8')) as OtlpRequest;
        for (const rs of msg.resourceSpans ?? []) {
          const service = String(attributesOf(rs.resource?.attributes)['service.name']);
          for (const ss of rs.scopeSpans ?? [])
            for (const s of ss.spans ?? [])
              spans.push({
                service,
                traceId: s.traceId,
                spanId: s.spanId,
                parentSpanId: s.parentSpanId ?? '',
                name: s.name,
                attributes: attributesOf(s.attributes),
              });
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      })
      .catch(() => res.writeHead(400).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, spans, server };
}

const traceIdOf = (traceparent: string) => traceparent.split('-')[1]!;
const spanIdOf = (traceparent: string) => traceparent.split('-')[2]!;

describe('tracing across role processes (OTLP)', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let cluster: ProcessCluster;

  beforeAll(async () => {
    receiver = await startReceiver();
    const infra = { natsUrl: inject('natsUrl'), mongoUrl: inject('mongoUrl') } as Infra;
    cluster = new ProcessCluster(infra, {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '200',
    });
    await cluster.start();
  });

  afterAll(async () => {
    await cluster?.stop();
    await new Promise((resolve) => receiver?.server.close(resolve));
  });

  it('each saga is one trace: api, orchestrator and participants, parented across processes', async () => {
    const callerTraceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const res = await fetch(`${cluster.api}/v1/saga-types/order-fulfillment/sagas`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: callerTraceparent },
      body: JSON.stringify(order({ orderId: 'tr-a' })),
    });
    expect(res.status).toBe(202);
    const withCaller = ((await res.json()) as { sagaId: string }).sagaId;
    const ids = [
      withCaller,
      await cluster.order(order({ orderId: 'tr-b' })),
      await cluster.order(order({ orderId: 'tr-c', payment: { token: 'tok_declined' } })),
    ];
    await cluster.waitTerminal(ids);
    const docs = await cluster.db
      .collection<SagaDoc>('sagas')
      .find({ _id: { $in: ids } })
      .toArray();
    const byId = new Map(docs.map((d) => [d._id, d]));

    /** What is still missing from a saga's trace (empty: complete). */
    const missing = (sagaId: string): string[] => {
      const doc = byId.get(sagaId)!;
      const traceId = traceIdOf(doc.traceparent!);
      const spans = receiver.spans.filter((s) => s.traceId === traceId);
      const services = new Set(spans.map((s) => s.service));
      const problems: string[] = [];
      if (!services.has('jetsaga-api')) problems.push('no api span');
      if (!services.has('jetsaga-orchestrator')) problems.push('no orchestrator span');
      const participants = [...services].filter((s) => s.startsWith('jetsaga-service:'));
      if (participants.length < 2) problems.push(`participants: ${participants.join(', ')}`);
      // The saga ended: its last step's span is there.
      const lastStep = spans.some(
        (s) => s.name.startsWith('step ') && s.attributes['saga.status'] === doc.status,
      );
      if (!lastStep) problems.push(`no step span reaching ${doc.status}`);
      const known = new Set(spans.map((s) => s.spanId));
      const external = sagaId === withCaller ? spanIdOf(callerTraceparent) : '';
      for (const s of spans)
        if (s.parentSpanId !== '' && s.parentSpanId !== external && !known.has(s.parentSpanId))
          problems.push(`${s.service} ${s.name}: parent ${s.parentSpanId} not in the trace`);
      return problems;
    };
    await waitUntil(
      () => ids.every((id) => missing(id).length === 0),
      () => ids.map((id) => `${id}: ${missing(id).join('; ')}`).join('\n'),
      20_000,
    );

    for (const id of ids) {
      const doc = byId.get(id)!;
      const traceId = traceIdOf(doc.traceparent!);
      const spans = receiver.spans.filter((s) => s.traceId === traceId);
      // The API request's span is the saga's traceparent; a root, or the caller's child.
      const api = spans.filter((s) => s.service === 'jetsaga-api');
      expect(api.map((s) => s.name)).toEqual(['POST /v1/saga-types/:type/sagas']);
      expect(api[0]!.spanId).toBe(spanIdOf(doc.traceparent!));
      expect(api[0]!.attributes['saga.id']).toBe(id);
      expect(api[0]!.parentSpanId).toBe(id === withCaller ? spanIdOf(callerTraceparent) : '');
      if (id === withCaller) expect(traceId).toBe(traceIdOf(callerTraceparent));
      // Exactly one root per trace when the caller sent none.
      expect(spans.filter((s) => s.parentSpanId === '').length).toBe(id === withCaller ? 0 : 1);

      const byName = (prefix: string) => spans.filter((s) => s.name.startsWith(prefix));
      const steps = byName('step ');
      expect(steps.length).toBeGreaterThan(2);
      for (const s of steps) {
        expect(s.service).toBe('jetsaga-orchestrator');
        expect(s.attributes).toMatchObject({ 'saga.id': id, 'saga.type': 'order-fulfillment' });
        expect(typeof s.attributes['saga.version']).not.toBe('undefined');
        expect(typeof s.attributes['saga.event.type']).toBe('string');
      }
      // The start step: from no state into the machine's first one, a child of the API span.
      const first = steps.find((s) => s.attributes['saga.event.type'] === 'saga.started')!;
      expect(first.parentSpanId).toBe(api[0]!.spanId);
      expect(first.attributes['saga.state.to']).toBeTruthy();

      const spanById = new Map(spans.map((s) => [s.spanId, s]));
      const parentOf = (s: CollectedSpan) => spanById.get(s.parentSpanId);
      // Commands: published by the orchestrator under a step; handled by a participant under
      // that publish; its reply published under the handler; the next step under that reply.
      const commandPublishes = spans.filter((s) => s.name.startsWith('publish cmd.'));
      expect(commandPublishes.length).toBeGreaterThan(1);
      for (const p of commandPublishes) {
        expect(p.service).toBe('jetsaga-orchestrator');
        expect(parentOf(p)?.name).toMatch(/^step /);
      }
      const handlers = byName('handle ');
      expect(handlers.length).toBeGreaterThan(1);
      for (const h of handlers) {
        expect(h.service).toMatch(/^jetsaga-service:/);
        expect(parentOf(h)?.name).toMatch(/^publish cmd\./);
      }
      const replies = spans.filter(
        (s) => s.name.startsWith('publish evt.') && s.service !== 'jetsaga-orchestrator',
      );
      expect(replies.length).toBeGreaterThan(1);
      for (const r of replies) expect(parentOf(r)?.name).toMatch(/^(handle|react) /);
      const answeredSteps = steps.filter((s) => parentOf(s)?.name.startsWith('publish evt.'));
      expect(answeredSteps.length).toBeGreaterThan(1);
    }
  });
});
