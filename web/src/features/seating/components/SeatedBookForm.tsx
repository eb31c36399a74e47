import { useState, type FormEvent, type ReactNode } from 'react';
import { FormError, Loading } from '@/components/Feedback';
import { PromoField } from '@/components/PromoField';
import type { SeatMapOut, SeatOut } from '@/lib/api/types';
import { money } from '@/lib/format';
import { t } from '@/lib/i18n';
import { usePromo } from '@/lib/ticketTypes';
import { useSeatMap } from '../api';
import { keepFree, toggleSeat } from '../seatMap';
import { BestAvailable, type Best } from './BestAvailable';
import { SeatChoice } from './SeatChoice';
import { SeatList } from './SeatList';
import { SeatPicker } from './SeatPicker';
import { seatName } from './SeatLayer';

/** What a seated booking asks for: these seats (all or none), or the best available ones. */
export type SeatOrder = ({ seats: string[] } | { best_available: Best }) & { promo_code?: string };

/** The booking submission the event page hands in (the bookings feature's). */
export interface SeatBooking {
  submit: (order: SeatOrder, onAccepted?: () => void) => void;
  pending: boolean;
  error: unknown;
}

const FIELDS = ['seats', 'promo_code', 'best_available.ticket_type_id', 'best_available.quantity', 'best_available.accessible'];

/**
 * The booking form of a seated event: choose seats on the map (or in the list), or ask for the
 * best available ones of a ticket type; the total, the promo code, then the booking's answer
 * (`status`, with its seats).
 */
export function SeatedBookForm({ eventId, max, booking, status }: {
  eventId: string;
  max: number;
  booking: SeatBooking;
  status?: ReactNode;
}) {
  const map = useSeatMap(eventId);
  const promo = usePromo(eventId);
  const [mode, setMode] = useState<'pick' | 'best'>('pick');
  const [selection, setSelection] = useState<string[]>([]);
  const [notice, setNotice] = useState<string>();
  const [empty, setEmpty] = useState(false);
  const [chosenBest, setBest] = useState<Best>();

  // A chosen seat someone else took meanwhile leaves the choice (not while this booking is on
  // its way: then the seats turning taken are its own).
  if (map.data && !booking.pending) {
    const kept = keepFree(selection, map.data);
    if (kept.selection !== selection) {
      setSelection(kept.selection);
      setNotice(kept.lost.length ? t.seating.taken(kept.lost.map((s) => t.seating.seat(s)).join('; ')) : undefined);
    }
  }

  if (map.isPending) return <Loading />;
  if (!map.data) return <FormError error={map.error} />;
  const plan: SeatMapOut = map.data;
  const prices = Object.fromEntries(promo.kinds.map((k) => [k.id, k.price_cents]));
  const currency = promo.kinds[0]?.currency ?? '';
  const best: Best = chosenBest ?? { ticket_type_id: plan.categories[0]?.ticket_type_id ?? '', quantity: 1 };

  function toggle(seat: SeatOut) {
    const next = toggleSeat(selection, seat, max);
    setSelection(next.selection);
    setEmpty(false);
    setNotice(next.refused === 'full' ? t.seating.atMost(max) : next.refused === 'not_free' ? seatName(seat) : undefined);
  }

  function submit(e: FormEvent) {
    e.preventDefault();
    let order: SeatOrder;
    if (mode === 'pick') {
      setEmpty(selection.length === 0);
      if (!selection.length) return;
      order = { seats: selection };
    } else {
      order = { best_available: best.accessible ? best : { ticket_type_id: best.ticket_type_id, quantity: best.quantity } };
    }
    if (promo.applied) order.promo_code = promo.applied;
    booking.submit(order, () => {
      setSelection([]);
      setNotice(undefined);
    });
  }

  return (
    <section className="card book" aria-labelledby="book-title">
      <h2 id="book-title">{t.booking.title}</h2>
      <form onSubmit={submit} className="book-form">
        <fieldset className="seat-mode">
          <legend>{t.seating.how}</legend>
          {(['pick', 'best'] as const).map((m) => (
            <label key={m} className="seat-mode-option">
              <input type="radio" name={`mode-${eventId}`} checked={mode === m} onChange={() => setMode(m)} />
              {m === 'pick' ? t.seating.pick : t.seating.best}
            </label>
          ))}
        </fieldset>
        <Prices map={plan} prices={prices} currency={currency} names={Object.fromEntries(promo.kinds.map((k) => [k.id, k.name]))} />
        {mode === 'pick' ? (
          <PickSeats map={plan} selection={selection} onToggle={toggle} />
        ) : (
          <BestAvailable map={plan} max={max} kinds={promo.kinds} value={best} error={booking.error} onChange={setBest} />
        )}
        {mode === 'pick' && (
          <SeatChoice
            map={plan}
            selection={selection}
            prices={prices}
            currency={currency}
            max={max}
            notice={notice}
            empty={empty}
            error={booking.error}
            onRemove={toggle}
          />
        )}
        <PromoField promo={promo} bookError={booking.error} />
        <button className="btn btn-primary btn-large" type="submit" disabled={booking.pending || promo.loading}>
          {booking.pending ? t.booking.submitting : t.booking.submit}
        </button>
      </form>
      <FormError error={booking.error} fields={FIELDS} />
      <div aria-live="polite">{status}</div>
    </section>
  );
}

/** The map or the list of free seats, the person's choice of the two. */
function PickSeats({ map, selection, onToggle }: { map: SeatMapOut; selection: string[]; onToggle: (seat: SeatOut) => void }) {
  const [view, setView] = useState<'map' | 'list'>('map');
  return (
    <>
      <div className="seat-views" role="group" aria-label={t.seating.view}>
        <button type="button" className="btn" aria-pressed={view === 'map'} onClick={() => setView('map')}>{t.seating.viewMap}</button>
        <button type="button" className="btn" aria-pressed={view === 'list'} onClick={() => setView('list')}>{t.seating.viewList}</button>
      </div>
      {view === 'map' ? (
        <SeatPicker map={map} selected={selection} onToggle={onToggle} />
      ) : (
        <SeatList map={map} selected={selection} onToggle={onToggle} />
      )}
    </>
  );
}

/** Each category's ticket type and price. */
function Prices({ map, prices, names, currency }: {
  map: SeatMapOut; prices: Record<string, number>; names: Record<string, string>; currency: string;
}) {
  if (!map.categories.length) return null;
  return (
    <ul className="seat-prices">
      {map.categories.map((c) => {
        const price = prices[c.ticket_type_id];
        return (
          <li key={c.name}>
            <strong>{c.name}</strong>
            {names[c.ticket_type_id] && names[c.ticket_type_id] !== c.name && ` · ${names[c.ticket_type_id]}`}
            {price !== undefined && ` · ${price === 0 ? t.event.free : money(price, currency)}`}
          </li>
        );
      })}
    </ul>
  );
}
