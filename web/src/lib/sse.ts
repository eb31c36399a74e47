// Server-Sent Events over fetch, so that a stream can carry the Authorization header
// (EventSource cannot). Reconnects with a short back-off until aborted.
import { authFetch } from '@/lib/api/client';

export interface SseMessage {
  event: string;
  data: string;
}

export function parseSse(buffer: string): { messages: SseMessage[]; rest: string } {
  const messages: SseMessage[] = [];
  const blocks = buffer.split(/\r?\n\r?\n/);
  const rest = blocks.pop() ?? '';
  for (const block of blocks) {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length) messages.push({ event, data: data.join('\n') });
  }
  return { messages, rest };
}

export function streamSse(
  path: string,
  onMessage: (m: SseMessage) => void,
  signal: AbortSignal,
  onOpen?: () => void,
) {
  const run = async () => {
    let delay = 500;
    while (!signal.aborted) {
      try {
        const res = await authFetch(
          new Request(path, { headers: { accept: 'text/event-stream' }, signal }),
        );
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        onOpen?.();
        delay = 500;
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          const parsed = parseSse(buffer + value);
          buffer = parsed.rest;
          parsed.messages.forEach(onMessage);
        }
      } catch {
        if (signal.aborted) return;
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 10_000);
    }
  };
  void run();
}
