import type { SeatMapOut, SeatOut } from '@/lib/api/types';
import { t } from '@/lib/i18n';
import { freeSeatsBySection } from '../seatMap';
import { categoryColors } from './SeatLayer';

/** The free seats as checkboxes, by section and row: the map for a keyboard or a screen reader. */
export function SeatList({ map, selected, onToggle }: {
  map: SeatMapOut;
  selected: string[];
  onToggle: (seat: SeatOut) => void;
}) {
  const sections = freeSeatsBySection(map);
  const colors = categoryColors(map);
  if (!sections.length) return <p className="alert">{t.seating.noFree}</p>;
  return (
    <div className="seat-list">
      {sections.map((section) => (
        <fieldset key={section.section} className="seat-section">
          <legend>{t.seating.sectionOf(section.section)}</legend>
          {section.rows.map((row) => (
            <fieldset key={row.row} className="seat-row">
              <legend>{t.seating.rowOf(row.row)}</legend>
              <div className="seat-chips">
                {row.seats.map((s) => (
                  <label key={s.id} className="seat-chip">
                    <input type="checkbox" checked={selected.includes(s.id)} onChange={() => onToggle(s)} />
                    <svg className="seat-dot" viewBox="-5 -5 10 10" aria-hidden="true" focusable="false"><circle r={5} fill={colors[s.category]} /></svg>
                    <span aria-hidden="true">{s.number}</span>
                    <span className="sr-only">
                      {[t.seating.seatNumber(s.number), s.category, s.accessible && t.seating.accessible, s.companion && t.seating.companion].filter(Boolean).join(', ')}
                    </span>
                  </label>
                ))}
              </div>
            </fieldset>
          ))}
        </fieldset>
      ))}
    </div>
  );
}
