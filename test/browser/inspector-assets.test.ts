import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Bus } from '../../runtime/messaging/index.ts';
import { SagaRegistry } from '../../runtime/orchestrator/index.ts';
import type { SagaStore } from '../../runtime/store/index.ts';
import { createApp, openApiDocument } from '../../runtime/http/app.ts';

const uiDir = join(import.meta.dirname, '../../runtime/http/ui');

/** Throws on any use: serving the inspector's files touches neither the store nor the bus. */
const unreachable = <T>(name: string): T =>
  new Proxy({} as object, {
    get: (_t, prop) => {
      throw new Error(`${name}.${String(prop)} must not be reached`);
    },
  }) as T;

/** With auth on: the inspector's files need no token (the inspector asks for one itself). */
const app = createApp({
  store: unreachable<SagaStore>('store'),
  bus: unreachable<Bus>('bus'),
  registry: new SagaRegistry(),
  log: pino({ level: 'silent' }),
  auth: {
    mode: 'tokens',
    tokens: [{ name: 'reader', token: 'inspector-read-token-0123456789', scope: 'read' }],
  },
  probes: { nats: async () => true, mongo: async () => true },
});

/** The relative imports of a module: `import … from './x.js'`. */
const importsOf = (source: string) =>
  [...source.matchAll(/^\s*(?:import|export)\b[^'"]*?\bfrom\s+'(\.\/[^']+)'/gm)].map((m) => m[1]!);

/** The inspector's files as a browser gets them: `/ui/{asset}` from runtime/http/ui. */
describe('inspector assets', () => {
  it('serves every module of the ui folder as JavaScript, without a token', async () => {
    const modules = readdirSync(uiDir).filter((name) => name.endsWith('.js'));
    expect(modules).toEqual(expect.arrayContaining(['app.js', 'api.js', 'statechart.js']));
    for (const name of modules) {
      const res = await app.request(`/ui/${name}`);
      expect(res.status, name).toBe(200);
      expect(res.headers.get('content-type'), name).toBe('text/javascript; charset=utf-8');
      expect(res.headers.get('x-content-type-options'), name).toBe('nosniff');
      expect(await res.text(), name).toBe(readFileSync(join(uiDir, name), 'utf8'));
    }
  });

  it('serves every module app.js imports, directly or not, so the page loads whole', async () => {
    const seen = new Set<string>();
    const pending = ['app.js'];
    for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
      if (seen.has(name)) continue;
      seen.add(name);
      const res = await app.request(`/ui/${name}`);
      expect(res.status, name).toBe(200);
      pending.push(...importsOf(await res.text()).map((path) => path.slice(2)));
    }
    expect([...seen]).toEqual(expect.arrayContaining(['api.js', 'saga-page.js', 'statechart.js']));
  });

  it('serves the page, its styles, its icon and dagre with their types', async () => {
    for (const [path, type] of [
      ['/ui', 'text/html; charset=utf-8'],
      ['/ui/app.css', 'text/css; charset=utf-8'],
      ['/ui/favicon.svg', 'image/svg+xml'],
      ['/ui/dagre.js', 'text/javascript; charset=utf-8'],
      ['/docs', 'text/html; charset=utf-8'],
      ['/docs/init.js', 'text/javascript; charset=utf-8'],
    ] as const) {
      const res = await app.request(path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type'), path).toBe(type);
    }
    const page = await (await app.request('/ui')).text();
    expect(page).toContain('<script type="module" src="/ui/app.js"></script>');
  });

  it('serves nothing else: not its config, not another folder, not a name it does not hold', async () => {
    for (const path of [
      '/ui/tsconfig.json',
      '/ui/index.html',
      '/ui/nope.js',
      '/ui/..%2Fstatic-routes.ts',
      '/ui/%2e%2e%2fstatic-routes.ts',
      '/ui/..%2F..%2F..%2Fpackage.json',
      '/ui/app.js%00.css',
      '/ui/APP.JS',
    ]) {
      const res = await app.request(path);
      expect(res.status, path).toBe(404);
      expect(res.headers.get('content-type'), path).toBe('application/problem+json');
    }
    for (const path of ['/ui/../http/static-routes.ts', '/ui/a/app.js']) {
      expect((await app.request(path)).status, path).not.toBe(200);
    }
  });

  it('is documented as /ui/{asset}', () => {
    const doc = openApiDocument(app) as unknown as {
      paths: Record<string, { get?: { operationId?: string } }>;
    };
    expect(doc.paths['/ui/{asset}']?.get?.operationId).toBe('inspectorAsset');
  });
});
