import { useId } from 'react';
import { fieldError } from '@/components/Feedback';
import type { SeatMapOut, SeatOut } from '@/lib/api/types';
import { money } from '@/lib/format';
import { t } from '@/lib/i18n';
import { seatIndex, selectionPrice } from '../seatMap';

/** The chosen seats, each with its price and a Remove button, and their total. */
export function SeatChoice({ map, selection, prices, currency, max, notice, empty, error, onRemove }: {
  map: SeatMapOut;
  selection: string[];
  prices: Record<string, number>;
  currency: string;
  max: number;
  notice?: string;
  empty: boolean;
  error: unknown;
  onRemove: (seat: SeatOut) => void;
}) {
  const id = useId();
  const byId = seatIndex(map);
  const seats = selection.map((s) => byId.get(s)).filter((s): s is SeatOut => !!s);
  const { total } = selectionPrice(selection, map, prices);
  const problem = fieldError(error, 'seats') ?? (empty ? t.seating.chooseOne : undefined);
  const price = (s: SeatOut) => {
    const cents = prices[s.ticket_type_id];
    return cents === undefined ? '' : ` · ${cents === 0 ? t.event.free : money(cents, currency)}`;
  };
  return (
    <div className="seat-choice">
      <h3 className="h3" id={id}>{t.seating.yourSeats}</h3>
      {seats.length === 0 ? (
        <p className="muted">{t.seating.noneChosen}</p>
      ) : (
        <ul className="seat-chosen-list" aria-labelledby={id}>
          {seats.map((s) => (
            <li key={s.id}>
              <span>{t.seating.seat(s)} · {s.category}{price(s)}</span>
              <button type="button" className="btn btn-link" aria-label={`${t.seating.remove}: ${t.seating.seat(s)}`} onClick={() => onRemove(s)}>
                {t.seating.remove}
              </button>
            </li>
          ))}
        </ul>
      )}
      {total > 0 && <p className="ticket-total">{t.ticketTypes.total(money(total, currency))}</p>}
      <p className="hint">{t.seating.atMost(max)}</p>
      <p className="seat-notice" role="status">{notice}</p>
      {problem && <p className="field-error" role="alert">{problem}</p>}
    </div>
  );
}
