import { describe, expect, it } from 'vitest';
import type { SeatMapOut, SeatOut, SeatStatus } from '@/lib/api/types';
import { applyChanges, freeSeatsBySection, keepFree, nextSeat, rowLabels, selectionPrice, toggleSeat } from './seatMap';
import { WHOLE, clampView, panBy, reveal, zoomAt } from './viewport';

const STALLS = 'type-stalls';
const CIRCLE = 'type-circle';

function seat(section: string, row: number, number: number, status: SeatStatus = 'free'): SeatOut {
  return {
    id: `${section}-${row}-${number}`, section, row: String(row), number: String(number),
    category: section === 'A' ? 'Stalls' : 'Circle', ticket_type_id: section === 'A' ? STALLS : CIRCLE,
    x: (section === 'A' ? 0 : 200) + number * 20, y: row * 20, radius: 8, status,
    accessible: false, companion: false,
  };
}

/** Two sections side by side, two rows of three seats each, listed out of order within a row. */
function plan(statuses: Record<string, SeatStatus> = {}): SeatMapOut {
  const seats: SeatOut[] = [];
  for (const section of ['A', 'B']) {
    for (const row of [1, 2]) for (const n of [3, 1, 2]) seats.push(seat(section, row, n, statuses[`${section}-${row}-${n}`]));
  }
  return {
    plan_id: 'p', size: { width: 300, height: 60 }, focus: { x: 150, y: 0 },
    categories: [{ name: 'Stalls', color: '#2563eb', ticket_type_id: STALLS }, { name: 'Circle', color: '#db2777', ticket_type_id: CIRCLE }],
    seats, areas: [],
  };
}

describe('applyChanges', () => {
  it('sets the status of the changed seats and keeps the others as they were', () => {
    const before = plan();
    const after = applyChanges(before, [{ id: 'A-1-1', status: 'held' }, { id: 'B-2-3', status: 'sold' }]);
    expect(after.seats.find((s) => s.id === 'A-1-1')?.status).toBe('held');
    expect(after.seats.find((s) => s.id === 'B-2-3')?.status).toBe('sold');
    expect(after.seats.filter((s) => s.status !== 'free')).toHaveLength(2);
    expect(after.seats.find((s) => s.id === 'A-1-2')).toBe(before.seats.find((s) => s.id === 'A-1-2'));
    expect(before.seats.every((s) => s.status === 'free')).toBe(true);
  });
  it('answers the same map when nothing changes (no re-render), and ignores unknown seats', () => {
    const before = plan({ 'A-1-1': 'held' });
    expect(applyChanges(before, [])).toBe(before);
    expect(applyChanges(before, [{ id: 'A-1-1', status: 'held' }, { id: 'nope', status: 'sold' }])).toBe(before);
  });
  it('applies changes in order: the last one for a seat wins', () => {
    const after = applyChanges(plan(), [{ id: 'A-1-1', status: 'held' }, { id: 'A-1-1', status: 'free' }]);
    expect(after.seats.find((s) => s.id === 'A-1-1')?.status).toBe('free');
  });
});

describe('toggleSeat', () => {
  const map = plan({ 'A-1-3': 'sold', 'A-2-1': 'blocked' });
  const byId = (id: string) => map.seats.find((s) => s.id === id);

  it('adds a free seat and removes a chosen one', () => {
    const one = toggleSeat([], byId('A-1-1'), 4);
    expect(one).toEqual({ selection: ['A-1-1'] });
    expect(toggleSeat(one.selection, byId('A-1-1'), 4)).toEqual({ selection: [] });
  });
  it('refuses a seat that is taken or blocked', () => {
    expect(toggleSeat([], byId('A-1-3'), 4)).toEqual({ selection: [], refused: 'not_free' });
    expect(toggleSeat([], byId('A-2-1'), 4)).toEqual({ selection: [], refused: 'not_free' });
  });
  it('chooses at most max seats, and a chosen seat can still be given back when full', () => {
    const full = ['A-1-1', 'A-1-2'];
    expect(toggleSeat(full, byId('B-1-1'), 2)).toEqual({ selection: full, refused: 'full' });
    expect(toggleSeat(full, byId('A-1-2'), 2)).toEqual({ selection: ['A-1-1'] });
  });
  it('ignores a seat that is not on the map', () => {
    expect(toggleSeat(['A-1-1'], undefined, 4)).toEqual({ selection: ['A-1-1'] });
  });
});

describe('keepFree', () => {
  it('drops the chosen seats that someone else took meanwhile and names them', () => {
    const chosen = ['A-1-1', 'A-1-2', 'B-1-1'];
    const map = applyChanges(plan(), [{ id: 'A-1-2', status: 'held' }]);
    const { selection, lost } = keepFree(chosen, map);
    expect(selection).toEqual(['A-1-1', 'B-1-1']);
    expect(lost.map((s) => s.id)).toEqual(['A-1-2']);
  });
  it('keeps the same array when every chosen seat is still free', () => {
    const chosen = ['A-1-1'];
    expect(keepFree(chosen, plan()).selection).toBe(chosen);
  });
  it('drops a seat that is no longer on the map', () => {
    expect(keepFree(['gone', 'A-1-1'], plan())).toEqual({ selection: ['A-1-1'], lost: [] });
  });
});

