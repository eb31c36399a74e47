import { describe, expect, it } from 'vitest';
import { parseSse } from './sse';

describe('parseSse', () => {
  it('splits named events and keeps the unfinished rest', () => {
    const { messages, rest } = parseSse('event: booking\ndata: {"a":1}\n\n: keep-alive\n\nevent: waitlist\ndata: {"b"');
    expect(messages).toEqual([{ event: 'booking', data: '{"a":1}' }]);
    expect(rest).toBe('event: waitlist\ndata: {"b"');
  });
  it('joins multi-line data', () => {
    expect(parseSse('data: a\ndata: b\n\n').messages).toEqual([{ event: 'message', data: 'a\nb' }]);
  });
});
