import { describe, expect, it } from 'vitest';
import { defaultApprovalThreshold, maxRestockQty, RestockInput } from './schema.ts';

const base = { sku: 'SKU-1', qty: 10, unitCost: 2.5, supplier: 'acme', leadTimeMs: 60_000 };
const fields = (input: unknown) =>
  RestockInput.safeParse(input).error?.issues.map((i) => i.path.join('.')) ?? [];

describe('RestockInput', () => {
  it('accepts a minimal restock and fills in the currency and the approval threshold', () => {
    expect(RestockInput.parse(base)).toEqual({
      ...base,
      currency: 'USD',
      approvalThreshold: defaultApprovalThreshold,
    });
  });

  it('refuses quantities, costs and lead times out of bounds, naming the field', () => {
    expect(fields({ ...base, qty: 0 })).toEqual(['qty']);
    expect(fields({ ...base, qty: 1.5 })).toEqual(['qty']);
    expect(fields({ ...base, qty: maxRestockQty + 1 })).toEqual(['qty']);
    expect(fields({ ...base, unitCost: -1 })).toEqual(['unitCost']);
    expect(fields({ ...base, unitCost: 0.001 })).toEqual(['unitCost']);
    expect(fields({ ...base, leadTimeMs: 10 })).toEqual(['leadTimeMs']);
    expect(fields({ ...base, approvalTimeoutMs: 10 })).toEqual(['approvalTimeoutMs']);
    expect(fields({ ...base, approvalTimeoutPolicy: 'maybe' })).toEqual(['approvalTimeoutPolicy']);
    expect(fields({ ...base, supplier: 'a b' })).toEqual(['supplier']);
  });
});
