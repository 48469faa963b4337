import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { HTTPException } from 'hono/http-exception';
import type { Bus } from '../messaging/index.ts';
import {
  requestResume,
  requestSignal,
  type SagaRegistry,
  signalEventType,
  statesAccepting,
} from '../orchestrator/index.ts';
import type { SagaStore } from '../store/index.ts';
import { anonymousCaller, callerOf, operationScopes } from './auth.ts';
import { idempotencyKeyHeader, idempotencyKeyPattern, readIdempotencyKey } from './idempotency.ts';
import {
  authProblems,
  json,
  optionalJsonBody,
  pascalCase,
  problemResponses,
  scoped,
  scopeOf,
} from './openapi-util.ts';
import { ResumeAcceptedSchema, SignalAcceptedSchema } from './schemas.ts';
import { readJsonObject } from './start-request.ts';
import { sagaPath, stalledView } from './views.ts';

// People in the loop: `POST /v1/sagas/{id}/signals/{name}` (a signal the saga's type declares,
// delivered to its machine as `saga.signal.<name>`) and `POST /v1/sagas/{id}/resume` (an
// operator sends again what a saga stalled on). Both become events through the saga's own path.

const IdParam = z.object({
  id: z
    .string()
    .min(1)
    .openapi({ param: { name: 'id', in: 'path' }, description: 'saga id' }),
});

const SignalParams = IdParam.extend({
  name: z
    .string()
    .min(1)
    .openapi({ param: { name: 'name', in: 'path' }, description: 'a signal the saga type declares' }),
});

const signalHeaders = z.object({
  'idempotency-key': z.string().regex(idempotencyKeyPattern).optional().openapi({
    description:
      'makes the signal safe to retry: the same key (per saga and signal) is the same signal, taken once. A retry after it was taken answers 200 with `Idempotent-Replayed: true`; the same key with another body is a 422. 1 to 255 printable ASCII characters without spaces; an empty header is a 400.',
    example: 'approve-ord-42',
  }),
});

const signalResponses = {
  202: json(SignalAcceptedSchema, 'the signal is on its way to the saga'),
  200: {
    ...json(SignalAcceptedSchema, 'an Idempotency-Key retry of a signal the saga has already taken'),
    headers: { 'Idempotent-Replayed': { schema: { type: 'string' as const }, description: '"true"' } },
  },
  ...problemResponses(400, 404, 409, 413, 415, 422, ...authProblems(operationScopes.signalSaga)),
};

/** Each signal name with the saga types (newest versions) that declare it and their schemas. */
function signalsByName(registry: SagaRegistry): Map<string, Array<{ type: string; schema: z.ZodType }>> {
  const out = new Map<string, Array<{ type: string; schema: z.ZodType }>>();
  for (const type of registry.types().sort()) {
    const def = registry.latest(type);
    for (const [name, schema] of Object.entries(def.signals ?? {})) {
      const list = out.get(name) ?? [];
      list.push({ type, schema: schema as z.ZodType });
      out.set(name, list);
    }
  }
  return out;
}

/** The operation id of a signal's own documented path. */
export const signalOperationId = (name: string): string => `signal${pascalCase(name)}`;

/**
 * One documented path per declared signal name (`/v1/sagas/{id}/signals/approve`), with the body
 * schema of each saga type that declares it and the states that accept it, beside the generic
 * `{name}` path that serves them all.
 */
