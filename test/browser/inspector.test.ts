import { mkdirSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { order, startTestNode, type TestNode } from '../harness.ts';
import { chromiumArgs, chromiumPath } from './ensure-chromium.ts';

const executablePath = chromiumPath();
const writeToken = 'inspector-write-token-0123456789';
const artifacts = 'test-artifacts';

/** The inspector in a real browser (Debian's Chromium), against a real node with auth on. */
describe.skipIf(!executablePath)('inspector UI', () => {
  let node: TestNode;
  let browser: Browser;
  const errors: string[] = [];

  beforeAll(async () => {
    mkdirSync(artifacts, { recursive: true });
    node = await startTestNode({
      config: {
        auth: 'tokens',
        apiTokens: [{ name: 'browser', token: writeToken, scope: 'write' }],
        ssePollMs: 100,
      },
    });
    browser = await chromium.launch({ executablePath: executablePath!, args: chromiumArgs });
  });
  afterAll(async () => {
    await browser?.close();
    await node?.destroy();
  });

  const auth = { Authorization: `Bearer ${writeToken}` };
  async function start(body: unknown): Promise<string> {
    const res = await node.post('/v1/saga-types/order-fulfillment/sagas', body, auth);
    expect(res.status).toBe(202);
    return ((await res.json()) as { sagaId: string }).sagaId;
  }
  async function openPage(path: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    page.on('pageerror', (err) => errors.push(err.message));
    // A module the page imports but the server does not serve fails the page quietly: say which.
    page.on('response', (res) => {
      if (new URL(res.url()).pathname.startsWith('/ui/') && res.status() >= 400)
        errors.push(`${res.status()} ${res.url()}`);
    });
    await page.goto(`${node.api!.url}${path}`);
    return page;
  }

  it('asks for a token when it has none, then shows the sagas', async () => {
    const page = await openPage('/ui');
    const dialog = page.locator('dialog#login');
    await dialog.waitFor({ state: 'visible' });
    await page.fill('dialog#login input[name=token]', writeToken);
    await page.click('dialog#login button[type=submit]');
    await page.locator('h1', { hasText: 'Sagas' }).waitFor();
    await expect.poll(() => page.locator('#session').innerText()).toContain('signed in');
    await page.close();
  });

  it('shows a saga started through the API reach completed live, without a reload', async () => {
    // The token comes once in the URL and is kept for the tab.
    const page = await openPage(`/ui?token=${writeToken}`);
    expect(new URL(page.url()).searchParams.get('token')).toBeNull();
    await page.evaluate(() => {
      (globalThis as unknown as { marker: number }).marker = 42;
    });
    const sagaId = await start(order());
    // The list picks it up by itself.
    const row = page.locator(`tr[data-saga="${sagaId}"]`);
    await row.waitFor({ timeout: 15_000 });
    await page.screenshot({ path: `${artifacts}/inspector-list.png` });
    await row.click();
    await page.locator('.page-head .pill[data-status="completed"]').waitFor({ timeout: 30_000 });
    // Same document: the page followed the saga through the event stream.
    expect(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker)).toBe(42);
    const doc = await node.store.load(sagaId);
    await expect.poll(() => page.locator('#timeline > li').count()).toBe(doc!.rev);
    await expect
      .poll(() => page.locator('#statechart g.sc-node.current').getAttribute('data-state'))
      .toBe('completed');
    expect(await page.locator('#statechart g.sc-node.visited').count()).toBeGreaterThanOrEqual(4);
    expect(await page.locator('#statechart g.sc-edge.taken').count()).toBeGreaterThanOrEqual(4);
    await page.screenshot({ path: `${artifacts}/inspector-completed.png`, fullPage: true });
    // The view a person sees first (docs/inspector.png in the README is one of these).
    await page.screenshot({ path: `${artifacts}/inspector-saga.png` });
    await page.close();
  });

  it('shows the compensation steps of a compensated saga on its timeline and its diagram', async () => {
    const sagaId = await start(order({ payment: { token: 'tok_declined' } }));
    await node.waitForTerminal(sagaId);
    const page = await openPage(`/ui?token=${writeToken}#/sagas/${sagaId}`);
    await page.locator('.page-head .pill[data-status="compensated"]').waitFor();
    await page.locator('.reason', { hasText: 'payment-declined' }).waitFor();
    const compensation = page.locator('#timeline > li.comp');
    expect(await compensation.count()).toBeGreaterThanOrEqual(1);
    await expect.poll(() => compensation.first().innerText()).toContain('inventory.release');
    expect(await page.locator('#timeline .tag.comp').count()).toBeGreaterThanOrEqual(1);
    expect(
      await page
        .locator('#statechart g.sc-node.visited[data-state="compensating.releasingInventory"]')
        .count(),
    ).toBe(1);
    expect(await page.locator('#statechart g.sc-node.current').getAttribute('data-state')).toBe(
      'compensated',
    );
    await page.screenshot({ path: `${artifacts}/inspector-compensated.png`, fullPage: true });
    await page.close();
    expect(errors).toEqual([]);
  });
});
