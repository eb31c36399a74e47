import { Link } from 'react-router';
import type { WaitlistEntryOut } from '@/lib/api/types';
import { Alert, Countdown, FormError, StatusBadge } from '@/components/Feedback';
import { t, statusLabel } from '@/lib/i18n';
import { useClaim, useLeave } from '../api';

export function WaitlistEntry({ entry, eventName }: { entry: WaitlistEntryOut; eventName?: string }) {
  const claim = useClaim();
  const leave = useLeave();
  return (
    <div className={`waitlist-entry waitlist-${entry.status}`}>
      <div className="waitlist-entry-head">
        {eventName && (
          <h2 className="h3">
            <Link to={`/events/${entry.event_id}`}>{eventName}</Link>
          </h2>
        )}
        <StatusBadge status={entry.status} label={statusLabel(t.waitlist.status, entry.status)} />
      </div>
      {entry.status === 'waiting' && entry.position != null && <p className="big-line">{t.waitlist.position(entry.position)}</p>}
      {entry.status === 'offered' && (
        <>
          <Alert tone="success">{t.waitlist.offered}</Alert>
          {entry.offer_expires_at && <Countdown until={entry.offer_expires_at} label={t.waitlist.offerLeft} />}
        </>
      )}
      {entry.status === 'claimed' && (
        <Alert tone="success">
          {t.waitlist.claimed} <Link to="/me/bookings">{t.booking.myBookings}</Link>
        </Alert>
      )}
      {entry.status === 'expired' && <Alert tone="warning">{t.waitlist.expired}</Alert>}
      <div className="row-actions">
        {entry.status === 'offered' && (
          <button type="button" className="btn btn-primary" disabled={claim.isPending} onClick={() => claim.mutate(entry.id)}>
            {t.waitlist.claim}
          </button>
        )}
        {(entry.status === 'waiting' || entry.status === 'offered') && (
          <button type="button" className="btn" disabled={leave.isPending} onClick={() => leave.mutate(entry.id)}>
            {t.waitlist.leave}
          </button>
        )}
      </div>
      <FormError error={claim.error ?? leave.error} />
    </div>
  );
}
