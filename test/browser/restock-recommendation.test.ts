import { mkdirSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outboxSettled, startTestNode, type TestNode } from '../harness.ts';
import { chromiumArgs, chromiumPath } from './ensure-chromium.ts';

const executablePath = chromiumPath();
const artifacts = 'test-artifacts';

/**
 * A restock saga started from the restock agent's recommendation shows, on its start in the
 * timeline, why it was ordered: the reasons and the model, as a fraud verdict shows its reasons.
 */
describe.skipIf(!executablePath)('inspector: a restock saga shows its recommendation', () => {
  let node: TestNode;
  let browser: Browser;
  const errors: string[] = [];

  beforeAll(async () => {
    mkdirSync(artifacts, { recursive: true });
    node = await startTestNode();
    browser = await chromium.launch({ executablePath: executablePath!, args: chromiumArgs });
  });
  afterAll(async () => {
    await browser?.close();
    await node?.destroy();
  });

  it("the start of the saga's timeline lists the recommendation's reasons and its model", async () => {
    const reasons = [
      'lead time 3 days: 33.2 units expected before an order placed today arrives',
      'stock position 4 (on hand + on order) is at or below the reorder point 36.23',
      'weekly pattern: busiest Sat (x1.41), quietest Tue (x0.83)',
    ];
    // What the agent sends (services/restock-agent), here through the API.
    const res = await node.post('/v1/saga-types/restock/sagas', {
      sku: 'SKU-4',
      qty: 30,
      unitCost: 1,
      supplier: 'acme',
      leadTimeMs: 60_000,
      recommendationId: 'rec-browser',
      recommendation: { reasons, reorderPoint: 36.23, modelVersion: 'hw-sba-1.test' },
    });
    expect(res.status).toBe(202);
    const { sagaId } = (await res.json()) as { sagaId: string };
    await node.waitForTerminal(sagaId);
    await node.waitFor(sagaId, outboxSettled);

    const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(`${node.api!.url}/ui#/sagas/${sagaId}`);
    const start = page.locator('.tl-item', { hasText: 'recommended' }).first();
    await start.waitFor();
    expect(await start.locator('ul.reasons li').allTextContents()).toEqual(reasons);
    expect(await start.textContent()).toContain('model hw-sba-1.test');
    await page.screenshot({ path: `${artifacts}/restock-recommendation.png` });
    expect(errors).toEqual([]);
  });
});
