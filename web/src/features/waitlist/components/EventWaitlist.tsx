import { useState, type FormEvent } from 'react';
import { Field, SelectField } from '@/components/Field';
import { FormError, fieldError } from '@/components/Feedback';
import type { TicketTypeOut } from '@/lib/api/types';
import { t } from '@/lib/i18n';
import { useJoinWaitlist, useMyWaitlist } from '../api';
import { WaitlistEntry } from './WaitlistEntry';

/**
 * The waitlist box of a sold-out event, or of an event's sold-out ticket types (`types`: then the
 * caller waits for one of them, and a freed seat of that type is offered to the first person
 * waiting for it): join, or the caller's entry with its position or offer.
 */
export function EventWaitlist({ eventId, max, types = [] }: { eventId: string; max: number; types?: TicketTypeOut[] }) {
  const mine = useMyWaitlist();
  const join = useJoinWaitlist(eventId);
  const [quantity, setQuantity] = useState(1);
  const [chosen, setChosen] = useState('');
  const ticketTypeId = types.length ? chosen || types[0].id : undefined;
  const entry = mine.data?.items.find(
    (e) => e.event_id === eventId && ['waiting', 'offered', 'claimed'].includes(e.status),
  );
  const waitingFor = entry?.ticket_type_id ? types.find((k) => k.id === entry.ticket_type_id) : undefined;

  function submit(e: FormEvent) {
    e.preventDefault();
    join.mutate({ quantity, ticketTypeId });
  }

  return (
    <section className="card waitlist" aria-labelledby="waitlist-title">
      <h2 id="waitlist-title">{types.length ? t.waitlist.typeTitle : t.waitlist.title}</h2>
      {waitingFor && <p>{t.waitlist.forType(waitingFor.name)}</p>}
      {entry ? (
        <WaitlistEntry entry={entry} />
      ) : (
        <form onSubmit={submit} className="book-form">
          {types.length > 0 && (
            <SelectField
              label={t.waitlist.ticketType}
              value={ticketTypeId}
              onChange={(e) => setChosen(e.target.value)}
              error={fieldError(join.error, 'ticket_type_id')}
            >
              {types.map((k) => (
                <option key={k.id} value={k.id}>{k.name}</option>
              ))}
            </SelectField>
          )}
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
      <FormError error={join.error} fields={['quantity', 'ticket_type_id']} />
    </section>
  );
}
