import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * The app a team would write on top of the installed `jetsaga` package, as plain source files:
 * a "transfer" saga (debit one account, credit another; a refused credit refunds the debit), the
 * "bank" participant that answers it, the app module the CLI loads, and a unit test of the saga
 * for Node's own test runner. Nothing here refers to this repository: the files import only
 * `jetsaga`, `jetsaga/testing`, `zod`, `xstate` and Node's built-ins.
 */

export const sagaType = 'transfer';

/** Credits to this account are refused by the bank: the saga must refund the debit. */
export const frozenAccount = 'frozen';

const tsconfig = {
  compilerOptions: {
    target: 'ES2023',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    lib: ['ES2023'],
    types: ['node'],
    strict: true,
    rootDir: 'src',
    outDir: 'dist',
  },
  include: ['src'],
};

const saga = `import { defineSaga } from 'jetsaga';
import { assign, emit, setup } from 'xstate';
import { z } from 'zod';

/** Moves an amount from one account to another: debit, then credit; a refused credit refunds the debit. */
export const TransferInput = z.object({
  from: z.string().min(1),
  to: z.string().min(1),
  amount: z.number().positive(),
});
export type TransferInput = z.infer<typeof TransferInput>;

type Reply<T extends string, D = Record<string, unknown>> = { type: T; data: D };

export type TransferEvent =
  | Reply<'bank.debited'>
  | Reply<'bank.debit-rejected', { reason?: string }>
  | Reply<'bank.credited'>
  | Reply<'bank.credit-rejected', { reason?: string }>
  | Reply<'bank.refunded'>;

type Movement = { transferId: string; account: string; amount: number };

export type TransferCommand =
  | { type: 'bank.debit'; data: Movement }
  | { type: 'bank.credit'; data: Movement }
  | { type: 'bank.refund'; data: Movement };

interface TransferContext {
  transferId: string;
  from: string;
  to: string;
  amount: number;
  reason: string | null;
  outcome: 'completed' | 'compensated' | null;
}

export const transferMachine = setup({
  types: {
    context: {} as TransferContext,
    events: {} as TransferEvent,
    emitted: {} as TransferCommand,
    input: {} as TransferInput & { sagaId: string },
    output: {} as { status: 'completed' | 'compensated' | 'failed'; reason: string | null },
  },
  actions: {
    failWith: assign({
      reason: ({ event }, params: { reason: string }) =>
        'reason' in event.data && typeof event.data.reason === 'string'
          ? \`\${params.reason}: \${event.data.reason}\`
          : params.reason,
    }),
  },
}).createMachine({
  id: 'transfer',
  context: ({ input }) => ({
    transferId: input.sagaId,
    from: input.from,
    to: input.to,
    amount: input.amount,
    reason: null,
    outcome: null,
  }),
  output: ({ context }) => ({ status: context.outcome ?? 'failed', reason: context.reason }),
  initial: 'debiting',
  states: {
    debiting: {
      entry: emit(({ context }) => ({
        type: 'bank.debit' as const,
        data: { transferId: context.transferId, account: context.from, amount: context.amount },
      })),
      on: {
        'bank.debited': 'crediting',
        // Nothing was taken: nothing to undo.
        'bank.debit-rejected': {
          target: 'compensated',
          actions: { type: 'failWith', params: { reason: 'debit-rejected' } },
        },
      },
    },
    crediting: {
      entry: emit(({ context }) => ({
        type: 'bank.credit' as const,
        data: { transferId: context.transferId, account: context.to, amount: context.amount },
      })),
      on: {
        'bank.credited': 'completed',
        'bank.credit-rejected': {
          target: 'refunding',
          actions: { type: 'failWith', params: { reason: 'credit-rejected' } },
        },
      },
    },
    refunding: {
      tags: ['compensating'],
      entry: emit(({ context }) => ({
        type: 'bank.refund' as const,
        data: { transferId: context.transferId, account: context.from, amount: context.amount },
      })),
      on: { 'bank.refunded': 'compensated' },
    },
    completed: { type: 'final', entry: assign({ outcome: 'completed' as const }) },
    compensated: { type: 'final', entry: assign({ outcome: 'compensated' as const }) },
  },
});

export const transfer = defineSaga({
  type: '${sagaType}',
  version: 1,
  machine: transferMachine,
  input: TransferInput,
  description: 'Debit one account and credit another; refund the debit when the credit is refused.',
  // A command lost on the way is sent again (same commandId: the bank applies it once).
  policies: Object.fromEntries(
    ['bank.debit', 'bank.credit', 'bank.refund'].map((type) => [type, { resendAfterMs: 10_000, maxResends: 5 }]),
  ),
});
`;

