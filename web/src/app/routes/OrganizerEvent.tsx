import { lazy, Suspense } from 'react';
import { Link, useParams } from 'react-router';
import { Loading } from '@/components/Feedback';
import { useEvent } from '@/features/events/api';
import { EventEditor } from '@/features/organizer/components/EventEditor';
import { Attendees } from '@/features/organizer/components/Attendees';
import { CancelEvent } from '@/features/organizer/components/CancelEvent';
import { TicketTypes } from '@/features/organizer/components/TicketTypes';
import { PromoCodes } from '@/features/organizer/components/PromoCodes';
import { Seating } from '@/features/organizer/components/Seating';
import { useLiveSeats, useSeatMap } from '@/features/seating/api';
import { SeatPicker } from '@/features/seating/components/SeatPicker';
import { t } from '@/lib/i18n';

const EventCharts = lazy(() => import('@/features/analytics/components/EventCharts'));
const LiveSales = lazy(() => import('@/features/analytics/components/LiveSales'));

export default function OrganizerEventPage() {
  const { id = '' } = useParams();
  const event = useEvent(id);
  const seatMap = useSeatMap(id);
  useLiveSeats(id, !!seatMap.data);
  return (
    <div className="stack">
      <p><Link to="/organizer">← {t.organizer.title}</Link></p>
      <h1>{event.data?.name ?? t.app.loading}</h1>
      <p className="row-actions">
        <Link className="btn" to={`/events/${id}`}>{t.organizer.publicPage}</Link>
        <Link className="btn" to={`/door/${id}`}>{t.door.title}</Link>
      </p>
      <Suspense fallback={<Loading />}>
        <EventCharts eventId={id} />
      </Suspense>
      <div className="console-grid">
        <EventEditor eventId={id} />
        <Suspense fallback={<Loading />}>
          <LiveSales eventId={id} />
        </Suspense>
      </div>
      <TicketTypes eventId={id} />
      {event.data && (
        <Seating
          eventId={id}
          venueId={event.data.venue_id}
          current={seatMap.data}
          map={seatMap.data && <SeatPicker map={seatMap.data} />}
        />
      )}
      {event.data && <PromoCodes eventId={id} currency={event.data.currency} />}
      <Attendees eventId={id} />
      {event.data && <CancelEvent eventId={id} status={event.data.status} />}
    </div>
  );
}
