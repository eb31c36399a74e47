import { useRef, useState, type FormEvent } from 'react';
import type { BookingOut } from '@/lib/api/types';
import { Alert, Countdown, FormError } from '@/components/Feedback';
import { SelectField } from '@/components/Field';
import { t } from '@/lib/i18n';
import { money } from '@/lib/format';
import { ProblemError } from '@/lib/session';
import { usePay } from '../api';

const CARDS = ['tok_visa', 'tok_chargeDeclined', 'tok_threeDSecure'];

export function PayPanel({ booking }: { booking: BookingOut }) {
  const pay = usePay(booking.id);
  const [card, setCard] = useState('tok_visa');
  const inFlight = useRef(false);
  const result = pay.data as { status?: string; refund_reason?: string } | undefined;

  function submit(e: FormEvent) {
    e.preventDefault();
    if (inFlight.current) return;
    inFlight.current = true;
    pay.mutate({ method: card, key: crypto.randomUUID() }, { onSettled: () => (inFlight.current = false) });
  }

  return (
    <section className="card pay" aria-labelledby={`pay-${booking.id}`}>
      <h3 id={`pay-${booking.id}`}>{t.pay.title}</h3>
      {booking.hold_expires_at && <Countdown until={booking.hold_expires_at} label={t.pay.timeLeft} />}
      <form onSubmit={submit}>
        <SelectField label={t.pay.card} value={card} onChange={(e) => setCard(e.target.value)}>
          {CARDS.map((c) => (
            <option key={c} value={c}>{t.pay.cards[c]}</option>
          ))}
        </SelectField>
        <button className="btn btn-primary" type="submit" disabled={pay.isPending}>
          {pay.isPending ? t.pay.paying : t.pay.submit(money(booking.amount_cents, booking.currency))}
        </button>
      </form>
      {result?.status === 'applied' && <Alert tone="success">{t.pay.applied}</Alert>}
      {result?.status === 'pending' && <Alert>{t.pay.pendingConfirm}</Alert>}
      {result?.status === 'refunded' && <Alert tone="warning">{t.pay.refunded(result.refund_reason ?? '')}</Alert>}
      {pay.error instanceof ProblemError && pay.error.status === 402 ? (
        <Alert tone="error">{t.pay.declined}</Alert>
      ) : (
        <FormError error={pay.error} fields={['payment_method']} />
      )}
    </section>
  );
}
