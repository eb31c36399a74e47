import 'fake-indexeddb/auto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  (globalThis as { location?: unknown }).location = { origin: 'http://door' };
});
import fixture from './fixtures/backend-ticket.json';
import { checkPayload, loadKeys, syncQueue } from './door';
import { doorStore } from './store';

const eventId = fixture.event_id;
const net = { online: false, posts: [] as string[], seat: undefined as { section: string; row: string; number: string } | undefined };

beforeEach(async () => {
  net.online = false;
  net.posts = [];
  net.seat = undefined;
  vi.stubGlobal('navigator', { get onLine() { return net.online; } });
  vi.stubGlobal('fetch', async (input: Request | string) => {
    if (!net.online) throw new TypeError('Failed to fetch');
    const req = typeof input === 'string' ? new Request(`http://door${input}`) : input;
    if (req.url.endsWith('/tickets/public-keys')) return Response.json({ current_kid: 'k1', keys: fixture.keys });
    net.posts.push(await req.text());
    return Response.json({ ticket_id: fixture.ticket_id, booking_id: 'b', ticket_number: 'K7QM-3XPA-9ZR', seat_index: 0, checked_in_at: new Date().toISOString(), ...(net.seat ? { seat: net.seat } : {}) });
  });
});
afterEach(() => vi.unstubAllGlobals());

describe('the door offline', () => {
  it('verifies on the device, refuses a second scan, refuses a forged code, and syncs when back online', async () => {
    net.online = true;
    await loadKeys(); // online once: the keys are kept on the device
    net.online = false;
    await loadKeys(); // offline: from the device

    expect(await checkPayload(eventId, fixture.qr_payload)).toMatchObject({ admitted: true, offline: true, seatIndex: 0 });
    expect(await checkPayload(eventId, fixture.qr_payload)).toMatchObject({ admitted: false, reason: 'already' });
    const forged = fixture.qr_payload.slice(0, -3) + (fixture.qr_payload.endsWith('A') ? 'BBB' : 'AAA');
    expect(await checkPayload(eventId, forged)).toMatchObject({ admitted: false, reason: 'forged' });
    expect(await checkPayload('01a230c4-0000-7000-8000-000000000000', fixture.qr_payload)).toMatchObject({ admitted: false, reason: 'other_event' });
    expect((await doorStore.queue()).length).toBe(1);

    expect(await syncQueue()).toBe(1); // still offline: kept
    net.online = true;
    expect(await syncQueue()).toBe(0);
    expect(net.posts).toEqual([JSON.stringify({ qr_payload: fixture.qr_payload })]);
  });
});

describe('the door online', () => {
  it('names the seat of a seated event\'s ticket as the check-in answers it', async () => {
    net.online = true;
    net.seat = { section: 'A', row: '3', number: '12' };
    await loadKeys();
    const answer = await checkPayload(eventId, fixture.qr_payload);
    expect(answer).toMatchObject({ admitted: true, offline: false, ticketNumber: 'K7QM-3XPA-9ZR', seat: { section: 'A', row: '3', number: '12' } });
  });
});
