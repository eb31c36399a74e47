// The seat map's rules, as pure functions: live changes applied to a map, what a selection may
// hold, the free seats grouped for the list view, a selection's price, and keyboard moves.
import type { SeatChange, SeatMapOut, SeatOut } from '@/lib/api/types';

/** The map with the live stream's changes applied (the same object when nothing changed). */
export function applyChanges(map: SeatMapOut, changes: SeatChange[]): SeatMapOut {
  if (!changes.length) return map;
  const next = new Map(changes.map((c) => [c.id, c.status]));
  let changed = false;
  const seats = map.seats.map((s) => {
    const status = next.get(s.id);
    if (status === undefined || status === s.status) return s;
    changed = true;
    return { ...s, status };
  });
  return changed ? { ...map, seats } : map;
}

export const isFree = (seat: SeatOut) => seat.status === 'free';

export interface Toggled {
  selection: string[];
  /** Why the seat was not added: it is not free, or the selection is full. */
  refused?: 'not_free' | 'full';
}

/** Chooses a free seat or gives a chosen one back; at most `max` seats are chosen. */
export function toggleSeat(selection: string[], seat: SeatOut | undefined, max: number): Toggled {
  if (!seat) return { selection };
  if (selection.includes(seat.id)) return { selection: selection.filter((id) => id !== seat.id) };
  if (!isFree(seat)) return { selection, refused: 'not_free' };
  if (selection.length >= max) return { selection, refused: 'full' };
  return { selection: [...selection, seat.id] };
}

/**
 * The selection without the seats that are no longer free (taken by someone else meanwhile, or
 * gone from the map): `lost` names them; `selection` is the same array when none was lost.
 */
export function keepFree(selection: string[], map: SeatMapOut): { selection: string[]; lost: SeatOut[] } {
  const byId = seatIndex(map);
  const lost: SeatOut[] = [];
  const kept = selection.filter((id) => {
    const seat = byId.get(id);
    if (seat && isFree(seat)) return true;
    if (seat) lost.push(seat);
    return false;
  });
  return { selection: kept.length === selection.length ? selection : kept, lost };
}

export interface SeatRow {
  row: string;
  seats: SeatOut[];
}

export interface SeatSection {
  section: string;
  rows: SeatRow[];
}

/** The free seats by section and row, in the map's order, each row left to right. */
export function freeSeatsBySection(map: SeatMapOut): SeatSection[] {
  const sections = new Map<string, Map<string, SeatOut[]>>();
  for (const seat of map.seats) {
    if (!isFree(seat)) continue;
    const rows = sections.get(seat.section) ?? new Map<string, SeatOut[]>();
    sections.set(seat.section, rows);
    rows.set(seat.row, [...(rows.get(seat.row) ?? []), seat]);
  }
  return [...sections].map(([section, rows]) => ({
    section,
    rows: [...rows].map(([row, seats]) => ({ row, seats: [...seats].sort((a, b) => a.x - b.x) })),
  }));
}

export interface SelectionPrice {
  /** Minor units, summed over the seats whose type has a known price. */
  total: number;
  byType: { ticket_type_id: string; count: number; cents: number }[];
}

/** What the chosen seats cost, by ticket type (prices: ticket type id -> price in minor units). */
export function selectionPrice(selection: string[], map: SeatMapOut, prices: Record<string, number>): SelectionPrice {
  const byId = seatIndex(map);
  const counts = new Map<string, number>();
  for (const id of selection) {
    const seat = byId.get(id);
    if (seat) counts.set(seat.ticket_type_id, (counts.get(seat.ticket_type_id) ?? 0) + 1);
  }
  const byType = [...counts].map(([ticket_type_id, count]) => ({ ticket_type_id, count, cents: count * (prices[ticket_type_id] ?? 0) }));
  return { total: byType.reduce((sum, line) => sum + line.cents, 0), byType };
}

export type Direction = 'left' | 'right' | 'up' | 'down';

const AXES: Record<Direction, [number, number]> = { left: [-1, 0], right: [1, 0], up: [0, -1], down: [0, 1] };

/**
 * The seat an arrow key moves to: the nearest one in that direction, a step across counting three
 * times a step along (so Right stays in the row and Down goes to the seat below).
 */
export function nextSeat(map: SeatMapOut, fromId: string, direction: Direction): string | undefined {
  const from = map.seats.find((s) => s.id === fromId);
  if (!from) return map.seats[0]?.id;
  const [ax, ay] = AXES[direction];
  let best: SeatOut | undefined;
  let bestScore = Infinity;
  for (const seat of map.seats) {
    const dx = seat.x - from.x;
    const dy = seat.y - from.y;
    const along = dx * ax + dy * ay;
    if (seat === from || along <= from.radius * 0.5) continue;
    const score = along + 3 * Math.abs(dx * ay - dy * ax);
    if (score < bestScore) {
      bestScore = score;
      best = seat;
    }
  }
  return best?.id;
}

/** Where each row's label goes: left of its leftmost seat. */
export function rowLabels(map: SeatMapOut): { key: string; row: string; x: number; y: number; size: number }[] {
  const first = new Map<string, SeatOut>();
  for (const seat of map.seats) {
    const key = `${seat.section}\u0000${seat.row}`;
    const now = first.get(key);
    if (!now || seat.x < now.x) first.set(key, seat);
  }
  return [...first].map(([key, s]) => ({ key, row: s.row, x: s.x - s.radius * 2.2, y: s.y, size: s.radius * 1.3 }));
}

const indexes = new WeakMap<SeatMapOut, Map<string, SeatOut>>();

/** The map's seats by id (built once per map object). */
export function seatIndex(map: SeatMapOut): Map<string, SeatOut> {
  let byId = indexes.get(map);
  if (!byId) {
    byId = new Map(map.seats.map((s) => [s.id, s]));
    indexes.set(map, byId);
  }
  return byId;
}
