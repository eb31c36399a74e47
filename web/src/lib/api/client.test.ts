import { afterEach, describe, expect, it, vi } from 'vitest';
import { authFetch } from './client';
import { login, session } from '@/lib/session';

function json(body: unknown, status = 200) {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}
const user = { id: 'u1', email: 'a@example.com', name: 'A', role: 'attendee', created_at: '2026-01-01T00:00:00Z' };

afterEach(() => vi.unstubAllGlobals());

describe('the session and the API client', () => {
  it('keeps the access token in memory, asks for the cookie mode, and refreshes once on a 401', async () => {
    const calls: Request[] = [];
    let tokens = 0;
    vi.stubGlobal('fetch', async (input: RequestInfo, init?: RequestInit) => {
      const req = input instanceof Request ? input : new Request(`http://x${input}`, init);
      calls.push(req);
      const path = new URL(req.url, 'http://x').pathname;
      if (path.startsWith('/api/v1/auth/')) return json({ access_token: `t${++tokens}`, expires_in: 900, user });
      return req.headers.get('authorization') === 'Bearer t2' ? json({ ok: true }) : json({ title: 'Unauthorized' }, 401);
    });
    await login('a@example.com', 'pw-pw-pw-pw-pw');
    expect(session.token()).toBe('t1');
    expect(session.get().user?.email).toBe('a@example.com');
    const loginCall = calls[0];
    expect(loginCall.headers.get('evently-session')).toBe('cookie');
    expect(loginCall.credentials).toBe('same-origin');

    const res = await authFetch(new Request('http://x/api/v1/me'));
    expect(res.status).toBe(200);
    const paths = calls.map((c) => new URL(c.url, 'http://x').pathname);
    expect(paths).toEqual(['/api/v1/auth/login', '/api/v1/me', '/api/v1/auth/refresh', '/api/v1/me']);
    expect(session.token()).toBe('t2');
  });
});