const bank = `import { command, defineParticipant, isDuplicateKey, type Reply } from 'jetsaga';
import { z } from 'zod';

/**
 * The bank: one ledger entry per command, keyed by its commandId, so a command that arrives
 * again (a resend, a redelivery) answers what its first run answered and moves no money twice.
 * Deterministic failure: credits to the account "${frozenAccount}" are refused.
 */

const Movement = z.object({
  transferId: z.string().min(1),
  account: z.string().min(1),
  amount: z.number().positive(),
});
type Movement = z.infer<typeof Movement>;

interface LedgerEntry {
  _id: string;
  kind: 'debit' | 'credit' | 'refund';
  movement: Movement;
  reply: Reply;
  at: Date;
}

function movement(
  kind: LedgerEntry['kind'],
  done: string,
  refusal: { type: string; when: (m: Movement) => string | null } | null,
) {
  return command(Movement, async (m, ctx): Promise<Reply> => {
    const reason = refusal?.when(m) ?? null;
    const reply: Reply =
      reason && refusal
        ? { type: refusal.type, data: { transferId: m.transferId, reason } }
        : { type: done, data: { transferId: m.transferId, account: m.account, amount: m.amount } };
    const ledger = ctx.db.collection<LedgerEntry>('bank_ledger');
    try {
      await ledger.insertOne({ _id: ctx.commandId, kind, movement: m, reply, at: new Date() });
      return reply;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
    const first = await ledger.findOne({ _id: ctx.commandId });
    return first?.reply ?? reply;
  });
}

export const bank = defineParticipant({
  name: 'bank',
  commands: {
    debit: movement('debit', 'debited', null),
    credit: movement('credit', 'credited', {
      type: 'credit-rejected',
      when: (m) => (m.account === '${frozenAccount}' ? \`account \${m.account} is frozen\` : null),
    }),
    refund: movement('refund', 'refunded', null),
  },
});
`;

const app = `import { defineApp } from 'jetsaga';
import { bank } from './bank.js';
import { transfer } from './saga.js';

export default defineApp({ sagas: [transfer], participants: [bank] });
`;

const sagaTest = `import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SagaTestKit } from 'jetsaga/testing';
import { transfer } from './saga.js';

const kit = () =>
  new SagaTestKit(transfer)
    .on('bank.debit', (c) => ({ type: 'bank.debited', data: c.data }))
    .on('bank.credit', (c) =>
      c.data.account === '${frozenAccount}'
        ? { type: 'bank.credit-rejected', data: { reason: 'account frozen' } }
        : { type: 'bank.credited', data: c.data },
    )
    .on('bank.refund', (c) => ({ type: 'bank.refunded', data: c.data }));

describe('transfer saga', () => {
  it('debits, then credits, and completes', () => {
    const k = kit().start({ from: 'alice', to: 'bob', amount: 25 });
    assert.deepEqual(k.commandTypes(), ['bank.debit', 'bank.credit']);
    assert.deepEqual(k.commands[0]?.data, { transferId: k.sagaId, account: 'alice', amount: 25 });
    assert.deepEqual(k.commands[1]?.data, { transferId: k.sagaId, account: 'bob', amount: 25 });
    assert.equal(k.status, 'completed');
    assert.equal(k.reason, null);
  });

  it('refunds the debit when the credit is refused, and ends compensated', () => {
    const k = kit().start({ from: 'alice', to: '${frozenAccount}', amount: 25 });
    assert.deepEqual(k.commandTypes(), ['bank.debit', 'bank.credit', 'bank.refund']);
    assert.deepEqual(k.commands[2]?.data, { transferId: k.sagaId, account: 'alice', amount: 25 });
    assert.equal(k.status, 'compensated');
    assert.equal(k.reason, 'credit-rejected: account frozen');
  });

  it('waits in the compensating state until the refund is confirmed', () => {
    const k = kit()
      .on('bank.refund', () => undefined)
      .start({ from: 'alice', to: '${frozenAccount}', amount: 25 });
    assert.equal(k.status, 'compensating');
    k.send({ type: 'bank.refunded', data: {} });
    assert.equal(k.status, 'compensated');
  });

  it('rejects invalid input', () => {
    assert.throws(() => kit().start({ from: 'alice', to: 'bob', amount: -1 }));
  });
});
`;

/** The fixture's sources, by path relative to the project root. */
export const fixtureFiles: Record<string, string> = {
  'tsconfig.json': `${JSON.stringify(tsconfig, null, 2)}\n`,
  'src/saga.ts': saga,
  'src/bank.ts': bank,
  'src/app.ts': app,
  'src/saga.test.ts': sagaTest,
};

/** A package.json as `npm init -y` writes it, for an ES-module project. */
export function fixturePackageJson(name: string): string {
  const pkg = {
    name,
    version: '1.0.0',
    private: true,
    type: 'module',
    scripts: { build: 'tsc -p tsconfig.json', test: "node --test 'dist/**/*.test.js'" },
  };
  return `${JSON.stringify(pkg, null, 2)}\n`;
}

/** Writes the package.json and every source file of the fixture under `dir`. */
export async function writeFixtureApp(dir: string): Promise<void> {
  await writeFile(path.join(dir, 'package.json'), fixturePackageJson(path.basename(dir).toLowerCase()));
  for (const [file, text] of Object.entries(fixtureFiles)) {
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await writeFile(path.join(dir, file), text);
  }
}
