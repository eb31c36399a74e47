import { memo } from 'react';
import type { SeatMapOut, SeatOut } from '@/lib/api/types';
import { t, statusLabel } from '@/lib/i18n';
import { rowLabels } from '../seatMap';

/** What a screen reader says for a seat: "Section A, Row 3, Seat 12, Stalls, free". */
export function seatName(seat: SeatOut) {
  return [
    t.seating.seat(seat),
    seat.category,
    seat.accessible && t.seating.accessible,
    seat.companion && t.seating.companion,
    statusLabel(t.seating.status, seat.status),
  ].filter(Boolean).join(', ');
}

// Categories without a colour of their own.
const PALETTE = ['#2563eb', '#db2777', '#0f766e', '#b45309', '#7c3aed', '#0891b2'];

export function categoryColors(map: SeatMapOut): Record<string, string> {
  return Object.fromEntries(map.categories.map((c, i) => [c.name, c.color || PALETTE[i % PALETTE.length]]));
}

/**
 * The seats of the map (kept apart from the zoom so that a drag does not draw them again): each
 * one focusable (one tab stop for the whole map, the arrow keys move), free ones checkable.
 */
export const SeatLayer = memo(function SeatLayer({ map, selected, tabId, readOnly }: {
  map: SeatMapOut;
  selected: string[];
  tabId?: string;
  readOnly: boolean;
}) {
  const colors = categoryColors(map);
  const chosen = new Set(selected);
  return (
    <>
      <g className="seat-rows" aria-hidden="true">
        {rowLabels(map).map((l) => (
          <text key={l.key} x={l.x} y={l.y} fontSize={l.size} textAnchor="end" dominantBaseline="central">{l.row}</text>
        ))}
      </g>
      {map.seats.map((s) => {
        const free = s.status === 'free';
        const on = chosen.has(s.id);
        const r = s.radius;
        const cls = ['seat', free ? 'seat-free' : 'seat-taken', on && 'seat-chosen', s.accessible && 'seat-accessible'].filter(Boolean).join(' ');
        return (
          <g
            key={s.id}
            data-seat={s.id}
            className={cls}
            transform={`translate(${s.x} ${s.y})`}
            role={readOnly ? 'img' : 'checkbox'}
            aria-checked={readOnly ? undefined : on}
            aria-disabled={!readOnly && !free ? true : undefined}
            aria-label={seatName(s)}
            tabIndex={s.id === tabId ? 0 : -1}
          >
            <circle className="seat-ring" r={r + 3} />
            {s.accessible ? (
              <rect className="seat-shape" x={-r} y={-r} width={2 * r} height={2 * r} rx={r * 0.25} fill={colors[s.category]} />
            ) : (
              <circle className="seat-shape" r={r} fill={colors[s.category]} />
            )}
            {on && <path className="seat-check" d={`M${-r * 0.45} 0L${-r * 0.1} ${r * 0.35}L${r * 0.5} ${-r * 0.35}`} strokeWidth={r * 0.28} />}
          </g>
        );
      })}
    </>
  );
});
