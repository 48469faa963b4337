import { mkdirSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fraudAgent } from '../../services/fraud-agent/index.ts';
import { appForTests } from '../dist.ts';
import { order, startTestNode, type TestNode } from '../harness.ts';
import { chromiumArgs, chromiumPath } from './ensure-chromium.ts';

const executablePath = chromiumPath();
const writeToken = 'reviews-write-token-0123456789';
const readToken = 'reviews-read-token-01234567890';
const artifacts = 'test-artifacts';

/**
 * The Reviews view in a real browser: the fraud agent's review band is the whole score range, so
 * every order waits for a person; alice (a write token) approves one from the queue.
 */
describe.skipIf(!executablePath)('inspector: the Reviews view', () => {
  let node: TestNode;
  let browser: Browser;
  const errors: string[] = [];

  beforeAll(async () => {
    mkdirSync(artifacts, { recursive: true });
    node = await startTestNode({
      dist: {
        ...appForTests,
        reactors: { ...appForTests.reactors, 'fraud-agent': fraudAgent({ reviewBand: [0, 1] }) },
      },
      config: {
        auth: 'tokens',
        apiTokens: [
          { name: 'alice', token: writeToken, scope: 'write' },
          { name: 'viewer', token: readToken, scope: 'read' },
        ],
        ssePollMs: 100,
      },
    });
    browser = await chromium.launch({ executablePath: executablePath!, args: chromiumArgs });
  });
  afterAll(async () => {
    await browser?.close();
    await node?.destroy();
  });

  const customer = {
    customerId: 'cust-grey-7',
    customer: { createdAt: '2026-11-30T09:00:00Z', email: 'grey@example.com', ipCountry: 'GB' },
  };
  async function start(orderId: string, unitPrice: number): Promise<string> {
    const res = await node.post(
      '/v1/saga-types/order-fulfillment/sagas',
      order({ orderId, ...customer, items: [{ sku: 'SKU-3', qty: 1, unitPrice }] }),
      { Authorization: `Bearer ${writeToken}` },
    );
    expect(res.status).toBe(202);
    const { sagaId } = (await res.json()) as { sagaId: string };
    await node.waitFor(sagaId, (d) => d.state === 'reviewing');
    return sagaId;
  }
  async function openPage(token: string, hash: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('response', (res) => {
      if (new URL(res.url()).pathname.startsWith('/ui/') && res.status() >= 400)
        errors.push(`${res.status()} ${res.url()}`);
    });
    await page.goto(`${node.api!.url}/ui?token=${token}${hash}`);
    return page;
  }

  it('lists the waiting orders oldest first; Approve sends the signal; the timeline says who and why', async () => {
    const older = await start('grey-1001', 120);
    const newer = await start('grey-1002', 480);

    const page = await openPage(writeToken, '#/reviews');
    const cards = page.locator('article.review');
    await expect
      .poll(() => cards.evaluateAll((els) => els.map((e) => e.getAttribute('data-saga'))))
      .toEqual([older, newer]);
    const card = page.locator(`article.review[data-saga="${newer}"]`);
    // Amount, score, threshold, reasons and the customer's earlier payment (the first order).
    await expect.poll(() => card.innerText()).toContain('$480.00');
    const text = await card.innerText();
    expect(text).toMatch(/score 0\.\d{3}/);
    expect(text).toMatch(/threshold 0\.\d+/);
    expect(text).toContain('a person decides');
    expect(text).toContain('$120.00');
    expect(text).toContain('same card');
    await page.screenshot({ path: `${artifacts}/reviews.png`, fullPage: true });

    await card.locator('textarea[name=note]').fill('Called the customer: a gift for a colleague');
    await card.locator('button', { hasText: 'Approve' }).click();
    await card.waitFor({ state: 'detached' });
    const doc = await node.waitForTerminal(newer);
    expect(doc.status).toBe('completed');

    await page.close();

    // A fresh page: the decision's toast would cover the timeline in the screenshot.
    const sagaPage = await openPage(writeToken, `#/sagas/${encodeURIComponent(newer)}`);
    const step = sagaPage.locator('#timeline li', { hasText: 'saga.signal.approve-review' });
    await expect
      .poll(() => step.innerText())
      .toContain('approved by alice: Called the customer: a gift for a colleague');
    await sagaPage.locator('#timeline li', { hasText: 'inventory.committed' }).waitFor();
    await sagaPage.screenshot({ path: `${artifacts}/reviews-timeline.png`, fullPage: true });
    await step.screenshot({ path: `${artifacts}/reviews-decision.png` });
    await sagaPage.close();
  });

  it('a read token sees the queue with the buttons disabled', async () => {
    const page = await openPage(readToken, '#/reviews');
    const card = page.locator('article.review').first();
    await card.waitFor();
    expect(await card.locator('button', { hasText: 'Approve' }).isDisabled()).toBe(true);
    expect(await card.locator('button', { hasText: 'Reject' }).isDisabled()).toBe(true);
    await expect.poll(() => page.locator('#view').innerText()).toContain('Signed in as viewer (read scope)');
    await page.close();
    expect(errors).toEqual([]);
  });
});
