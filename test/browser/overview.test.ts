import { mkdirSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { order, startTestNode, type TestNode } from '../harness.ts';
import { chromiumArgs, chromiumPath } from './ensure-chromium.ts';

const executablePath = chromiumPath();
const readToken = 'overview-read-token-0123456789';
const writeToken = 'overview-write-token-0123456789';
const artifacts = 'test-artifacts';
const type = 'order-fulfillment';

/** The overview above the saga list, in a real browser, against known sagas (a fresh node: nothing else). */
describe.skipIf(!executablePath)('inspector overview', () => {
  let node: TestNode;
  let browser: Browser;
  const errors: string[] = [];
  let compensated: string[] = [];

  beforeAll(async () => {
    mkdirSync(artifacts, { recursive: true });
    node = await startTestNode({
      config: {
        auth: 'tokens',
        apiTokens: [
          { name: 'viewer', token: readToken, scope: 'read' },
          { name: 'starter', token: writeToken, scope: 'write' },
        ],
      },
    });
    browser = await chromium.launch({ executablePath: executablePath!, args: chromiumArgs });
    const start = async (body: unknown) => {
      const res = await node.post(`/v1/saga-types/${type}/sagas`, body, {
        Authorization: `Bearer ${writeToken}`,
      });
      expect(res.status).toBe(202);
      return ((await res.json()) as { sagaId: string }).sagaId;
    };
    const outOfStock = () => order({ items: [{ sku: 'SKU-OUT', qty: 1, unitPrice: 5 }] });
    const ids = await Promise.all([
      start(order()),
      start(order()),
      start(order()),
      start(outOfStock()),
      start(outOfStock()),
    ]);
    const docs = await Promise.all(ids.map((id) => node.waitForTerminal(id)));
    expect(docs.map((d) => d.status)).toEqual([
      'completed',
      'completed',
      'completed',
      'compensated',
      'compensated',
    ]);
    compensated = ids.slice(3);
  });
  afterAll(async () => {
    await browser?.close();
    await node?.destroy();
  });

  it('shows the counts, the chart, the durations and the top reason linking to its sagas (read scope)', async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('response', (res) => {
      if (new URL(res.url()).pathname.startsWith('/ui/') && res.status() >= 400)
        errors.push(`${res.status()} ${res.url()}`);
    });
    await page.goto(`${node.api!.url}/ui?token=${readToken}`);
    const overview = page.locator('#overview[data-loaded=true]');
    await overview.waitFor({ timeout: 15_000 });
    const count = (name: string) => overview.locator(`[data-count="${name}"] strong`).innerText();
    expect(await count('total')).toBe('5');
    expect(await count('completed')).toBe('3');
    expect(await count('compensated')).toBe('2');
    expect(await count('running')).toBe('0');
    expect(await count('dlq')).toBe('0');
    expect(await count('lag')).toMatch(/^\d+$/);
    // The chart: two lines over 60 buckets.
    expect(await overview.locator('svg.ov-chart path[data-series]').count()).toBe(2);
    expect(await overview.locator('h2', { hasText: 'Per minute' }).innerText()).toContain('5 started');
    const durations = overview.locator(`table.ov-durations tr[data-type="${type}"] td`);
    expect(await durations.allInnerTexts()).toEqual([type, '5', expect.any(String), expect.any(String)]);
    // The top reason, its count, and its link to the matching sagas.
    const reasons = overview.locator('ol.ov-reasons > li');
    expect(await reasons.count()).toBe(1);
    expect(await reasons.first().getAttribute('data-reason')).toBe('out-of-stock');
    expect(await reasons.first().innerText()).toContain('× 2');
    const link = reasons.first().locator('a');
    expect(await link.getAttribute('href')).toBe(`#/?type=${type}&status=compensated`);
    await page.screenshot({ path: `${artifacts}/inspector-overview.png` });
    await link.click();
    // The list shows exactly the compensated sagas, its filter chip on.
    await page.locator('[data-filter-status="compensated"].on').waitFor();
    await expect
      .poll(async () =>
        (
          await page
            .locator('tr[data-saga]')
            .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-saga')))
        ).sort(),
      )
      .toEqual([...compensated].sort());
    expect(await page.locator('select[name=type]').inputValue()).toBe(type);
    await page.close();
    expect(errors).toEqual([]);
  });
});
