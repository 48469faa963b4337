import { describe, expect, it } from 'vitest';
import { createMachine } from 'xstate';
import { z } from 'zod';
import { defineApp, eventContractsOf } from '../../runtime/app.ts';
import { ContractError, ValidationError } from '../../runtime/errors.ts';
import {
  currentInput,
  defineSaga,
  inputContractOf,
  runtimeEventContracts,
} from '../../runtime/orchestrator/index.ts';
import { command, defineParticipant, defineReactor } from '../../runtime/participants/index.ts';
import { checkData, contract, oldestAccepted, upcastData } from '../../runtime/wire/index.ts';

/** Message contracts without any server: declaring versions and upcasters, and what receivers do with them. */
describe('message contracts', () => {
  const Reserved = z.object({ orderId: z.string(), items: z.array(z.string()), channel: z.string() });
  // v1 had `sku` (one item); v2 made it `items`; v3 added `channel`.
  const reserved = contract(Reserved, {
    version: 3,
    upcast: {
      1: ({ sku, ...rest }) => ({ ...rest, items: [sku] }),
      2: (d) => ({ ...d, channel: 'web' }),
    },
    description: 'stock held',
  });

  it('defaults to version 1 without upcasters', () => {
    const c = contract(z.object({ a: z.string() }));
    expect(c.version).toBe(1);
    expect(c.upcast).toEqual({});
    expect(oldestAccepted(c)).toBe(1);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('upcasts an older version through every step to the current one, and leaves the current one alone', () => {
    const v1 = { orderId: 'o-1', sku: 'SKU-1' };
    expect(upcastData('inventory.reserved', reserved, v1, 1)).toEqual({
      orderId: 'o-1',
      items: ['SKU-1'],
      channel: 'web',
    });
    expect(upcastData('inventory.reserved', reserved, { orderId: 'o', items: [] }, 2)).toEqual({
      orderId: 'o',
      items: [],
      channel: 'web',
    });
    const current = { orderId: 'o', items: [], channel: 'app' };
    expect(upcastData('inventory.reserved', reserved, current, 3)).toBe(current);
    expect(oldestAccepted(reserved)).toBe(1);
  });

  it('refuses a newer version, saying which came, which is known and what to deploy', () => {
    let err: unknown;
    try {
      upcastData('inventory.reserved', reserved, {}, 4, 'service inventory');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ContractError);
    const e = err as ContractError;
    expect(e.message).toBe(
      'inventory.reserved v4 is newer than this service knows (v3): deploy a version of service inventory that knows inventory.reserved v4',
    );
    expect(e.kind).toBe('contract');
    expect(e.retryable).toBe(false);
    expect(e.detail).toEqual({ type: 'inventory.reserved', version: 4, known: 3 });
  });

  it('refuses a version older than every upcaster', () => {
    const fromTwo = contract(Reserved, { version: 3, upcast: { 2: (d) => ({ ...d, channel: 'web' }) } });
    expect(oldestAccepted(fromTwo)).toBe(2);
    expect(() => upcastData('inventory.reserved', fromTwo, {}, 1, 'the orchestrator')).toThrow(
      new ContractError(
        'inventory.reserved v1 is older than any upcaster of the orchestrator (accepts v2..v3)',
        { type: 'inventory.reserved', version: 1, known: 3 },
      ),
    );
    const noUpcasters = contract(Reserved, { version: 2 });
    expect(() => upcastData('inventory.reserved', noUpcasters, {}, 1, 'reactor x')).toThrow(
      /v1 is older than any upcaster of reactor x \(accepts v2 only\)/,
    );
  });

  it('turns an upcaster that throws into a contract error naming the step', () => {
    const broken = contract(Reserved, {
      version: 2,
      upcast: {
        1: () => {
          throw new Error('no sku');
        },
      },
    });
    expect(() => upcastData('inventory.reserved', broken, {}, 1, 'service inventory')).toThrow(
      /inventory\.reserved v1: the upcaster of service inventory from v1 to v2 failed: no sku/,
    );
  });

  it('rejects declarations with gaps or out-of-range upcasters, naming the field', () => {
    const fieldOf = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        expect(err).toBeInstanceOf(ValidationError);
        return (err as ValidationError).issues[0]?.field;
      }
      return 'no error';
    };
    expect(fieldOf(() => contract(Reserved, { version: 0 }))).toBe('version');
    expect(fieldOf(() => contract(Reserved, { version: 1.5 }))).toBe('version');
    expect(fieldOf(() => contract(Reserved, { version: 3, upcast: { 1: (d) => d } }))).toBe('upcast.2');
    expect(fieldOf(() => contract(Reserved, { version: 2, upcast: { 2: (d) => d } }))).toBe('upcast.2');
    expect(fieldOf(() => contract(Reserved, { version: 2, upcast: { 0: (d) => d } }))).toBe('upcast.0');
    expect(fieldOf(() => contract(Reserved, { version: 2, upcast: { 1: 'nope' as never } }))).toBe(
      'upcast.1',
    );
    expect(fieldOf(() => contract({} as never))).toBe('schema');
    // Oldest given to version-1, contiguous: v1 dropped is fine.
    expect(contract(Reserved, { version: 3, upcast: { 2: (d) => d } }).version).toBe(3);
  });

  it('validates data at the current version, naming the field', () => {
    expect(() =>
      checkData('inventory.reserved', reserved, { orderId: 'o', items: ['a'], channel: 'web' }),
    ).not.toThrow();
    let err: ValidationError | undefined;
    try {
      checkData('inventory.reserved', reserved, { orderId: 'o', items: [1], channel: 'web' });
    } catch (e) {
      err = e as ValidationError;
    }
    expect(err).toBeInstanceOf(ValidationError);
    expect(err!.issues.map((i) => i.field)).toEqual(['items.0']);
    expect(err!.message).toMatch(/^inventory\.reserved v3: invalid data: items\.0: /);
  });

  it('command() takes a schema (version 1) or a contract, and exposes it', () => {
    const plain = command(z.object({ a: z.string() }), async () => ({ type: 'done', data: {} }));
    expect(plain.contract.version).toBe(1);
    const versioned = command(reserved, async (d) => ({ type: 'done', data: { n: d.items.length } }));
    expect(versioned.contract).toBe(reserved);
  });

  it('participants declare events and reactors emits as contracts; the app knows each type once', () => {
    const events = { reserved };
    const svc = defineParticipant({ name: 'stock', commands: {}, events });
    const reactor = defineReactor({
      name: 'watcher',
      source: 'watch',
      on: 'stock.reserved',
      emits: { seen: contract(z.object({ orderId: z.string() }), { version: 2, upcast: { 1: (d) => d } }) },
      react: async () => null,
    });
    const app = defineApp({ sagas: [], participants: [svc], reactors: [reactor] });
    const lookup = eventContractsOf(app);
    expect(lookup.get('stock.reserved')).toBe(reserved);
    expect(lookup.get('watch.seen')?.version).toBe(2);
    expect(lookup.get('saga.started')).toBe(runtimeEventContracts['saga.started']);
    expect([...lookup.keys()].sort()).toEqual(
      [
        'saga.cancel',
        'saga.ended',
        'saga.resume',
        'saga.started',
        'saga.timer',
        'stock.reserved',
        'watch.seen',
      ].sort(),
    );
    expect(() => defineParticipant({ name: 'stock', commands: {}, events: { Bad: reserved } })).toThrow(
      /events\.Bad/,
    );
    expect(() =>
      defineParticipant({ name: 'stock', commands: {}, events: { ok: z.object({}) as never } }),
    ).toThrow(/events\.ok/);
    expect(() => defineReactor({ ...reactor, emits: { x: {} as never } })).toThrow(/emits\.x/);
    // Another producer of the same type: refused when the app is defined.
    const clash = defineReactor({
      ...reactor,
      name: 'clash',
      source: 'stock',
      emits: { reserved: contract(Reserved) },
    });
    expect(() => defineApp({ sagas: [], participants: [svc], reactors: [clash] })).toThrow(
      /stock\.reserved is declared by service stock and by reactor clash/,
    );
  });

  it("the runtime's own events validate what the runtime sends", () => {
    const ok = (type: string, data: Record<string, unknown>) =>
      runtimeEventContracts[type]!.schema.safeParse(data).success;
    expect(ok('saga.started', {})).toBe(true);
    expect(ok('saga.started', { by: 'ci-bot' })).toBe(true);
    expect(ok('saga.timer', { timerId: 'after:1', dueAt: Date.now() })).toBe(true);
    expect(ok('saga.timer', { timerId: 'after:1' })).toBe(false);
    expect(ok('saga.cancel', { reason: 'cancelled by request', by: 'anonymous' })).toBe(true);
    expect(ok('saga.cancel', {})).toBe(false);
    const end = {
      sagaType: 'order-fulfillment',
      version: 1,
      status: 'compensated',
      reason: 'fraud',
      state: 'compensated',
    };
    expect(ok('saga.ended', end)).toBe(true);
    expect(ok('saga.ended', { ...end, output: { customerId: 'c-1' }, reason: null })).toBe(true);
    expect(ok('saga.ended', { sagaType: 'order-fulfillment', status: 'failed' })).toBe(true);
    // Only terminal statuses end a saga.
    expect(ok('saga.ended', { ...end, status: 'running' })).toBe(false);
    expect(ok('saga.ended', { status: 'completed' })).toBe(false);
  });

  it('a saga declares its input version; an older start is upcast, a newer one refused', () => {
    const machine = createMachine({ id: 'm', initial: 'a', states: { a: { type: 'final' } } });
    const input = z.object({ customer: z.object({ id: z.string() }) });
    const def = defineSaga({
      type: 'greeting',
      version: 1,
      machine,
      input,
      inputVersion: 2,
      inputUpcast: { 1: ({ customerId, ...rest }) => ({ ...rest, customer: { id: customerId } }) },
    });
    expect(def.inputContract.version).toBe(2);
    expect(def.inputContract.schema).toBe(input);
    expect(inputContractOf(def)).toBe(def.inputContract);
    expect(currentInput(def, { customerId: 'c-1' }, 1)).toEqual({ customer: { id: 'c-1' } });
    expect(currentInput(def, { customer: { id: 'c' } })).toEqual({ customer: { id: 'c' } });
    expect(() => currentInput(def, {}, 3)).toThrow(
      'greeting input v3 is newer than this service knows (v2): deploy a version of the app that knows greeting input v3',
    );
    expect(() =>
      defineSaga({
        type: 'greeting',
        version: 1,
        machine,
        input,
        inputVersion: 3,
        inputUpcast: { 1: (d) => d },
      }),
    ).toThrow(/inputUpcast\.2/);
    // Without a declaration: version 1 of its input schema.
    const plain = defineSaga({ type: 'plain', version: 1, machine, input });
    expect(plain.inputContract.version).toBe(1);
  });
});
