import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { NotFoundError } from '../errors.ts';
import { problemResponses } from './openapi-util.ts';

const require = createRequire(import.meta.url);
const uiDir = join(dirname(fileURLToPath(import.meta.url)), 'ui');
const packageDir = (name: string) => dirname(require.resolve(`${name}/package.json`));

const types: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  png: 'image/png',
  svg: 'image/svg+xml',
};

/**
 * Files served from disk, read once: no build step, no CDN, nothing fetched at run time. The
 * inspector's own scripts, styles and images are not listed here: see `uiAsset`.
 */
const files: Record<string, () => string> = {
  '/ui': () => join(uiDir, 'index.html'),
  '/ui/dagre.js': () => join(packageDir('@dagrejs/dagre'), 'dist', 'dagre.min.js'),
  '/docs': () => join(uiDir, 'docs.html'),
  '/docs/swagger-ui.css': () => join(packageDir('swagger-ui-dist'), 'swagger-ui.css'),
  '/docs/swagger-ui-bundle.js': () => join(packageDir('swagger-ui-dist'), 'swagger-ui-bundle.js'),
  '/docs/init.js': () => join(uiDir, 'docs-init.js'),
};

/** What `/ui/{asset}` serves of the ui folder: the inspector's modules, styles and images. */
const uiAssetTypes = new Set(['js', 'css', 'svg', 'png']);
let uiAssets: Promise<Set<string>> | undefined;

/**
 * The path of `/ui/<name>` when `<name>` is one of the files the ui folder holds (listed once,
 * like the files are read once), so new modules are served as they are added, and a name that
 * is not exactly one of them (`..`, a folder, `tsconfig.json`) never reaches the file system.
 */
async function uiAsset(route: string): Promise<string | undefined> {
  const name = /^\/ui\/([^/]+)$/.exec(route)?.[1];
  if (!name) return undefined;
  if (!uiAssets) {
    const listing = readdir(uiDir, { withFileTypes: true }).then(
      (entries) =>
        new Set(
          entries
            .filter((e) => e.isFile() && uiAssetTypes.has(e.name.split('.').pop() ?? ''))
            .map((e) => e.name),
        ),
    );
    uiAssets = listing;
    listing.catch(() => {
      if (uiAssets === listing) uiAssets = undefined;
    });
  }
  return (await uiAssets).has(name) ? join(uiDir, name) : undefined;
}

const cache = new Map<string, Promise<Buffer>>();

async function serve(c: Context, route: string): Promise<Response> {
  let body = cache.get(route);
  if (!body) {
    const path = files[route]?.() ?? (await uiAsset(route));
    if (!path) throw new NotFoundError(`no file ${route}`);
    body = cache.get(route) ?? readFile(path);
    cache.set(route, body);
    body.catch(() => cache.delete(route));
  }
  const ext = route === '/ui' || route === '/docs' ? 'html' : (route.split('.').pop() ?? '');
  return c.body(new Uint8Array(await body), 200, {
    'Content-Type': types[ext] ?? 'application/octet-stream',
    'Cache-Control': 'no-cache',
    'X-Content-Type-Options': 'nosniff',
  });
}

const html = (description: string) => ({
  200: { description, content: { 'text/html': { schema: z.string() } } },
});

/** The inspector (`/ui`) and the API docs (`/docs`): pages without data, so they need no token. */
export function registerStaticRoutes(app: OpenAPIHono): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/ui',
      tags: ['pages'],
      operationId: 'inspector',
      summary: 'The saga inspector (a web page; it asks for a token when the API needs one)',
      description:
        "The saga inspector, a web page on this API: the sagas, their statecharts and histories, time travel through a saga's steps, the dead letters. When the API needs a token, the page asks for one and keeps it for the browser tab's session only.",
      security: [],
      responses: html('the inspector'),
    }),
    (c) => serve(c, '/ui') as never,
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/',
      tags: ['pages'],
      operationId: 'home',
      summary: 'Redirects to the inspector',
      description: 'Redirects to the inspector at `/ui`.',
      security: [],
      responses: { 302: { description: 'to /ui' } },
    }),
    (c) => c.redirect('/ui', 302),
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/ui/{asset}',
      tags: ['pages'],
      operationId: 'inspectorAsset',
      summary: 'Scripts (ES modules), styles and images of the inspector',
      description:
        'A file of the inspector page, served from the package. An unknown file is a 404 for anyone, with or without a token.',
      security: [],
      request: { params: z.object({ asset: z.string().openapi({ param: { name: 'asset', in: 'path' } }) }) },
      responses: { 200: { description: 'the file' }, ...problemResponses(404) },
    }),
    (c) => serve(c, c.req.path) as never,
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/docs',
      tags: ['pages'],
      operationId: 'apiDocs',
      summary: 'Interactive API documentation of this document (Swagger UI, served locally)',
      description:
        'This document in Swagger UI, served from the package (nothing is loaded from elsewhere). Its calls need a token (Authorize) when the API needs one.',
      security: [],
      responses: html('the docs page'),
    }),
    (c) => serve(c, '/docs') as never,
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/docs/{asset}',
      tags: ['pages'],
      operationId: 'apiDocsAsset',
      summary: 'Scripts and styles of the docs page',
      description:
        'A file of the docs page, served from the package. An unknown file is a 404 for anyone, with or without a token.',
      security: [],
      request: { params: z.object({ asset: z.string().openapi({ param: { name: 'asset', in: 'path' } }) }) },
      responses: { 200: { description: 'the file' }, ...problemResponses(404) },
    }),
    (c) => serve(c, c.req.path) as never,
  );
}
