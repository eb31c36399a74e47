import { Link } from 'react-router';
import type { BookingOut } from '@/lib/api/types';
import { Alert, Loading } from '@/components/Feedback';
import { money } from '@/lib/format';
import { t, statusLabel } from '@/lib/i18n';
import { PayPanel } from './PayPanel';

/** Where a booking is, and its seats while it holds them (a seated event's booking). */
export function BookingStatus({ booking }: { booking: BookingOut }) {
  const seats = ['pending', 'held', 'confirmed'].includes(booking.status) && booking.seats?.length ? booking.seats : [];
  return (
    <>
      <Decision booking={booking} />
      {seats.length > 0 && (
        <div className="booked-seats">
          <h3 className="h3" id={`seats-${booking.id}`}>{t.seating.booked}</h3>
          <ul aria-labelledby={`seats-${booking.id}`}>
            {seats.map((s) => <li key={s.id}>{t.seating.seat(s)}</li>)}
          </ul>
        </div>
      )}
    </>
  );
}

function Decision({ booking }: { booking: BookingOut }) {
  switch (booking.status) {
    case 'pending':
      return <Loading label={t.booking.pending} />;
    case 'confirmed':
      return (
        <Alert tone="success">
          {t.booking.confirmed} <Link to="/me/tickets">{t.booking.viewTickets}</Link>
        </Alert>
      );
    case 'held':
      return (
        <>
          <Alert tone="warning">
            {t.booking.held}
            {booking.discount_cents > 0 && <> {t.promo.discount(money(booking.discount_cents, booking.currency))}</>}
          </Alert>
          <PayPanel booking={booking} />
        </>
      );
    case 'rejected':
      return <Alert tone="error">{t.booking.rejected(statusLabel(t.booking.reasons, booking.reason ?? ''))}</Alert>;
    case 'waitlisted':
      return <Alert>{t.booking.waitlisted}</Alert>;
    case 'expired':
      return <Alert tone="warning">{t.booking.expired}</Alert>;
    default:
      return <Alert>{statusLabel(t.booking.status, booking.status)}</Alert>;
  }
}
