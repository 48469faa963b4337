import { mkdirSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from '../harness.ts';
import { chromiumArgs, chromiumPath } from './ensure-chromium.ts';

const executablePath = chromiumPath();
const readToken = 'catalogue-read-token-0123456789';
const artifacts = 'test-artifacts';

/** The inspector's Catalogue page in a real browser, against an api role with auth on. */
describe.skipIf(!executablePath)('inspector: the message catalogue', () => {
  let node: TestNode;
  let browser: Browser;

  beforeAll(async () => {
    mkdirSync(artifacts, { recursive: true });
    node = await startTestNode({
      roles: [{ kind: 'api' }],
      config: { auth: 'tokens', apiTokens: [{ name: 'reader', token: readToken, scope: 'read' }] },
    });
    browser = await chromium.launch({ executablePath: executablePath!, args: chromiumArgs });
  });
  afterAll(async () => {
    await browser?.close();
    await node?.destroy();
  });

  it('lists every channel with its version, senders, receivers and a collapsible schema', async () => {
    const errors: string[] = [];
    const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(`${node.api!.url}/ui?token=${readToken}#/catalogue`);
    await page.locator('h1', { hasText: 'Message catalogue' }).waitFor();
    const reserve = page.locator('[data-group="Commands"] tr[data-channel="cmd.inventory.reserve"]');
    await reserve.waitFor();
    expect(await reserve.innerText()).toMatch(/v\d+[\s\S]*orchestrator[\s\S]*service:inventory/);
    const schema = reserve.locator('details');
    expect(await schema.locator('pre').isVisible()).toBe(false);
    await schema.locator('summary').click();
    await expect.poll(() => schema.locator('pre').innerText()).toContain('"properties"');
    expect(
      await page.locator('[data-group="Dead letters"] tr[data-channel="dlq.svc-inventory"]').count(),
    ).toBe(1);
    expect(
      await page.locator('[data-group="Saga inputs"] tr[data-channel="order-fulfillment"]').count(),
    ).toBe(1);
    expect(await page.locator('[data-nav="catalogue"]').getAttribute('class')).toContain('active');
    // The search narrows the rows.
    await page.fill('input[type=search]', 'payment');
    await expect.poll(() => reserve.count()).toBe(0);
    await page.screenshot({ path: `${artifacts}/inspector-catalogue.png`, fullPage: true });
    await page.close();
    expect(errors).toEqual([]);
  });
});
