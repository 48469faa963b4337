import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { NotFoundError } from '../errors.ts';
import { ReplayAspect, replayRecorded, type SagaRegistry } from '../orchestrator/index.ts';
import type { SagaStore } from '../store/index.ts';
import { authProblems, json, problemResponses, scoped } from './openapi-util.ts';
import { SagaStatusSchema } from './schemas.ts';

/**
 * `GET /v1/sagas/{id}/replay`: the saga's recorded history replayed through this API's definition
 * of its type and version (orchestrator/replay.ts, the check `jetsaga replay` makes). The inspector's
 * time travel shows the replayed context of a step whose entry has none recorded (written before
 * jetsaga kept contexts, or too large to keep).
 */

const SagaReplaySchema = z
  .object({
    sagaId: z.string(),
    type: z.string(),
    version: z.number().int(),
    revisions: z.number().int().openapi({ description: 'recorded transitions' }),
    reproduced: z.boolean().openapi({ description: 'whether every recorded transition was reproduced' }),
    divergence: z
      .object({
        rev: z.number().int(),
        aspect: z.enum(Object.values(ReplayAspect)),
        expected: z.unknown(),
        actual: z.unknown(),
        message: z.string(),
      })
      .nullable()
      .openapi({ description: 'the first revision where the replay parts from the record; null when none' }),
    steps: z
      .array(
        z.object({
          rev: z.number().int(),
          state: z.string().nullable(),
          status: SagaStatusSchema,
          context: z.unknown(),
        }),
      )
      .openapi({ description: 'each replayed step, up to and including the one that parts' }),
  })
  .openapi('SagaReplay');

export function registerReplayRoutes(
  app: OpenAPIHono,
  deps: { store: SagaStore; registry: SagaRegistry },
): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/sagas/{id}/replay',
      tags: ['sagas'],
      operationId: 'replaySaga',
      summary:
        "The saga's history replayed through this build's definition: each step's state and context, and where they part",
      description:
        "Runs the saga's recorded events through this build's machine for its type and version and compares each step with the record. `reproduced` says the record and the code agree; otherwise `divergence` names the first step where they part. The check `jetsaga replay` makes, for one saga: run it before deploying a change to a machine.",
      ...scoped('replaySaga'),
      request: {
        params: z.object({
          id: z
            .string()
            .min(1)
            .openapi({ param: { name: 'id', in: 'path' }, description: 'saga id' }),
        }),
      },
      responses: {
        200: json(SagaReplaySchema, 'the replay'),
        ...problemResponses(404, ...authProblems('read')),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const [doc, history] = await Promise.all([deps.store.load(id), deps.store.historyOf(id)]);
      if (!doc) throw new NotFoundError(`no saga with id "${id}"`);
      const saga = {
        sagaId: doc._id,
        type: doc.type,
        version: doc.version,
        input: doc.input,
        correlationId: doc.correlationId,
        history,
      };
      const [result] = replayRecorded(deps.registry, [saga]).results;
      const r = result!;
      return c.json(
        {
          sagaId: r.sagaId,
          type: r.type,
          version: r.version,
          revisions: r.revisions,
          reproduced: !r.divergence,
          divergence: r.divergence ?? null,
          steps: r.steps.map((s) => ({
            rev: s.rev,
            state: s.state,
            status: s.status,
            context: s.context ?? null,
          })),
        },
        200,
      );
    },
  );
}
