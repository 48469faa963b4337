import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiTokenEntry } from '../../runtime/api-tokens.ts';
import type { Config } from '../../runtime/config.ts';
import { approvalApp, type DeskSwitch } from '../fixtures/approval.ts';
import { startTestNode, type TestNode } from '../harness.ts';
import { chromiumArgs, chromiumPath } from './ensure-chromium.ts';

const executablePath = chromiumPath();
const adminToken = 'inspector-admin-token-0123456789';
const tokens = (entries: ApiTokenEntry[]) => entries as unknown as Config['apiTokens'];

/** The saga page's Resume button, in a real browser, on a saga stalled by a desk that was down. */
describe.skipIf(!executablePath)('inspector: resume a stalled saga', () => {
  const desk: DeskSwitch = { down: true };
  let node: TestNode;
  let browser: Browser;
  const errors: string[] = [];

  beforeAll(async () => {
    node = await startTestNode({
      dist: approvalApp(desk),
      config: {
        auth: 'tokens',
        apiTokens: tokens([{ name: 'oncall', token: adminToken, scope: 'admin' }]),
        ssePollMs: 100,
      },
    });
    browser = await chromium.launch({ executablePath: executablePath!, args: chromiumArgs });
  });
  afterAll(async () => {
    await browser?.close();
    await node?.destroy();
  });

  it('shows Resume only while the saga is stalled; a click sends the command again', async () => {
    const res = await node.post(
      '/v1/saga-types/approval/sagas',
      { request: 'from the inspector' },
      { Authorization: `Bearer ${adminToken}` },
    );
    const { sagaId } = (await res.json()) as { sagaId: string };
    await node.waitFor(sagaId, (d) => (d.stalled ?? []).length > 0, 20_000);

    const page = await browser.newPage();
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('dialog', (d) => void d.accept());
    await page.goto(`${node.api!.url}/ui?token=${adminToken}#/sagas/${encodeURIComponent(sagaId)}`);
    const resume = page.locator('.page-head button', { hasText: 'Resume' });
    await resume.waitFor({ state: 'visible' });

    desk.down = false;
    await resume.click();
    await node.waitFor(sagaId, (d) => d.state === 'awaitingApproval');
    await resume.waitFor({ state: 'hidden' });
    const history = await node.store.historyOf(sagaId);
    expect(history.filter((h) => h.event.type === 'saga.resume')).toHaveLength(1);
    expect(errors).toEqual([]);
    await page.close();
  });
});
