// SLOW TEST (about 1 to 2 minutes): runs the benchmark harness, `npm run bench -- --quick`, as a child
// against the test run's servers, to keep the harness alive in CI. It checks only the shape of the
// result line, never a timing: figures depend on the machine and on what else runs on it.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const keys = [
  'sagasPerSec',
  'p50Ms',
  'p99Ms',
  'efficiency',
  'rawPublishPerSec',
  'rawStoreOpsPerSec',
  'rssMbPer100kPassivated',
];

describe('bench harness (slow: runs the quick benchmark, 1-2 min)', () => {
  it('prints one JSON object with the summary figures as its last line', { timeout: 240_000 }, async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'jetsaga-bench-test-'));
    const out = path.join(dir, 'result.json');
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/bench.ts', '--quick', '--out', out], {
      cwd: root,
      env: { ...process.env, NATS_URL: inject('natsUrl'), MONGO_URL: inject('mongoUrl') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    await new Promise<void>((resolve) => child.once('exit', () => resolve()));
    rmSync(dir, { recursive: true, force: true });
    const last = stdout.trimEnd().split('\n').at(-1) ?? '';
    let summary: Record<string, unknown>;
    try {
      summary = JSON.parse(last) as Record<string, unknown>;
    } catch {
      throw new Error(`last line is not JSON: ${last}\n--- stderr tail:\n${stderr.slice(-3000)}`);
    }
    for (const key of keys) {
      expect(summary, `${key} missing; stderr tail:\n${stderr.slice(-3000)}`).toHaveProperty(key);
      const v = summary[key];
      expect(v === null || (typeof v === 'number' && Number.isFinite(v)), `${key} = ${String(v)}`).toBe(true);
    }
  });
});
