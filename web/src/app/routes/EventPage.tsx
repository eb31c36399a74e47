import { useEffect } from 'react';
import { Link, useLocation, useParams } from 'react-router';
import { useQuery } from '@tanstack/react-query';
import { Alert, Loading } from '@/components/Feedback';
import { useEvent, useLiveAvailability } from '@/features/events/api';
import { AvailabilityPanel, EventDetails } from '@/features/events/components/EventDetails';
import { BookForm } from '@/features/bookings/components/BookForm';
import { EventWaitlist } from '@/features/waitlist/components/EventWaitlist';
import { useMyWaitlist } from '@/features/waitlist/api';
import { api, unwrap } from '@/lib/api/client';
import { t } from '@/lib/i18n';
import { useSession } from '@/lib/useSession';

export function EventPage() {
  const { id = '' } = useParams();
  const event = useEvent(id);
  const live = useLiveAvailability(id);
  const { user, status } = useSession();
  const location = useLocation();
  const waitlist = useMyWaitlist(!!user);
  const venue = useQuery({
    queryKey: ['venue', event.data?.venue_id],
    enabled: !!event.data,
    queryFn: () => unwrap(api.GET('/api/v1/venues/{id}', { params: { path: { id: event.data!.venue_id } } })),
    staleTime: Infinity,
  });
  useEffect(() => {
    if (!event.data) return;
    document.title = `${event.data.name} · ${t.app.name}`;
    // The budget's measure: the page shows the event and its booking controls.
    if (!performance.getEntriesByName('evently:event-interactive').length) performance.mark('evently:event-interactive');
  }, [event.data]);

  if (event.isLoading) return <Loading />;
  if (!event.data) return <Alert tone="error">{t.app.notFound}</Alert>;
  const e = event.data;
  const entry = waitlist.data?.items.find((w) => w.event_id === e.id && ['waiting', 'offered', 'claimed'].includes(w.status));
  const soldOut = e.availability.available <= 0 || e.availability.waitlist_length > 0 || !!entry;
  const onSale = e.status !== 'cancelled';

  return (
    <div className="event-layout">
      <EventDetails event={e} venueName={venue.data ? [venue.data.name, venue.data.city].filter(Boolean).join(', ') : undefined} />
      <aside className="stack event-side">
        <AvailabilityPanel event={e} live={live} />
        {onSale && status === 'anonymous' && (
          <Alert>
            <Link to={`/login?next=${encodeURIComponent(location.pathname)}`}>{t.auth.needLogin}</Link>
          </Alert>
        )}
        {onSale && user && !soldOut && <BookForm eventId={e.id} max={Math.min(e.max_per_booking, Math.max(1, e.availability.available))} />}
        {onSale && user && soldOut && <EventWaitlist eventId={e.id} max={e.max_per_booking} />}
      </aside>
    </div>
  );
}
