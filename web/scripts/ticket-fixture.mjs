#!/usr/bin/env node
// Writes src/features/checkin/fixtures/backend-ticket.json: a ticket the real backend issued and
// the public keys that verify it, for the verifier's unit test.
//   node scripts/ticket-fixture.mjs http://127.0.0.1:8080 <admin email> <admin password>
import { writeFile, mkdir } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';

const [base, email, password] = process.argv.slice(2);
async function call(method, path, body, token, headers = {}) {
  const res = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}
const { access_token: token } = await call('POST', '/auth/login', { email, password });
const venue = await call('POST', '/venues', { name: 'Fixture Hall', city: 'Porto', capacity: 10 }, token);
const start = new Date(Date.now() + 86400_000);
const event = await call('POST', '/events', {
  name: 'Fixture night', venue_id: venue.id, category: 'music', starts_at: start.toISOString(),
  ends_at: new Date(start.getTime() + 3600_000).toISOString(), capacity: 10, price_cents: 0, currency: 'EUR',
}, token);
const booking = await call('POST', `/events/${event.id}/bookings`, { quantity: 1 }, token, { 'Idempotency-Key': randomUUID() });
let tickets = [];
for (let i = 0; i < 100 && !tickets.length; i++) {
  await new Promise((r) => setTimeout(r, 200));
  tickets = (await call('GET', `/bookings/${booking.id}/tickets`, undefined, token)).tickets;
}
const keys = await call('GET', '/tickets/public-keys');
const t = tickets[0];
const out = new URL('../src/features/checkin/fixtures/', import.meta.url);
await mkdir(out, { recursive: true });
await writeFile(new URL('backend-ticket.json', out), JSON.stringify({
  keys: keys.keys, qr_payload: t.qr_payload, ticket_id: t.id, event_id: t.event_id, seat_index: t.seat_index,
}, null, 2) + '\n');
console.log('wrote backend-ticket.json');
