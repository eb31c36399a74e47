import { useState, type FormEvent } from 'react';
import { Field } from '@/components/Field';
import { FormError, fieldError } from '@/components/Feedback';
import { PromoField } from '@/components/PromoField';
import type { TicketTypeOut } from '@/lib/api/types';
import { money } from '@/lib/format';
import { t } from '@/lib/i18n';
import { usePromo } from '@/lib/ticketTypes';
import { useBookingFlow, type Order } from '../api';
import { BookingStatus } from './BookingStatus';

export function BookForm({ eventId, max }: { eventId: string; max: number }) {
  const promo = usePromo(eventId);
  const [quantity, setQuantity] = useState(1);
  const [counts, setCounts] = useState<Record<string, number>>({});
  const [empty, setEmpty] = useState(false);
  const flow = useBookingFlow(eventId);
  const kinds = promo.kinds;
  const byType = kinds.length > 0;

  function submit(e: FormEvent) {
    e.preventDefault();
    let order: Order = { quantity };
    if (byType) {
      const lines = kinds
        .filter((k) => (counts[k.id] ?? 0) > 0)
        .map((k) => ({ ticket_type_id: k.id, quantity: counts[k.id] }));
      setEmpty(lines.length === 0);
      if (lines.length === 0) return;
      order = { lines };
    }
    if (promo.applied) order.promo_code = promo.applied;
    flow.submit(order); // a double click books once
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
                error={fieldError(flow.error, `lines[${i}].quantity`)}
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
            error={fieldError(flow.error, 'quantity')}
            hint={t.event.perBooking(max)}
          />
        )}
        <PromoField promo={promo} bookError={flow.error} />
        <button className="btn btn-primary btn-large" type="submit" disabled={flow.pending || promo.loading}>
          {flow.pending ? t.booking.submitting : t.booking.submit}
        </button>
      </form>
      <FormError error={flow.error} fields={['quantity', 'promo_code', ...kinds.map((_, i) => `lines[${i}].quantity`)]} />
      <div aria-live="polite">{flow.booking && <BookingStatus booking={flow.booking} />}</div>
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
