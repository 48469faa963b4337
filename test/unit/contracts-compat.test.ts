import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Catalogue, CatalogueMessage } from '../../runtime/contracts/catalogue-types.ts';
import { jsonSchemaOf } from '../../runtime/contracts/catalogue.ts';
import { breakingChanges, compareCatalogues } from '../../runtime/contracts/compat.ts';

/** A message of a small schema set: a command of `inventory` by default, received by its service. */
interface Spec {
  schema: z.ZodType;
  version?: number;
  upcastsFrom?: number[];
  receivedBy?: string[];
  kind?: CatalogueMessage['kind'];
}

function catalogue(messages: Record<string, Spec>): Catalogue {
  const out: Catalogue = { format: 'jetsaga-catalogue/1', messages: {} };
  for (const [type, m] of Object.entries(messages)) {
    out.messages[type] = {
      kind: m.kind ?? 'command',
      type,
      subject: `cmd.${type}`,
      version: m.version ?? 1,
      upcastsFrom: m.upcastsFrom ?? [],
      schema: jsonSchemaOf(m.schema),
      sentBy: ['orchestrator'],
      receivedBy: m.receivedBy ?? ['service:inventory'],
    };
  }
  return out;
}

const item = z.object({ sku: z.string(), qty: z.number().int().positive() });
const reserveV1 = z.object({
  orderId: z.string(),
  items: z.array(item),
  priority: z.enum(['normal', 'express']),
  address: z.object({ city: z.string(), country: z.string().length(2) }),
  note: z.string().optional(),
});
const before = catalogue({ 'inventory.reserve': { schema: reserveV1 } });
const breaks = (schema: z.ZodType, spec: Omit<Spec, 'schema'> = {}) =>
  breakingChanges(before, catalogue({ 'inventory.reserve': { schema, ...spec } }));