function documentSignalPaths(app: OpenAPIHono, registry: SagaRegistry): void {
  for (const [name, declaring] of [...signalsByName(registry)].sort(([a], [b]) => a.localeCompare(b))) {
    // Inline: a saga's schemas are plain zod, without the `.openapi()` naming extension.
    const first = declaring[0]!.schema;
    const schema =
      declaring.length === 1 ? first : z.union(declaring.map((d) => d.schema) as [z.ZodType, z.ZodType]);
    const accepted = declaring
      .map(({ type }) => {
        const states = statesAccepting(registry.latest(type).machine, signalEventType(name));
        return `- ${type}: accepted in ${states.map((s) => `\`${s}\``).join(', ')}`;
      })
      .join('\n');
    app.openAPIRegistry.registerPath(
      createRoute({
        method: 'post',
        path: `/v1/sagas/{id}/signals/${name}`,
        tags: ['signals'],
        operationId: signalOperationId(name),
        summary: `Send the signal ${name} (${declaring.map((d) => d.type).join(', ')})`,
        description: `Delivered to the machine as \`${signalEventType(name)}\` with the body as \`data\` and the caller's token name as \`by\`.\n\n${accepted}`,
        ...scopeOf('signalSaga'),
        request: {
          params: IdParam,
          headers: signalHeaders,
          body: { required: true, content: { 'application/json': { schema } } },
        },
        responses: signalResponses,
      }),
    );
  }
}

/** The signal and resume routes. */
export function registerSignalRoutes(
  app: OpenAPIHono,
  deps: { store: SagaStore; bus: Bus; registry: SagaRegistry },
): void {
  documentSignalPaths(app, deps.registry);

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/sagas/{id}/signals/{name}',
      tags: ['signals'],
      operationId: 'signalSaga',
      summary: 'Send a signal the saga type declares; its machine receives it as an event',
      description: [
        "The body is validated by the signal's schema for the saga's own version (a 400 names the field). 404: no such saga, or its type declares no such signal. 409: the saga has ended, or its current state does not accept the signal (the problem names the states that do).",
        '',
        "The signal travels like every other event of the saga: durable, taken exactly once, in order with the saga's other messages. The state check here is made on the stored saga; should the saga move on before the signal reaches it, the orchestrator refuses it too and dead-letters it (reason `conflict`, replayable). The saga's history records it with the caller (`by`). See the typed paths for each signal's body.",
      ].join('\n'),
      ...scoped('signalSaga', optionalJsonBody),
      request: {
        params: SignalParams,
        headers: signalHeaders,
        body: {
          required: false,
          content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } },
        },
      },
      responses: signalResponses,
    }),
    async (c) => {
      const { id, name } = c.req.valid('param');
      const key = readIdempotencyKey(c.req);
      const text = await c.req.text();
      const data = text.trim() === '' ? {} : await readJsonObject(c.req, text);
      const sent = await requestSignal(deps, {
        sagaId: id,
        name,
        data,
        by: callerOf(c) ?? anonymousCaller,
        ...(key !== undefined ? { idempotencyKey: key } : {}),
      });
      if (sent.differentBody) {
        throw new HTTPException(422, {
          message: `${idempotencyKeyHeader} was already used for signal ${name} of saga ${id} with a different body; use a new key for a new signal`,
        });
      }
      if (sent.replayed) c.header('Idempotent-Replayed', 'true');
      return c.json(
        { sagaId: id, signal: name, eventId: sent.eventId, links: { self: sagaPath(id) } },
        sent.replayed ? 200 : 202,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/sagas/{id}/resume',
      tags: ['sagas'],
      operationId: 'resumeSaga',
      summary: 'Resume a saga whose step ran out of resends: send its unanswered commands again',
      description:
        "For a saga stalled on a command whose step policy gave up without an `onExhausted` (the saga's `stalled` list): once the cause is fixed, the commands go out again with their original command ids (the participant takes each once) and their step policies start over. The machine is not involved; the history records a `saga.resume` step with the caller (`by`). 409 when the saga has ended or nothing is stalled.",
      ...scoped('resumeSaga'),
      request: { params: IdParam },
      responses: {
        202: json(ResumeAcceptedSchema, 'the resume is on its way to the saga'),
        ...problemResponses(404, 409, ...authProblems(operationScopes.resumeSaga)),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { doc, commands } = await requestResume(deps, id, callerOf(c) ?? anonymousCaller);
      return c.json(
        {
          sagaId: id,
          status: doc.status,
          state: doc.state ?? null,
          resumed: commands.map(stalledView),
          links: { self: sagaPath(id) },
        },
        202,
      );
    },
  );
}
