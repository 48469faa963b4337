// Renders a kustomize overlay offline and remembers which source file each object came from, so that a
// finding names the file to edit rather than the rendered stream.
import { appendFile, cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { run, tailLines } from '../../runtime/dev/exec.ts';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

export interface Located {
  obj: K8sObject;
  /** Repository-relative file that defined (or generated) the object. */
  file: string;
}

export type Rendered = { ok: true; objects: Located[] } | { ok: false; error: string };

const ORIGIN = 'config.kubernetes.io/origin';

/**
 * `kustomize build` of `<k8sDir>/overlays/<overlay>` on a temporary copy whose overlay asks kustomize for
 * origin annotations; the annotations are read and removed again.
 */
export async function renderOverlay(
  kustomize: string,
  root: string,
  k8sDir: string,
  overlay: string,
  /** Components (`<k8sDir>/components/<name>`) to build the overlay with, as if it listed them. */
  components: readonly string[] = [],
): Promise<Rendered> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'jetsaga-deploy-check-'));
  try {
    await cp(path.join(root, k8sDir), path.join(tmp, 'k8s'), { recursive: true });
    const overlayDir = path.join(tmp, 'k8s', 'overlays', overlay);
    const kustomization = path.join(overlayDir, 'kustomization.yaml');
    const current = parse(await readFile(kustomization, 'utf8')) as {
      buildMetadata?: unknown;
      components?: string[];
    } | null;
    if (components.length > 0 && current) {
      const wanted = components.map((c) => `../../components/${c}`);
      current.components = [...new Set([...(current.components ?? []), ...wanted])];
      current.buildMetadata ??= ['originAnnotations'];
      await writeFile(kustomization, stringify(current));
    } else if (!current?.buildMetadata)
      await appendFile(kustomization, '\nbuildMetadata: [originAnnotations]\n');
    const result = await run(kustomize, ['build', overlayDir]);
    if (result.code !== 0) return { ok: false, error: tailLines(result.stderr || result.stdout, 10) };
    const base = path.join(k8sDir, 'overlays', overlay);
    const objects = parseAllDocuments(result.stdout)
      .map((doc) => doc.toJS() as K8sObject | null)
      .filter((obj): obj is K8sObject => obj !== null && typeof obj === 'object')
      .map((obj) => ({ obj: unwrapSecretData(obj), file: originFile(obj, base) }));
    return { ok: true, objects };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** kustomize wraps long base64 values over lines; the API server's decoder skips the newlines, so do we. */
function unwrapSecretData(obj: K8sObject): K8sObject {
  if (obj.kind === 'Secret' && obj.data && typeof obj.data === 'object') {
    const data = obj.data as Record<string, string>;
    for (const key of Object.keys(data)) data[key] = String(data[key]).replace(/\s+/g, '');
  }
  return obj;
}

function originFile(obj: K8sObject, overlayPath: string): string {
  const annotations = obj.metadata?.annotations;
  const origin = annotations?.[ORIGIN];
  if (!annotations || origin === undefined) return path.join(overlayPath, 'kustomization.yaml');
  delete annotations[ORIGIN];
  if (Object.keys(annotations).length === 0) delete obj.metadata.annotations;
  const parsed = parse(origin) as { path?: string; configuredIn?: string } | null;
  const relative = parsed?.path ?? parsed?.configuredIn ?? 'kustomization.yaml';
  return path.normalize(path.join(overlayPath, relative));
}

export async function overlaysOf(root: string, k8sDir: string, dir = 'overlays'): Promise<string[]> {
  const entries = await readdir(path.join(root, k8sDir, dir), { withFileTypes: true }).catch(
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' && dir !== 'overlays') return [];
      throw err;
    },
  );
  return entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

/** `*.example.yaml` beside an overlay: objects created out of band (secrets), documented and checked. */
export async function examplesOf(root: string, dir: string): Promise<Located[]> {
  const files = (await readdir(path.join(root, dir))).filter((f) => f.endsWith('.example.yaml')).sort();
  const out: Located[] = [];
  for (const file of files) {
    const text = await readFile(path.join(root, dir, file), 'utf8');
    for (const doc of parseAllDocuments(text)) {
      const obj = doc.toJS() as K8sObject | null;
      if (obj && typeof obj === 'object') out.push({ obj, file: path.join(dir, file) });
    }
  }
  return out;
}