describe('contracts: the compatibility check on small schema sets', () => {
  it('passes the same schemas', () => {
    expect(compareCatalogues(before, catalogue({ 'inventory.reserve': { schema: reserveV1 } }))).toEqual({
      breaking: [],
      compatible: [],
    });
  });

  it('passes an added optional field, at any depth, and names it as a compatible change', () => {
    const after = catalogue({
      'inventory.reserve': {
        schema: reserveV1.extend({
          giftWrap: z.boolean().optional(),
          items: z.array(item.extend({ lot: z.string().optional() })),
        }),
      },
    });
    const { breaking, compatible } = compareCatalogues(before, after);
    expect(breaking).toEqual([]);
    expect(compatible).toEqual([
      { message: 'inventory.reserve', field: 'items[].lot', change: 'optional field added' },
      { message: 'inventory.reserve', field: 'giftWrap', change: 'optional field added' },
    ]);
  });

  it('passes a field with a default (receivers fill it in: optional on the wire)', () => {
    expect(breaks(reserveV1.extend({ channel: z.string().default('web') }))).toEqual([]);
  });

  it('fails a required field added, naming the message and the field', () => {
    expect(breaks(reserveV1.extend({ warehouse: z.string() }))).toEqual([
      {
        message: 'inventory.reserve',
        field: 'warehouse',
        change: 'required field added (older senders leave it out)',
      },
    ]);
  });

  it('fails a field made required', () => {
    expect(breaks(reserveV1.extend({ note: z.string() }))).toEqual([
      expect.objectContaining({ field: 'note', change: expect.stringContaining('became required') }),
    ]);
  });

  it('fails a field removed, nested ones too', () => {
    expect(breaks(reserveV1.omit({ note: true }))).toEqual([
      { message: 'inventory.reserve', field: 'note', change: 'field removed' },
    ]);
    expect(breaks(reserveV1.extend({ address: z.object({ country: z.string().length(2) }) }))).toEqual([
      { message: 'inventory.reserve', field: 'address.city', change: 'field removed' },
    ]);
  });

  it('fails a field retyped, inside arrays with a dotted path', () => {
    expect(
      breaks(reserveV1.extend({ items: z.array(z.object({ sku: z.string(), qty: z.string() })) })),
    ).toEqual([
      {
        message: 'inventory.reserve',
        field: 'items[].qty',
        change: 'type changed from integer to string',
      },
    ]);
    expect(breaks(reserveV1.extend({ orderId: z.string().nullable() }))).toEqual([
      expect.objectContaining({ field: 'orderId', change: 'type changed from string to null | string' }),
    ]);
  });

  it('fails an enum narrowed', () => {
    expect(breaks(reserveV1.extend({ priority: z.enum(['normal']) }))).toEqual([
      {
        message: 'inventory.reserve',
        field: 'priority',
        change: 'enum narrowed: "express" no longer allowed',
      },
    ]);
    // A free string becoming an enum is a narrowing too.
    expect(breaks(reserveV1.extend({ orderId: z.enum(['a', 'b']) }))).toEqual([
      expect.objectContaining({ field: 'orderId', change: expect.stringContaining('enum narrowed') }),
    ]);
  });

  it('fails a value added to an enum of a message someone receives, passes it when nobody does', () => {
    const widened = reserveV1.extend({ priority: z.enum(['normal', 'express', 'overnight']) });
    expect(breaks(widened)).toEqual([
      {
        message: 'inventory.reserve',
        field: 'priority',
        change: 'enum value added: "overnight" (older receivers reject it)',
      },
    ]);
    const unread = catalogue({ 'inventory.reserve': { schema: reserveV1, receivedBy: [] } });
    expect(
      breakingChanges(unread, catalogue({ 'inventory.reserve': { schema: widened, receivedBy: [] } })),
    ).toEqual([]);
  });

  it('fails a changed constraint', () => {
    expect(
      breaks(reserveV1.extend({ address: z.object({ city: z.string(), country: z.string().length(3) }) })),
    ).toEqual([
      expect.objectContaining({ field: 'address.country', change: 'minLength changed from 2 to 3' }),
      expect.objectContaining({ field: 'address.country', change: 'maxLength changed from 2 to 3' }),
    ]);
  });

  it('passes a version bump with an upcaster from the saved version, fails one without', () => {
    const v2 = reserveV1.extend({ warehouse: z.string() });
    expect(breaks(v2, { version: 2, upcastsFrom: [1] })).toEqual([]);
    expect(
      compareCatalogues(
        before,
        catalogue({ 'inventory.reserve': { schema: v2, version: 2, upcastsFrom: [1] } }),
      ).compatible,
    ).toEqual([
      { message: 'inventory.reserve', field: '(message)', change: 'version 1 -> 2, upcast from 1' },
    ]);
    expect(breaks(v2, { version: 2 })).toEqual([
      {
        message: 'inventory.reserve',
        field: '(message)',
        change:
          'version 1 -> 2 without an upcaster from version 1 (receivers must read what older senders wrote)',
      },
    ]);
    // v1 -> v3 needs the upcasters from 1 and from 2.
    expect(breaks(v2, { version: 3, upcastsFrom: [2] })).toEqual([
      expect.objectContaining({ change: expect.stringContaining('without an upcaster from version 1') }),
    ]);
  });

  it('fails a version that went back', () => {
    const v2 = catalogue({ 'inventory.reserve': { schema: reserveV1, version: 2, upcastsFrom: [1] } });
    expect(breakingChanges(v2, before)).toEqual([
      expect.objectContaining({ field: '(message)', change: 'version went back from 2 to 1' }),
    ]);
  });

  it('passes a new message; fails a message removed that roles still receive', () => {
    const grown = catalogue({
      'inventory.reserve': { schema: reserveV1 },
      'inventory.release': { schema: z.object({ orderId: z.string() }) },
    });
    expect(compareCatalogues(before, grown)).toEqual({
      breaking: [],
      compatible: [{ message: 'inventory.release', field: '(message)', change: 'added' }],
    });
    expect(breakingChanges(grown, before)).toEqual([
      {
        message: 'inventory.release',
        field: '(message)',
        change: 'removed, but service:inventory still receives it (messages in flight, older senders)',
      },
    ]);
  });

  it('renders transforms by what they read and says where JSON Schema falls short', () => {
    const schema = jsonSchemaOf(
      z.object({ at: z.string().transform((s) => new Date(s)), when: z.date(), n: z.number().default(1) }),
    );
    expect(schema).toMatchObject({
      type: 'object',
      required: ['at', 'when'],
      properties: {
        at: { type: 'string' },
        when: { description: expect.stringContaining('not expressible in JSON Schema') },
      },
    });
    // Keys sorted, so a saved catalogue diffs cleanly.
    expect(Object.keys(schema)).toEqual([...Object.keys(schema)].sort());
  });

  it('follows recursive schemas without looping', () => {
    type Node = { name: string; children: Node[] };
    const node: z.ZodType<Node> = z.lazy(() => z.object({ name: z.string(), children: z.array(node) }));
    const tree = z.object({ root: node });
    const a = catalogue({ 'tree.put': { schema: tree } });
    expect(breakingChanges(a, catalogue({ 'tree.put': { schema: tree } }))).toEqual([]);
  });
});
