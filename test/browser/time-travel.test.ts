import { mkdirSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { order, outboxSettled, startTestNode, type TestNode } from '../harness.ts';
import { chromiumArgs, chromiumPath } from './ensure-chromium.ts';

const executablePath = chromiumPath();
const artifacts = 'test-artifacts';

interface Step {
  rev: number;
  to: string | null;
  event: { type: string };
  context?: unknown;
  commands: Array<{ type: string }>;
}

/** Time travel on a saga's page, in a real browser (Debian's Chromium), against a real node. */
describe.skipIf(!executablePath)('inspector time travel', () => {
  let node: TestNode;
  let browser: Browser;
  const errors: string[] = [];

  beforeAll(async () => {
    mkdirSync(artifacts, { recursive: true });
    node = await startTestNode({ config: { ssePollMs: 100 } });
    browser = await chromium.launch({ executablePath: executablePath!, args: chromiumArgs });
  });
  afterAll(async () => {
    await browser?.close();
    await node?.destroy();
  });

  async function openPage(path: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1440, height: 1100 } });
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('response', (res) => {
      if (new URL(res.url()).pathname.startsWith('/ui/') && res.status() >= 400)
        errors.push(`${res.status()} ${res.url()}`);
    });
    await page.goto(`${node.api!.url}${path}`);
    return page;
  }

  const highlighted = (page: Page) =>
    page.locator('#statechart g.sc-node.current').getAttribute('data-state');
  const chosen = (page: Page) => page.locator('#time-travel').getAttribute('data-rev');

  it("moves the statechart's highlighted state back and forth through a compensated order's history", async () => {
    const res = await node.post(
      '/v1/saga-types/order-fulfillment/sagas',
      order({ payment: { token: 'tok_declined' } }),
    );
    const { sagaId } = (await res.json()) as { sagaId: string };
    await node.waitForTerminal(sagaId);
    await node.waitFor(sagaId, outboxSettled);
    const history = (await (await node.fetch(`/v1/sagas/${sagaId}/history`)).json()) as Step[];
    const newest = history.at(-1)!;
    expect(newest.to).toBe('compensated');
    const toAt = (rev: number) => history.find((h) => h.rev === rev)!.to;

    const page = await openPage(`/ui#/sagas/${sagaId}`);
    await page.locator('.page-head .pill[data-status="compensated"]').waitFor();
    await expect.poll(() => highlighted(page)).toBe('compensated');
    expect(await chosen(page)).toBe('now');

    // One step back from now: the revision before the newest.
    await page.keyboard.press('ArrowLeft');
    await expect.poll(() => chosen(page)).toBe(String(newest.rev - 1));
    expect(await highlighted(page)).toBe(toAt(newest.rev - 1));
    // Home: the first transition, the saga's first state.
    await page.keyboard.press('Home');
    await expect.poll(() => chosen(page)).toBe('1');
    expect(await highlighted(page)).toBe('reservingInventory');
    expect(await page.locator('#statechart g.sc-node.visited').count()).toBe(1);
    // Forward through every revision: the chart follows each recorded state.
    for (let rev = 2; rev <= newest.rev; rev++) {
      await page.keyboard.press('ArrowRight');
      await expect.poll(() => chosen(page)).toBe(String(rev));
      expect(await highlighted(page)).toBe(toAt(rev));
      expect(await page.locator('#travel-state').innerText()).toBe(toAt(rev));
      expect(await page.locator(`#timeline > li.travel-at[data-rev="${rev}"]`).count()).toBe(1);
    }
    // The compensation step: its commands, and the context after it as recorded.
    const compensating = history.find((h) => h.to === 'compensating.releasingInventory')!;
    await page.locator(`#timeline > li[data-rev="${compensating.rev}"] .tl-move`).click();
    await expect.poll(() => chosen(page)).toBe(String(compensating.rev));
    expect(await highlighted(page)).toBe('compensating.releasingInventory');
    const details = page.locator('#travel-details');
    expect(await details.locator('.cmd').allInnerTexts()).toEqual(compensating.commands.map((c) => c.type));
    const context = compensating.context as { reason: string };
    expect(context.reason).toContain('payment-declined');
    expect(await details.locator('pre.json').last().innerText()).toContain(context.reason);
    await page.screenshot({ path: `${artifacts}/time-travel.png` });
    await page.screenshot({ path: `${artifacts}/time-travel-full.png`, fullPage: true });

    // Back with the button, then Esc: now again.
    await page.locator('#time-travel button', { hasText: '◀' }).click();
    await expect.poll(() => chosen(page)).toBe(String(compensating.rev - 1));
    expect(await highlighted(page)).toBe(toAt(compensating.rev - 1));
    await page.keyboard.press('Escape');
    await expect.poll(() => chosen(page)).toBe('now');
    expect(await highlighted(page)).toBe('compensated');
    expect(await page.locator('#timeline > li.travel-at').count()).toBe(0);
    await page.close();
    expect(errors).toEqual([]);
  });

  it('shows the context replayed through the definition for steps recorded without one', async () => {
    const res = await node.post(
      '/v1/saga-types/order-fulfillment/sagas',
      order({ payment: { token: 'tok_declined' } }),
    );
    const { sagaId } = (await res.json()) as { sagaId: string };
    await node.waitForTerminal(sagaId);
    await node.waitFor(sagaId, outboxSettled);
    const history = (await (await node.fetch(`/v1/sagas/${sagaId}/history`)).json()) as Step[];
    // As entries written before jetsaga recorded contexts.
    await node.store.sagas.updateOne(
      { _id: sagaId },
      { $unset: Object.fromEntries(history.map((h) => [`history.${h.rev}.context`, ''])) },
    );
    const page = await openPage(`/ui#/sagas/${sagaId}`);
    await page.locator('.page-head .pill[data-status="compensated"]').waitFor();
    await page.keyboard.press('ArrowLeft');
    const replayed = page.locator('#travel-details .travel-replayed');
    await expect.poll(() => replayed.innerText()).toContain("as replayed through this build's definition");
    const context = history.at(-2)!.context as { reason: string };
    expect(await replayed.locator('pre.json').innerText()).toContain(context.reason);
    await page.close();
    expect(errors).toEqual([]);
  });
});
