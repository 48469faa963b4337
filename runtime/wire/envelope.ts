import { z } from 'zod';

/**
 * Wire shapes of every message on the bus. One JSON envelope for commands and events,
 * validated at every boundary; headers mirror its ids so tools can route and trace
 * without parsing the body.
 */

const dottedType = /^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+$/;
export const idPattern = /^[A-Za-z0-9_:-]{1,200}$/;

export const EnvelopeSchema = z.object({
  /** Logical message id: the commandId for a command (stable across resends), the event id otherwise. */
  id: z.string().regex(idPattern, 'letters, digits, _ : - only, at most 200'),
  /** `<service>.<command>` for commands, `<source>.<event>` for events. */
  type: z.string().regex(dottedType, 'dotted lowercase, e.g. inventory.reserve'),
  schemaVersion: z.number().int().positive(),
  occurredAt: z.iso.datetime(),
  sagaId: z.string().regex(idPattern),
  sagaType: z.string().min(1),
  correlationId: z.string().min(1).max(200),
  causationId: z.string().max(400).nullable(),
  traceparent: z.string().optional(),
  data: z.record(z.string(), z.unknown()),
});
export type Envelope = z.infer<typeof EnvelopeSchema>;

export const Header = {
  msgId: 'Nats-Msg-Id',
  sagaId: 'saga-id',
  sagaType: 'saga-type',
  messageType: 'message-type',
  schemaVersion: 'schema-version',
  correlationId: 'correlation-id',
  causationId: 'causation-id',
  traceparent: 'traceparent',
} as const;

/** What a producer chooses of an envelope; the rest has one default everywhere. */
export interface EnvelopeFields {
  id: string;
  type: string;
  sagaId: string;
  sagaType: string;
  correlationId: string;
  causationId: string | null;
  traceparent?: string | undefined;
  data: Envelope['data'];
  /** Now when absent. */
  occurredAt?: Date;
  /** The version of `data`'s shape the producer wrote; 1 until a message type has a second. */
  schemaVersion?: number;
}

/** The one constructor of an envelope: every producer (start, cancel, timers, steps, answers) builds with it. */
export function envelope(f: EnvelopeFields): Envelope {
  const env: Envelope = {
    id: f.id,
    type: f.type,
    schemaVersion: f.schemaVersion ?? 1,
    occurredAt: (f.occurredAt ?? new Date()).toISOString(),
    sagaId: f.sagaId,
    sagaType: f.sagaType,
    correlationId: f.correlationId,
    causationId: f.causationId,
    data: f.data,
  };
  if (f.traceparent !== undefined) env.traceparent = f.traceparent;
  return env;
}

export function newTraceparent(): string {
  const hex = (bytes: number) => Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString('hex');
  return `00-${hex(16)}-${hex(8)}-01`;
}

/** Splits `inventory.reserve` into its service (`inventory`) and name (`reserve`). */
export function splitType(type: string): { head: string; tail: string } {
  const dot = type.indexOf('.');
  return { head: type.slice(0, dot), tail: type.slice(dot + 1) };
}
