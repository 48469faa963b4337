import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../cluster.ts';

/**
 * `jetsaga <command> | reader`: the CLI's output arrives whole through a pipe whose reader is slow
 * to start (it writes through, runtime/process-io.ts writeOut, before it exits), as `jetsaga openapi
 * > api.json` or `| jq` in a script would see it.
 */
async function throughSlowPipe(
  args: readonly string[],
): Promise<{ code: number | null; out: string; err: string }> {
  // A real shell pipe; the reader reads nothing for a second. pipefail: the CLI's exit status counts.
  const cli = ['node', '--import', 'tsx', 'bin/jetsaga.ts', ...args].join(' ');
  const pipe = spawn('bash', ['-o', 'pipefail', '-c', `${cli} | { sleep 1; exec cat; }`], {
    cwd: repoRoot,
    env: { PATH: `${path.dirname(process.execPath)}:${process.env.PATH}`, HOME: process.env.HOME },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  pipe.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  pipe.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const code = await new Promise<number | null>((resolve, reject) => {
    pipe.once('error', reject);
    pipe.once('close', (c) => resolve(c));
  });
  return { code, out, err };
}

describe('the CLI through a slow pipe', () => {
  it('`jetsaga openapi` delivers the whole document', async () => {
    const { code, out, err } = await throughSlowPipe(['openapi']);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out.endsWith('}\n')).toBe(true);
    const doc = JSON.parse(out) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toMatch(/^3\.1/);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/healthz', '/readyz', '/metrics', '/v1/saga-types/order-fulfillment/sagas']),
    );
  });

  it('`jetsaga help` delivers the usage and every option', async () => {
    const { code, out, err } = await throughSlowPipe(['help']);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toContain('Options (flag, env var, meaning, default):');
    // The last row of the table, so the end arrived too.
    expect(out).toContain('JETSAGA_SHUTDOWN_TIMEOUT_MS');
    expect(out).toContain('--ops-port');
    expect(out).toContain('JETSAGA_OPS_HOST');
  });
});
