import { describe, expect, it } from 'vitest';
import { anyMatches, subjectMatches } from './subject.ts';

describe('subjectMatches', () => {
  it.each([
    ['cmd.inventory.reserve', 'cmd.inventory.reserve', true],
    ['cmd.inventory.reserve', 'cmd.inventory.release', false],
    ['cmd.inventory.reserve', 'cmd.inventory', false],
    ['cmd.inventory', 'cmd.inventory.reserve', false],
    ['cmd.*.reserve', 'cmd.inventory.reserve', true],
    ['cmd.*.reserve', 'cmd.inventory.release', false],
    ['cmd.*', 'cmd.inventory.reserve', false],
    ['cmd.*.*', 'cmd.inventory.reserve', true],
    ['cmd.>', 'cmd.inventory.reserve', true],
    ['cmd.>', 'cmd.x', true],
    ['cmd.>', 'cmd', false],
    ['cmd.inventory.>', 'cmd.inventory.reserve', true],
    ['cmd.inventory.>', 'cmd.inventory', false],
    ['cmd.inventory.>', 'cmd.inventoryx.reserve', false],
    ['t1.cmd.inventory.>', 'cmd.inventory.reserve', false],
    ['t1.cmd.*.>', 't1.cmd.nosuch.do', true],
    ['>', 'anything.at.all', true],
    ['*', 'one', true],
    ['*', 'one.two', false],
    ['*.>', 'one', false],
    ['*.>', 'one.two', true],
  ])('%s ~ %s: %s', (filter, subject, expected) => {
    expect(subjectMatches(filter, subject)).toBe(expected);
  });

  it('anyMatches', () => {
    expect(anyMatches(['evt.a.b', 'cmd.x.>'], 'cmd.x.y')).toBe(true);
    expect(anyMatches(['evt.a.b', 'cmd.x.>'], 'cmd.y.z')).toBe(false);
    expect(anyMatches([], 'cmd.y.z')).toBe(false);
  });
});
