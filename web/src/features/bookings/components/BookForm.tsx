import { useRef, useState, type FormEvent } from 'react';
import { Field } from '@/components/Field';
import { FormError, fieldError } from '@/components/Feedback';
import type { TicketTypeOut } from '@/lib/api/types';
import { money } from '@/lib/format';
import { t } from '@/lib/i18n';
import { newIdempotencyKey } from '@/lib/idempotency';
import { useTicketTypes } from '@/lib/ticketTypes';
import { useBook, useBooking, type Order } from '../api';
import { BookingStatus } from './BookingStatus';

export function BookForm({ eventId, max }: { eventId: string; max: number }) {
  const [code, setCode] = useState('');
  const [applied, setApplied] = useState<string>();
  const types = useTicketTypes(eventId, applied);
  const [quantity, setQuantity] = useState(1);
  const [counts, setCounts] = useState<Record<string, number>>({});
  const [empty, setEmpty] = useState(false);
  const book = useBook(eventId);
  const booking = useBooking(book.data?.id);
  const current = booking.data ?? book.data;
  // Set synchronously: a double click's second event arrives before React re-renders the button.
  const inFlight = useRef(false);
  // A code that unlocks nothing still lists the public types (its error shows by its field).
  const publicTypes = useTicketTypes(eventId);
  const kinds = (types.isError ? publicTypes.data : types.data) ?? [];
  const byType = kinds.length > 0;

  function submit(e: FormEvent) {
    e.preventDefault();
    if (inFlight.current) return; // a double click books once
    let order: Order = { quantity };
    if (byType) {
      const lines = kinds
        .filter((k) => (counts[k.id] ?? 0) > 0)
        .map((k) => ({ ticket_type_id: k.id, quantity: counts[k.id] }));
      setEmpty(lines.length === 0);
      if (lines.length === 0) return;
      order = { lines };
    }
    if (applied) order.promo_code = applied;
    inFlight.current = true;
    book.mutate({ order, key: newIdempotencyKey() }, { onSettled: () => (inFlight.current = false) });
  }

  const total = kinds.reduce((sum, k) => sum + (counts[k.id] ?? 0) * k.price_cents, 0);
  return (
    <section className="card book" aria-labelledby="book-title">
      <h2 id="book-title">{t.booking.title}</h2>
      <form onSubmit={submit} className="book-form">
        {byType ? (
          <fieldset className="ticket-types">
            <legend>{t.ticketTypes.choose}</legend>
            {kinds.map((k, i) => (
              <TypeField
                key={k.id}
                kind={k}
                max={max}
                value={counts[k.id] ?? 0}
                error={fieldError(book.error, `lines[${i}].quantity`)}
                onChange={(n) => setCounts((c) => ({ ...c, [k.id]: n }))}
              />
            ))}
            {total > 0 && <p className="ticket-total">{t.ticketTypes.total(money(total, kinds[0].currency))}</p>}
            {empty && <p className="field-error" role="alert">{t.ticketTypes.chooseOne}</p>}
          </fieldset>
        ) : (
          <Field
            label={t.booking.quantity}
            type="number"
            min={1}
            max={max}
            value={quantity}
            onChange={(e) => setQuantity(Math.max(1, Number(e.target.value) || 1))}
            error={fieldError(book.error, 'quantity')}
            hint={t.event.perBooking(max)}
          />
        )}
        <div className="promo">
          <Field
            label={t.promo.label}
            value={code}
            maxLength={40}
            autoComplete="off"
            onChange={(e) => setCode(e.target.value)}
            error={fieldError(types.error, 'promo_code') ?? fieldError(book.error, 'promo_code')}
            hint={applied && !types.isError ? t.promo.applied(applied) : undefined}
          />
          <button type="button" className="btn" onClick={() => setApplied(code.trim() || undefined)}>{t.promo.apply}</button>
        </div>
        <button className="btn btn-primary btn-large" type="submit" disabled={book.isPending || types.isLoading}>
          {book.isPending ? t.booking.submitting : t.booking.submit}
        </button>
      </form>
      <FormError error={book.error} fields={['quantity', 'promo_code', ...kinds.map((_, i) => `lines[${i}].quantity`)]} />
      <div aria-live="polite">{current && <BookingStatus booking={current} />}</div>
    </section>
  );
}

function TypeField({ kind, max, value, error, onChange }: {
  kind: TicketTypeOut; max: number; value: number; error?: string; onChange: (n: number) => void;
}) {
  const most = Math.max(0, Math.min(kind.max_per_booking ?? max, max, kind.available));
  const price = kind.price_cents === 0 ? t.event.free : money(kind.price_cents, kind.currency);
  const left = kind.available > 0 ? t.ticketTypes.left(kind.available) : t.event.soldOut;
  return (
    <Field
      label={`${kind.name} · ${price}`}
      type="number"
      min={0}
      max={most}
      value={value}
      disabled={most === 0}
      onChange={(e) => onChange(Math.min(most, Math.max(0, Number(e.target.value) || 0)))}
      hint={kind.description ? `${left} · ${kind.description}` : left}
      error={error}
    />
  );
}
