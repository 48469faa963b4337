import { describe, expect, it } from 'vitest';
import {
  asStored,
  commandIdOfKey,
  type Reply,
  replyKey,
  replyPathOf,
  replyToStore,
  storedReply,
} from '../../runtime/participants/index.ts';
import { wasReadBack } from '../../runtime/participants/participant.ts';

/** Where a participant keeps a command's reply in its own document (participant.ts). */
describe('stored replies: the reply path of a command', () => {
  it('is `replies.<commandId>` for the ids the runtime makes (`<sagaId>:<rev>:<i>`)', () => {
    expect(replyPathOf('ord-1:3:0')).toBe('replies.ord-1:3:0');
    expect(replyKey('saga_x-1:12:2')).toBe('saga_x-1:12:2');
  });

  it('escapes `.`, `$` and `%` reversibly: a safe MongoDB field name, one per command id', () => {
    const ids = ['a.b', '$x', 'x$y.z%', '%', '%2E', 'a%2Eb', '.$.', 'ord-1:3:0', 'é.ü'];
    const keys = ids.map(replyKey);
    for (const [i, key] of keys.entries()) {
      expect(key).not.toMatch(/[.$]/);
      expect(commandIdOfKey(key)).toBe(ids[i]);
    }
    expect(new Set(keys).size).toBe(ids.length);
    expect(replyKey('a.b$c%d')).toBe('a%2Eb%24c%25d');
  });

  it('stores {type, data, sagaId, at} and reads it back marked stored, as a replay', () => {
    const value = replyToStore({ type: 'captured', data: { orderId: 'o-1', amount: 5 } }, { sagaId: 's-1' });
    expect(value).toEqual({
      type: 'captured',
      data: { orderId: 'o-1', amount: 5 },
      sagaId: 's-1',
      at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
    });
    const fresh: Reply = asStored(value);
    expect(fresh).toEqual({ type: 'captured', data: value.data, stored: true, at: value.at });
    expect(wasReadBack(fresh)).toBe(false);

    const doc = { replies: { [replyKey('s-1:3:0')]: value } };
    const again = storedReply(doc, { commandId: 's-1:3:0' });
    expect(again).toEqual(fresh);
    expect(wasReadBack(again!)).toBe(true);
    expect(storedReply(doc, { commandId: 's-1:4:0' })).toBeUndefined();
    expect(storedReply(null, { commandId: 's-1:3:0' })).toBeUndefined();
  });
});