describe('freeSeatsBySection', () => {
  it('groups the free seats by section and row, in map order, each row left to right', () => {
    const groups = freeSeatsBySection(plan({ 'A-1-2': 'sold', 'B-2-1': 'held', 'B-2-2': 'held', 'B-2-3': 'blocked' }));
    expect(groups.map((g) => g.section)).toEqual(['A', 'B']);
    expect(groups[0].rows.map((r) => [r.row, r.seats.map((s) => s.number)])).toEqual([
      ['1', ['1', '3']],
      ['2', ['1', '2', '3']],
    ]);
    // A row with no free seat is left out.
    expect(groups[1].rows.map((r) => r.row)).toEqual(['1']);
  });
  it('is empty when the event is sold out', () => {
    const sold = plan();
    sold.seats.forEach((s) => (s.status = 'sold'));
    expect(freeSeatsBySection(sold)).toEqual([]);
  });
});

describe('selectionPrice', () => {
  it('sums the chosen seats by ticket type', () => {
    const price = selectionPrice(['A-1-1', 'A-1-2', 'B-1-1'], plan(), { [STALLS]: 2500, [CIRCLE]: 1500 });
    expect(price.total).toBe(6500);
    expect(price.byType).toEqual([
      { ticket_type_id: STALLS, count: 2, cents: 5000 },
      { ticket_type_id: CIRCLE, count: 1, cents: 1500 },
    ]);
  });
  it('is zero for no seats, and leaves out seats not on the map', () => {
    expect(selectionPrice([], plan(), { [STALLS]: 2500 })).toEqual({ total: 0, byType: [] });
    expect(selectionPrice(['gone'], plan(), { [STALLS]: 2500 }).total).toBe(0);
  });
});

describe('nextSeat', () => {
  const map = plan();
  it('moves along the row with Left and Right, stopping at its end', () => {
    expect(nextSeat(map, 'A-1-1', 'right')).toBe('A-1-2');
    expect(nextSeat(map, 'A-1-2', 'left')).toBe('A-1-1');
    expect(nextSeat(map, 'A-1-1', 'left')).toBeUndefined();
  });
  it('moves to the seat below or above with Down and Up', () => {
    expect(nextSeat(map, 'A-1-2', 'down')).toBe('A-2-2');
    expect(nextSeat(map, 'A-2-3', 'up')).toBe('A-1-3');
    expect(nextSeat(map, 'A-1-2', 'up')).toBeUndefined();
  });
  it('crosses the aisle to the next section', () => {
    expect(nextSeat(map, 'A-1-3', 'right')).toBe('B-1-1');
  });
  it('starts at the first seat from an unknown one', () => {
    expect(nextSeat(map, 'nope', 'right')).toBe('A-1-3');
  });
});

describe('rowLabels', () => {
  it('puts one label per row left of its leftmost seat', () => {
    const labels = rowLabels(plan());
    expect(labels).toHaveLength(4);
    const a1 = labels.find((l) => l.key.startsWith('A') && l.row === '1')!;
    expect(a1.x).toBeLessThan(20);
    expect(a1.y).toBe(20);
  });
});

describe('the view', () => {
  const size = { width: 300, height: 60 };
  it('zooms about a point, which stays where it is', () => {
    const at = { x: 90, y: 30 };
    const v = zoomAt(WHOLE, 2, at, size);
    expect(v.k).toBe(2);
    // The plan point under `at` before (90, 30) is still under it.
    expect(90 * v.k + v.x).toBeCloseTo(90);
    expect(30 * v.k + v.y).toBeCloseTo(30);
  });
  it('never zooms out past the whole plan, nor in past the limit', () => {
    expect(zoomAt(WHOLE, 0.5, { x: 10, y: 10 }, size)).toEqual(WHOLE);
    expect(zoomAt(WHOLE, 100, { x: 0, y: 0 }, size).k).toBe(8);
  });
  it('pans, but not past the plan edges', () => {
    const v = zoomAt(WHOLE, 2, { x: 0, y: 0 }, size);
    expect(panBy(v, -50, -10, size)).toEqual({ k: 2, x: -50, y: -10 });
    expect(panBy(v, 50, 50, size)).toEqual({ k: 2, x: 0, y: 0 });
    expect(panBy(v, -1000, -1000, size)).toEqual({ k: 2, x: -300, y: -60 });
    expect(clampView({ k: 1, x: -5, y: 5 }, size)).toEqual(WHOLE);
  });
  it('reveals a point out of sight by centring it, and leaves a visible one alone', () => {
    const v = zoomAt(WHOLE, 4, { x: 0, y: 0 }, size);
    expect(reveal(v, { x: 10, y: 5 }, size)).toBe(v);
    const moved = reveal(v, { x: 250, y: 50 }, size);
    expect(250 * moved.k + moved.x).toBeGreaterThanOrEqual(0);
    expect(250 * moved.k + moved.x).toBeLessThanOrEqual(300);
  });
});
