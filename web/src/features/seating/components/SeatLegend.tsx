import type { ReactNode } from 'react';
import type { SeatMapOut } from '@/lib/api/types';
import { t } from '@/lib/i18n';
import { categoryColors } from './SeatLayer';

function Swatch({ className = '', children }: { className?: string; children: ReactNode }) {
  return (
    <svg className={`seat-swatch ${className}`} viewBox="-10 -10 20 20" aria-hidden="true" focusable="false">
      {children}
    </svg>
  );
}

/** The key of the map: each category's colour, taken, chosen (where seats are chosen), wheelchair space. */
export function SeatLegend({ map, readOnly }: { map: SeatMapOut; readOnly: boolean }) {
  const colors = categoryColors(map);
  const accessible = map.seats.some((s) => s.accessible);
  return (
    <ul className="seat-legend" aria-label={t.seating.legend}>
      {map.categories.map((c) => (
        <li key={c.name}><Swatch><circle className="seat-shape" r={8} fill={colors[c.name]} /></Swatch>{c.name}</li>
      ))}
      <li className="seat-taken"><Swatch><circle className="seat-shape" r={8} /></Swatch>{t.seating.legendTaken}</li>
      {!readOnly && (
        <li className="seat-chosen">
          <Swatch>
            <circle className="seat-shape" r={8} fill="#565b6e" />
            <path className="seat-check" d="M-3.6 0L-0.8 2.8L4 -2.8" strokeWidth={2.2} />
          </Swatch>
          {t.seating.legendSelected}
        </li>
      )}
      {accessible && <li><Swatch><rect className="seat-shape" x={-8} y={-8} width={16} height={16} rx={2} fill="#565b6e" /></Swatch>{t.seating.legendAccessible}</li>}
    </ul>
  );
}
