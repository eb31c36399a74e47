import { useState, type FormEvent } from 'react';
import { Field } from '@/components/Field';
import { FormError, fieldError } from '@/components/Feedback';
import { t } from '@/lib/i18n';
import { useJoinWaitlist, useMyWaitlist } from '../api';
import { WaitlistEntry } from './WaitlistEntry';

/** The waitlist box of a sold-out event: join, or the caller's entry with its position or offer. */
export function EventWaitlist({ eventId, max }: { eventId: string; max: number }) {
  const mine = useMyWaitlist();
  const join = useJoinWaitlist(eventId);
  const [quantity, setQuantity] = useState(1);
  const entry = mine.data?.items.find(
    (e) => e.event_id === eventId && ['waiting', 'offered', 'claimed'].includes(e.status),
  );

  function submit(e: FormEvent) {
    e.preventDefault();
    join.mutate(quantity);
  }

  return (
    <section className="card waitlist" aria-labelledby="waitlist-title">
      <h2 id="waitlist-title">{t.waitlist.title}</h2>
      {entry ? (
        <WaitlistEntry entry={entry} />
      ) : (
        <form onSubmit={submit} className="book-form">
          <Field
            label={t.waitlist.quantity}
            type="number"
            min={1}
            max={max}
            value={quantity}
            onChange={(e) => setQuantity(Math.max(1, Number(e.target.value) || 1))}
            error={fieldError(join.error, 'quantity')}
          />
          <button type="submit" className="btn btn-primary btn-large" disabled={join.isPending}>
            {join.isPending ? t.waitlist.joining : t.waitlist.join}
          </button>
        </form>
      )}
      <FormError error={join.error} fields={['quantity']} />
    </section>
  );
}
