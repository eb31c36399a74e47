// Direct API calls for the journeys' set-up (what another person or the organiser did elsewhere).
import { randomUUID } from 'node:crypto';

export const BASE = process.env.EVENTLY_E2E_BASE_URL ?? 'http://127.0.0.1:8080';
const ADMIN_EMAIL = process.env.EVENTLY_E2E_ADMIN_EMAIL ?? 'admin@example.com';
const ADMIN_PASSWORD = process.env.EVENTLY_E2E_ADMIN_PASSWORD ?? 'admin-password-e2e';
export const PASSWORD = 'correct-horse-battery-staple-9';

export interface Session {
  token: string;
  user: { id: string; email: string; name: string; role: string };
}

async function call<T>(method: string, path: string, body?: unknown, token?: string, headers: Record<string, string> = {}): Promise<T> {
  const res = await fetch(`${BASE}/api/v1${path}`, {
    method,
    headers: {
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

export const api = {
  get: <T>(path: string, token?: string) => call<T>('GET', path, undefined, token),
  post: <T>(path: string, body: unknown, token?: string, headers?: Record<string, string>) => call<T>('POST', path, body, token, headers),
};

export function uniqueEmail(who: string) {
  return `${who}-${randomUUID().slice(0, 8)}@example.com`;
}

export async function login(email: string, password = PASSWORD): Promise<Session> {
  const s = await api.post<{ access_token: string; user: Session['user'] }>('/auth/login', { email, password });
  return { token: s.access_token, user: s.user };
}

export async function registerUser(who: string, name = who): Promise<Session & { email: string }> {
  const email = uniqueEmail(who);
  const s = await api.post<{ access_token: string; user: Session['user'] }>('/auth/register', { email, password: PASSWORD, name });
  return { token: s.access_token, user: s.user, email };
}

export async function admin(): Promise<Session> {
  return login(ADMIN_EMAIL, ADMIN_PASSWORD);
}

/** A new organiser (registered, promoted by the admin, logged in again for the new role). */
export async function organizer(name = 'Olivia Organiser') {
  const u = await registerUser('organizer', name);
  const a = await admin();
  await call('PUT', `/admin/users/${u.user.id}/role`, { role: 'organizer' }, a.token);
  return { ...(await login(u.email)), email: u.email };
}

export interface EventOut {
  id: string;
  name: string;
  availability: { available: number; sold: number; held: number; capacity: number; waitlist_length: number };
}

export async function venue(token: string, name = 'Riverside Hall') {
  return api.post<{ id: string }>('/venues', { name, address: '1 Quay Street', city: 'Dublin', capacity: 5000 }, token);
}

export async function event(token: string, venueId: string, over: Partial<Record<string, unknown>> = {}) {
  const start = new Date(Date.now() + 14 * 86400_000);
  return api.post<EventOut>('/events', {
    name: `Event ${randomUUID().slice(0, 6)}`,
    description: 'An evening of music by the river.',
    venue_id: venueId,
    category: 'music',
    starts_at: start.toISOString(),
    ends_at: new Date(start.getTime() + 3 * 3600_000).toISOString(),
    capacity: 100,
    price_cents: 0,
    currency: 'EUR',
    max_per_booking: 10,
    ...over,
  }, token);
}

export async function book(token: string, eventId: string, quantity = 1) {
  const b = await api.post<{ id: string; status: string }>(`/events/${eventId}/bookings`, { quantity }, token, { 'Idempotency-Key': randomUUID() });
  for (let i = 0; i < 50 && b.status === 'pending'; i++) {
    await new Promise((r) => setTimeout(r, 200));
    Object.assign(b, await api.get<{ status: string }>(`/bookings/${b.id}`, token));
  }
  return b;
}

export async function tickets(token: string, bookingId: string) {
  for (let i = 0; i < 100; i++) {
    const t = await api.get<{ tickets: { id: string; ticket_number: string; qr_payload: string; checked_in_at?: string }[] }>(`/bookings/${bookingId}/tickets`, token);
    if (t.tickets.length) return t.tickets;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('no tickets issued');
}
