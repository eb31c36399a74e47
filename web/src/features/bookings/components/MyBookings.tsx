import { useState } from 'react';
import { Link } from 'react-router';
import type { BookingOut } from '@/lib/api/types';
import { Alert, FormError, Loading, StatusBadge } from '@/components/Feedback';
import { SelectField } from '@/components/Field';
import { t, statusLabel } from '@/lib/i18n';
import { dateTime, money } from '@/lib/format';
import { useCancelBooking, useMyBookings } from '../api';
import { PayPanel } from './PayPanel';

const STATUSES = ['pending', 'held', 'confirmed', 'waitlisted', 'rejected', 'cancelled', 'expired'];

export function MyBookings({ eventName }: { eventName: (id: string) => string | undefined }) {
  const [status, setStatus] = useState('');
  const bookings = useMyBookings(status || undefined);
  const cancel = useCancelBooking();

  return (
    <section aria-labelledby="bookings-title">
      <div className="section-head">
        <h1 id="bookings-title">{t.booking.myBookings}</h1>
        <SelectField label={t.booking.filter} value={status} onChange={(e) => setStatus(e.target.value)}>
          <option value="">{t.booking.all}</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>{t.booking.status[s]}</option>
          ))}
        </SelectField>
      </div>
      <FormError error={cancel.error} />
      {bookings.isLoading && <Loading />}
      {bookings.data && bookings.data.items.length === 0 && <Alert>{t.booking.none}</Alert>}
      <ul className="list">
        {bookings.data?.items.map((b: BookingOut) => (
          <li key={b.id} className="card booking-row">
            <div className="booking-row-main">
              <h2 className="h3">
                <Link to={`/events/${b.event_id}`}>{eventName(b.event_id) ?? t.nav.events}</Link>
              </h2>
              <p className="muted">
                {t.booking.seats(b.quantity)} · {money(b.amount_cents, b.currency)} · <time dateTime={b.created_at}>{dateTime(b.created_at)}</time>
              </p>
              {!!b.seats?.length && <p className="booking-seats">{b.seats.map((s) => t.seating.seat(s)).join(' · ')}</p>}
            </div>
            <StatusBadge status={b.status} label={statusLabel(t.booking.status, b.status)} />
            <div className="row-actions">
              {b.status === 'confirmed' && <Link className="btn" to="/me/tickets">{t.booking.viewTickets}</Link>}
              {['confirmed', 'held', 'pending', 'waitlisted'].includes(b.status) && (
                <button
                  type="button"
                  className="btn btn-danger"
                  disabled={cancel.isPending}
                  onClick={() => window.confirm(t.booking.cancelConfirm) && cancel.mutate(b.id)}
                >
                  {t.booking.cancel}
                </button>
              )}
            </div>
            {b.status === 'held' && <PayPanel booking={b} />}
          </li>
        ))}
      </ul>
    </section>
  );
}
