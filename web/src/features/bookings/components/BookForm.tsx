import { useRef, useState, type FormEvent } from 'react';
import { Field } from '@/components/Field';
import { FormError, fieldError } from '@/components/Feedback';
import { t } from '@/lib/i18n';
import { newIdempotencyKey } from '@/lib/idempotency';
import { useBook, useBooking } from '../api';
import { BookingStatus } from './BookingStatus';

export function BookForm({ eventId, max }: { eventId: string; max: number }) {
  const [quantity, setQuantity] = useState(1);
  const book = useBook(eventId);
  const booking = useBooking(book.data?.id);
  const current = booking.data ?? book.data;
  // Set synchronously: a double click's second event arrives before React re-renders the button.
  const inFlight = useRef(false);

  function submit(e: FormEvent) {
    e.preventDefault();
    if (inFlight.current) return; // a double click books once
    inFlight.current = true;
    book.mutate({ quantity, key: newIdempotencyKey() }, { onSettled: () => (inFlight.current = false) });
  }

  return (
    <section className="card book" aria-labelledby="book-title">
      <h2 id="book-title">{t.booking.title}</h2>
      <form onSubmit={submit} className="book-form">
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
        <button className="btn btn-primary btn-large" type="submit" disabled={book.isPending}>
          {book.isPending ? t.booking.submitting : t.booking.submit}
        </button>
      </form>
      <FormError error={book.error} fields={['quantity']} />
      <div aria-live="polite">{current && <BookingStatus booking={current} />}</div>
    </section>
  );
}
