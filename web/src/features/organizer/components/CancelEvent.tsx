import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Alert, FormError, Loading } from '@/components/Feedback';
import { api, unwrap } from '@/lib/api/client';
import { t } from '@/lib/i18n';
import { useAttendees, useCancelEvent } from '../api';

export function CancelEvent({ eventId, status }: { eventId: string; status: string }) {
  const cancel = useCancelEvent(eventId);
  const [asking, setAsking] = useState(false);
  const [initial, setInitial] = useState(0);
  const started = cancel.isSuccess || status === 'cancelled';
  const event = useQuery({
    queryKey: ['cancel-progress', eventId],
    enabled: started,
    queryFn: () => unwrap(api.GET('/api/v1/events/{id}', { params: { path: { id: eventId } } })),
    refetchInterval: 1000,
  });
  const attendees = useAttendees(eventId, started);
  // The attendee list holds the confirmed bookings: it empties as the cancellation proceeds.
  const active = (attendees.data?.items ?? []).filter((a) => a.status === 'confirmed').length;
  const done = started && event.data?.status === 'cancelled' && active === 0;

  return (
    <section className="card danger-zone" aria-labelledby="cancel-title">
      <h2 id="cancel-title">{t.organizer.cancelEvent}</h2>
      {!started && !asking && (
        <button type="button" className="btn btn-danger" onClick={() => setAsking(true)}>{t.organizer.cancelEvent}</button>
      )}
      {asking && !started && (
        <div role="alertdialog" aria-labelledby="cancel-question" className="confirm">
          <p id="cancel-question">{t.organizer.cancelConfirm}</p>
          <div className="row-actions">
            <button type="button" className="btn btn-danger" disabled={cancel.isPending} onClick={() => {
                setInitial(attendees.data?.items.length ?? 0);
                cancel.mutate();
              }}>{t.organizer.confirm}</button>
            <button type="button" className="btn" onClick={() => setAsking(false)}>{t.organizer.keep}</button>
          </div>
        </div>
      )}
      {started && !done && (
        <>
          <Loading label={t.organizer.cancelProgress} />
          <progress aria-label={t.organizer.cancelProgress} max={Math.max(1, initial)} value={Math.max(0, initial - active)} />
        </>
      )}
      {done && <Alert tone="success">{t.organizer.cancelDone}</Alert>}
      <FormError error={cancel.error} />
    </section>
  );
}
