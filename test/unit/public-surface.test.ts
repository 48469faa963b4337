import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

/** What `npm run check` says of a file of the reference app with the given imports. */
async function lint(filePath: string, code: string): Promise<string[]> {
  const [result] = await new ESLint().lintText(code, { filePath });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('the reference app uses only the public surface', () => {
  it('a deep import from services/ into runtime internals fails the check, naming the fix', async () => {
    const messages = await lint(
      'services/payment/deep-import.ts',
      "import { Bus } from '../../runtime/messaging/index.ts';\nexport const b = Bus;\n",
    );
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain("'../../runtime/messaging/index.ts'");
    expect(messages[0]).toContain('export what it needs from runtime/index.ts');
  });

  it('a deep import from sagas/ through the package name fails too', async () => {
    const messages = await lint(
      'sagas/order-fulfillment/deep-import.ts',
      "import { SagaStore } from 'jetsaga/store';\nexport const s = SagaStore;\n",
    );
    expect(messages).toHaveLength(1);
  });

  it('the public entry points pass', async () => {
    const messages = await lint(
      'services/payment/public-import.ts',
      "import { defineParticipant } from 'jetsaga';\nimport { SagaTestKit } from 'jetsaga/testing';\nexport const x = [defineParticipant, SagaTestKit];\n",
    );
    expect(messages).toEqual([]);
  });

  it('tests and the runtime itself are not bound by it', async () => {
    expect(
      await lint(
        'test/some.test.ts',
        "import { Bus } from '../runtime/messaging/index.ts';\nexport const b = Bus;\n",
      ),
    ).toEqual([]);
  });
});
