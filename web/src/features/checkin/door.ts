import { api, unwrap } from '@/lib/api/client';
import type { SeatRef } from '@/lib/api/types';
import { ProblemError } from '@/lib/session';
import { doorStore, normaliseNumber } from './store';
import { keyring, verifyPayload, type Jwk } from './verify';

export type Answer =
  | { admitted: true; offline: boolean; ticketNumber?: string; seatIndex: number; seat?: SeatRef }
  | { admitted: false; reason: 'already' | 'other_event' | 'cancelled' | 'forged' | 'unknown_number' | 'offline_number'; when?: string };

let ring: Map<string, Uint8Array> | null = null;

/** The public keys: from the network when online (kept on the device), else the kept copy. */
export async function loadKeys(): Promise<Map<string, Uint8Array>> {
  try {
    const res = await fetch('/api/v1/tickets/public-keys');
    if (res.ok) {
      const body = (await res.json()) as { keys: Jwk[] };
      await doorStore.setKeys(body.keys);
      ring = keyring(body.keys);
      return ring;
    }
  } catch {
    // offline: use the copy on the device
  }
  ring = keyring((await doorStore.keys()) ?? []);
  return ring;
}

function online() {
  return navigator.onLine;
}

async function post(eventId: string, payload: string) {
  return api.POST('/api/v1/events/{id}/checkin', { params: { path: { id: eventId } }, body: { qr_payload: payload } });
}

function refusal(detail: string): Answer {
  if (/another event/.test(detail)) return { admitted: false, reason: 'other_event' };
  if (/void|cancel/.test(detail)) return { admitted: false, reason: 'cancelled' };
  return { admitted: false, reason: 'forged' };
}

export async function checkPayload(eventId: string, payload: string): Promise<Answer> {
  const keys = ring ?? (await loadKeys());
  const verdict = verifyPayload(payload, keys);
  if (!verdict.ok) return { admitted: false, reason: 'forged' };
  const { claims } = verdict;
  if (claims.eventId !== eventId) return { admitted: false, reason: 'other_event' };
  const now = new Date().toISOString();
  if (online()) {
    try {
      const { data, error, response } = await post(eventId, payload);
      if (response.ok && data) {
        await doorStore.markSeen(eventId, claims.ticketId, data.checked_in_at);
        const seat = data.seat ?? undefined;
        return { admitted: true, offline: false, ticketNumber: data.ticket_number, seatIndex: data.seat_index, seat };
      }
      const problem = (error ?? {}) as { first_checked_in_at?: string; errors?: Record<string, string>; detail?: string };
      if (response.status === 409) {
        await doorStore.markSeen(eventId, claims.ticketId, problem.first_checked_in_at ?? now);
        return { admitted: false, reason: 'already', when: problem.first_checked_in_at };
      }
      if (response.status === 422) return refusal(problem.errors?.qr_payload ?? problem.detail ?? '');
      throw new ProblemError(response.status, problem);
    } catch (e) {
      if (!(e instanceof TypeError)) throw e; // a network failure: decide offline
    }
  }
  const seen = await doorStore.seen(eventId);
  if (seen[claims.ticketId]) return { admitted: false, reason: 'already', when: seen[claims.ticketId] };
  await doorStore.markSeen(eventId, claims.ticketId, now);
  await doorStore.enqueue({ id: crypto.randomUUID(), eventId, payload, scannedAt: now });
  return { admitted: true, offline: true, seatIndex: claims.seatIndex, seat: claims.seat };
}

/** Sends the queued offline scans; keeps those the network did not take. Returns what is left. */
export async function syncQueue(): Promise<number> {
  for (const scan of await doorStore.queue()) {
    try {
      const { response } = await post(scan.eventId, scan.payload);
      if (response.status >= 500) break;
      await doorStore.dequeue(scan.id);
    } catch {
      break;
    }
  }
  return (await doorStore.queue()).length;
}

/** Ticket number -> payload for the event, from its attendees' bookings (organiser access). */
async function loadNumbers(eventId: string) {
  const numbers: Record<string, string> = {};
  const attendees = await unwrap(api.GET('/api/v1/events/{id}/attendees', { params: { path: { id: eventId }, query: { limit: 100 } } }));
  const rows = (attendees as { items: { booking_id: string; status: string }[] }).items.filter((a) => a.status === 'confirmed');
  await Promise.all(
    rows.map(async (a) => {
      const t = await unwrap(api.GET('/api/v1/bookings/{id}/tickets', { params: { path: { id: a.booking_id } } }));
      for (const ticket of t.tickets) numbers[ticket.ticket_number] = ticket.qr_payload;
    }),
  );
  await doorStore.setNumbers(eventId, numbers);
  return numbers;
}

export async function checkNumber(eventId: string, typed: string): Promise<Answer> {
  const number = normaliseNumber(typed);
  let numbers = await doorStore.numbers(eventId);
  if (!numbers[number] && online()) {
    try {
      numbers = await loadNumbers(eventId);
    } catch (e) {
      if (!(e instanceof TypeError)) throw e;
    }
  }
  const payload = numbers[number];
  if (!payload) return { admitted: false, reason: online() ? 'unknown_number' : 'offline_number' };
  return checkPayload(eventId, payload);
}

export function check(eventId: string, input: string) {
  const text = input.trim();
  return text.length > 40 ? checkPayload(eventId, text) : checkNumber(eventId, text);
}
