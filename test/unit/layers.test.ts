import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkCollectionOwners, checkLayers, formatViolation, readTree } from '../../scripts/check-layers.ts';

/** A synthetic runtime/: path relative to runtime/ -> source. */
const tree = (files: Record<string, string>) => new Map(Object.entries(files));

const messages = (files: Record<string, string>) =>
  [...checkLayers(tree(files)).violations, ...checkCollectionOwners(tree(files))].map(formatViolation);

describe('the layer check (scripts/check-layers.ts)', () => {
  it('fails on a store module importing http, naming both files and the rule', () => {
    const found = messages({
      'store/saga-store.ts': "import { problem } from '../http/problem.ts';\nexport const p = problem;\n",
      'http/problem.ts': 'export const problem = 1;\n',
    });
    expect(found).toHaveLength(1);
    expect(found[0]).toContain('runtime/store/saga-store.ts imports runtime/http/problem.ts');
    expect(found[0]).toContain('store (layer 2 "data") may not import http (layer 4 "http")');
  });

  it('counts type-only, re-exported and dynamic imports too', () => {
    const found = messages({
      'observability/a.ts':
        "import type { SagaStore } from '../store/index.ts';\nexport type S = SagaStore;\n",
      'observability/b.ts': "export { Bus } from '../messaging/index.ts';\n",
      'wire/c.ts': "export const load = () => import('../node.ts');\n",
      'store/index.ts': 'export class SagaStore {}\n',
      'messaging/index.ts': 'export class Bus {}\n',
      'node.ts': 'export const n = 1;\n',
    });
    expect(found).toEqual([
      expect.stringContaining('runtime/observability/a.ts imports runtime/store/index.ts'),
      expect.stringContaining('runtime/observability/b.ts imports runtime/messaging/index.ts'),
      expect.stringContaining('runtime/wire/c.ts imports runtime/node.ts'),
    ]);
  });

  it('lets a module import its own unit, lower layers and one-way siblings', () => {
    expect(
      messages({
        'orchestrator/a.ts':
          "import { b } from './b.ts';\nimport { H } from '../actors/h.ts';\nimport { S } from '../store/s.ts';\nexport const a = [b, H, S];\n",
        'orchestrator/b.ts': 'export const b = 1;\n',
        'actors/h.ts': "import { E } from '../errors.ts';\nexport const H = E;\n",
        'store/s.ts':
          "import type { Envelope } from '../wire/e.ts';\nexport const S = 1 as unknown as Envelope;\n",
        'wire/e.ts': 'export type Envelope = { id: string };\n',
        'errors.ts': 'export const E = 1;\n',
      }),
    ).toEqual([]);
  });

  it('fails on units of one layer importing each other, and on a module-level cycle', () => {
    const report = checkLayers(
      tree({
        'cli.ts': "export const run = () => import('./dev/server.ts');\n",
        'dev/server.ts': "import { run } from '../cli.ts';\nexport const r = run;\n",
      }),
    );
    expect(report.unitCycles).toEqual([['cli.ts', 'dev', 'cli.ts']]);
    expect(report.moduleCycles).toEqual([['runtime/cli.ts', 'runtime/dev/server.ts', 'runtime/cli.ts']]);
    expect(report.violations.map(formatViolation)).toEqual([
      expect.stringContaining('units import one another in a cycle cli.ts -> dev -> cli.ts'),
      expect.stringContaining(
        'modules import one another in a cycle runtime/cli.ts -> runtime/dev/server.ts',
      ),
    ]);
  });

  it('tolerates a cycle closed only by `import type`, and lists it', () => {
    const report = checkLayers(
      tree({
        'node.ts':
          "import { durables } from './permissions.ts';\nexport type Role = string;\nexport const d = durables;\n",
        'permissions.ts': "import type { Role } from './node.ts';\nexport const durables: Role[] = [];\n",
      }),
    );
    expect(report.violations).toEqual([]);
    expect(report.typeOnlyCycles).toEqual([['runtime/node.ts', 'runtime/permissions.ts', 'runtime/node.ts']]);
  });

  it('fails on a module in no layer and on an import from outside runtime/', () => {
    const found = messages({
      'gadgets/x.ts': "import { app } from '../../app.ts';\nexport const x = app;\n",
    });
    expect(found).toEqual([
      expect.stringContaining('gadgets is in no layer'),
      expect.stringContaining('runtime/gadgets/x.ts imports app.ts: the runtime imports nothing'),
    ]);
  });

  it("fails when a module other than the store reaches into the store's collections", () => {
    const found = messages({
      'http/list.ts':
        "import type { SagaStore } from '../store/s.ts';\nexport const list = (store: SagaStore) => store.sagas.find({});\n",
      'node.ts':
        "export const h = (db: { collection(n: string): unknown }) => db.collection('saga_history');\n",
      'store/s.ts': 'export class SagaStore { sagas = 1; }\n',
    });
    expect(found).toEqual([
      expect.stringContaining('runtime/http/list.ts reaches collection sagas: `store.sagas`: only store'),
      expect.stringContaining(
        "runtime/node.ts reaches collection saga_history: `db.collection('saga_history')`",
      ),
    ]);
  });

  it('passes on the real tree', async () => {
    const files = await readTree(fileURLToPath(new URL('../../runtime/', import.meta.url)));
    expect(files.size).toBeGreaterThan(50);
    const report = checkLayers(files);
    expect([...report.violations, ...checkCollectionOwners(files)].map(formatViolation)).toEqual([]);
    expect(report.moduleCycles).toEqual([]);
  });
});
