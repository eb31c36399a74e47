import { useState } from 'react';
import { Alert, FormError, StatusBadge } from '@/components/Feedback';
import { t, statusLabel } from '@/lib/i18n';
import { dateTime } from '@/lib/format';
import { downloadCsv, useAttendees } from '../api';

export function Attendees({ eventId }: { eventId: string }) {
  const list = useAttendees(eventId);
  const [error, setError] = useState<unknown>();
  const items = list.data?.items ?? [];
  return (
    <section className="card" aria-labelledby="attendees-title">
      <div className="section-head">
        <h2 id="attendees-title">{t.organizer.attendees}</h2>
        <button type="button" className="btn" onClick={() => downloadCsv(eventId).catch(setError)}>{t.organizer.exportCsv}</button>
      </div>
      <FormError error={error} />
      {items.length === 0 ? (
        <Alert>{t.organizer.noAttendees}</Alert>
      ) : (
        <div className="table-wrap" tabIndex={0} role="region" aria-labelledby="attendees-title">
          <table>
            <thead>
              <tr>
                <th scope="col">{t.auth.name}</th>
                <th scope="col">{t.auth.email}</th>
                <th scope="col">{t.booking.quantity}</th>
                <th scope="col">{t.booking.filter}</th>
                <th scope="col">{t.organizer.bookedAt}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((a) => (
                <tr key={a.booking_id}>
                  <td>{a.name}</td>
                  <td>{a.email}</td>
                  <td>{a.quantity}</td>
                  <td><StatusBadge status={a.status} label={statusLabel(t.booking.status, a.status)} /></td>
                  <td><time dateTime={a.booked_at}>{dateTime(a.booked_at)}</time></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
