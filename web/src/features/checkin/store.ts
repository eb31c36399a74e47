// What the door keeps on the device (IndexedDB through idb-keyval): the public keys, the tickets
// admitted here (so a second offline scan is refused), the scans waiting to be sent, and the
// ticket numbers of the event (for typed entry).
import { createStore, get, set, update } from 'idb-keyval';
import type { Jwk } from './verify';

const store = createStore('evently-door', 'kv');

export interface QueuedScan {
  id: string;
  eventId: string;
  payload: string;
  scannedAt: string;
}

export const doorStore = {
  keys: () => get<Jwk[]>('keys', store),
  setKeys: (keys: Jwk[]) => set('keys', keys, store),
  seen: async (eventId: string) => (await get<Record<string, string>>(`seen:${eventId}`, store)) ?? {},
  markSeen: (eventId: string, ticketId: string, at: string) =>
    update<Record<string, string>>(`seen:${eventId}`, (old) => ({ ...(old ?? {}), [ticketId]: old?.[ticketId] ?? at }), store),
  queue: async () => (await get<QueuedScan[]>('queue', store)) ?? [],
  enqueue: (scan: QueuedScan) => update<QueuedScan[]>('queue', (old) => [...(old ?? []), scan], store),
  dequeue: (id: string) => update<QueuedScan[]>('queue', (old) => (old ?? []).filter((s) => s.id !== id), store),
  name: (eventId: string) => get<string>(`name:${eventId}`, store),
  setName: (eventId: string, name: string) => set(`name:${eventId}`, name, store),
  numbers: async (eventId: string) => (await get<Record<string, string>>(`numbers:${eventId}`, store)) ?? {},
  setNumbers: (eventId: string, numbers: Record<string, string>) => set(`numbers:${eventId}`, numbers, store),
};

/** A typed ticket number in canonical form (Crockford base32: O reads as 0, I and L as 1). */
export function normaliseNumber(text: string) {
  const raw = text.toUpperCase().replace(/[^0-9A-Z]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  if (raw.length !== 11) return raw;
  return `${raw.slice(0, 4)}-${raw.slice(4, 8)}-${raw.slice(8)}`;
}
