import type { Locator } from '@playwright/test';

/** A seat map on a page: its seats by section, row and number, as a screen reader names them. */
export class SeatMap {
  constructor(public scope: Locator) {}

  map() {
    return this.scope.getByRole('group', { name: 'Seat map' });
  }

  /** A seat of the booking form's map (a checkbox), or of a map only to look at (`img`). */
  seat(section: string, row: number, number: number, role: 'checkbox' | 'img' = 'checkbox') {
    return this.map().getByRole(role, { name: new RegExp(`^Section ${section}, Row ${row}, Seat ${number},`) });
  }

  /** A free seat of the list view. */
  listed(section: string, row: number, number: number) {
    return this.scope
      .getByRole('group', { name: `Section ${section}`, exact: true })
      .getByRole('group', { name: `Row ${row}`, exact: true })
      .getByRole('checkbox', { name: new RegExp(`^Seat ${number},`) });
  }
}

/** A small plan in pretix's seating-plan format: sections A (Stalls) and B (Circle), 3 rows of 6 seats each. */
export function twoSectionPlan(name: string, { duplicate = false } = {}) {
  const zones = ['A', 'B'].map((section, z) => ({
    name: section,
    position: { x: 60 + z * 240, y: 70 },
    rows: [1, 2, 3].map((row) => ({
      row_number: String(row),
      position: { x: 0, y: (row - 1) * 30 },
      seats: [1, 2, 3, 4, 5, 6].map((n) => ({
        // A duplicate id (the second seat of A's first row) for the refused import.
        seat_guid: duplicate && z === 0 && row === 1 && n === 2 ? 'A-1-1' : `${section}-${row}-${n}`,
        seat_number: String(n),
        position: { x: (n - 1) * 30, y: 0 },
        category: z === 0 ? 'Stalls' : 'Circle',
        radius: 11,
        // Wheelchair spaces at the end of the Circle's last row, with a companion seat beside them.
        ...(section === 'B' && row === 3 && n <= 2 ? { accessible: true } : {}),
        ...(section === 'B' && row === 3 && n === 3 ? { companion: true } : {}),
      })),
    })),
    // The stage, drawn above both sections (pretix's area format; never booked).
    areas: z === 0
      ? [{
          shape: 'rectangle', position: { x: 0, y: -62 }, rectangle: { width: 390, height: 28 },
          color: '#374151', border_color: '#111827', rotation: 0,
          text: { position: { x: 195, y: 14 }, text: 'STAGE', color: '#ffffff', size: 14 },
        }]
      : [],
  }));
  return {
    name,
    categories: [{ name: 'Stalls', color: '#1d4ed8' }, { name: 'Circle', color: '#be185d' }],
    zones,
    size: { width: 510, height: 170 },
    focus_point: { x: 255, y: 0 },
  };
}
