import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../runtime/config.ts';
import { schemathesisPath } from '../api-fuzz/ensure-schemathesis.ts';
import { useTestNode } from '../harness.ts';

/**
 * The API fuzzed over its own OpenAPI document with Schemathesis, as someone outside the team
 * would: every operation, schema-valid and schema-violating requests, the stateful phase following
 * the document's links from a start to the saga it made. Passes when the API and the document
 * agree: no 5xx, no schema-valid request rejected, no invalid one accepted, every answer as
 * documented. The exceptions OpenAPI cannot state are in test/api-fuzz (a reused Idempotency-Key is
 * a 422; an order's and a trip's total is capped). The seed is fixed, so a failure reproduces.
 */
const st = schemathesisPath();
const run = promisify(execFile);
const token = 'fuzz-admin-token-0123456789';
const readToken = 'fuzz-read-token-0123456789';

interface Report {
  failures: Array<{ code: string; title: string; operations: string[] }>;
  errors: Array<{ title: string; count: number }>;
  operations: { tested: number };
  test_cases: { generated: number };
}

describe.skipIf(!st && !process.env.CI)('API fuzzing over the OpenAPI document (Schemathesis)', () => {
  const node = useTestNode({
    config: {
      auth: 'tokens',
      apiTokens: [
        { name: 'fuzz', token, scope: 'admin' },
        { name: 'reader', token: readToken, scope: 'read' },
      ] as unknown as Config['apiTokens'],
    },
  });
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'jetsaga-fuzz-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true, maxRetries: 5 });
  });

  interface Pass {
    bearer: string;
    seed: number;
    examples: number;
    minCases: number;
    minOperations: number;
    /** Extra arguments: a phase, a subset of the paths. */
    args?: string[];
  }

  /**
   * One Schemathesis run; asserts it found nothing and ran what it should. Returns its output (the
   * summary names what the JSON report does not, such as the links the stateful phase followed).
   */
  async function fuzz({
    bearer,
    seed,
    examples,
    minCases,
    minOperations,
    args: extra = [],
  }: Pass): Promise<string> {
    // Under CI, a missing fuzzer is a failure, not a skip (npm test installs it first).
    expect(st, 'Schemathesis is not installed: run tsx test/api-fuzz/ensure-schemathesis.ts').not.toBeNull();
    const reportPath = join(dir, `report-${seed}.json`);
    const args = [
      '--config-file',
      resolve('test/api-fuzz/schemathesis.toml'),
      'run',
      `${node().api!.url}/openapi.json`,
      '--checks',
      'all',
      '--seed',
      String(seed),
      '--max-examples',
      String(examples),
      '--workers',
      '2',
      // Generous: beside the rest of the suite the API can take seconds to answer; slowness is not
      // what this test is about.
      '--request-timeout',
      '30',
      '--header',
      `Authorization: Bearer ${bearer}`,
      '--report-json-path',
      reportPath,
      '--no-color',
      '--output-truncate',
      'true',
      ...extra,
    ];
    const out = await run(st!, args, {
      // Run from the temporary directory: Schemathesis keeps its crash files under the working one.
      cwd: dir,
      env: { ...process.env, SCHEMATHESIS_HOOKS: 'hooks', PYTHONPATH: resolve('test/api-fuzz') },
      maxBuffer: 64 * 1024 * 1024,
      timeout: 360_000,
    }).catch((err: { stdout?: string; code?: number }) => ({ stdout: err.stdout ?? '', code: err.code }));
    const report = JSON.parse(await readFile(reportPath, 'utf8')) as Report;
    const failures = out.stdout.slice(out.stdout.lastIndexOf('= FAILURES =')).slice(0, 20_000);
    expect(report.operations.tested).toBeGreaterThanOrEqual(minOperations);
    expect(report.test_cases.generated).toBeGreaterThan(minCases);
    // On a failure, the run's own output names each case and how to replay it.
    expect(report.failures, failures).toEqual([]);
    // "Runtime Error" is the fuzzer's own (a Hypothesis internal); a network error or a timeout is
    // the API's.
    expect(
      report.errors.filter((e) => e.title !== 'Runtime Error'),
      out.stdout.slice(-20_000),
    ).toEqual([]);
    return out.stdout;
  }

  // Each some 40 s (the second 20) alone; several times that beside the rest of the suite on two cores.
  it(
    'finds no disagreement between the API and its document (admin token)',
    () => fuzz({ bearer: token, seed: 20261207, examples: 60, minCases: 2000, minOperations: 26 }),
    400_000,
  );

  it(
    'nor with a read token: every operation above it answers the documented 403',
    () => fuzz({ bearer: readToken, seed: 20261208, examples: 20, minCases: 500, minOperations: 26 }),
    400_000,
  );

  // Over the whole document the stateful phase spends its scenarios on the dead letters' links
  // (inferred from their paths) and follows none from a start; over the sagas' paths alone it
  // starts sagas and follows the start's links: read the saga and its history, signal it, cancel it.
  it('and in sequences that follow the links from a start to the saga it made', async () => {
    const out = await fuzz({
      bearer: token,
      seed: 20261209,
      examples: 60,
      minCases: 50,
      minOperations: 10,
      args: ['--phases', 'stateful', '--include-path-regex', '^/v1/(saga-types|sagas)(/|$)'],
    });
    const covered = /API Links:\s+(\d+) covered/.exec(out);
    expect(covered, out.slice(-5000)).not.toBeNull();
    expect(Number(covered![1])).toBeGreaterThanOrEqual(10);
  }, 400_000);
});
