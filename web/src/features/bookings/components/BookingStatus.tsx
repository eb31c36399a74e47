import { Link } from 'react-router';
import type { BookingOut } from '@/lib/api/types';
import { Alert, Loading } from '@/components/Feedback';
import { money } from '@/lib/format';
import { t, statusLabel } from '@/lib/i18n';
import { PayPanel } from './PayPanel';

export function BookingStatus({ booking }: { booking: BookingOut }) {
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
