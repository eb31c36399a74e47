import { lazy, Suspense, useEffect } from 'react';
import { Link, useLocation, useParams } from 'react-router';
import { useQuery } from '@tanstack/react-query';
import { Alert, Loading } from '@/components/Feedback';
import { useEvent, useLiveAvailability } from '@/features/events/api';
import { AvailabilityPanel, EventDetails } from '@/features/events/components/EventDetails';
import { BookForm } from '@/features/bookings/components/BookForm';
import { BookingStatus } from '@/features/bookings/components/BookingStatus';
import { useBookingFlow } from '@/features/bookings/api';
import { useLiveSeats, useSeatMap } from '@/features/seating/api';
import { EventWaitlist } from '@/features/waitlist/components/EventWaitlist';
import { useMyWaitlist } from '@/features/waitlist/api';
import { api, unwrap } from '@/lib/api/client';
import { t } from '@/lib/i18n';
import { useTicketTypes } from '@/lib/ticketTypes';
import { useSession } from '@/lib/useSession';

// A seated event's booking form and map (the SVG picker) load only for a seated event.
const SeatedBookForm = lazy(() => import('@/features/seating/components/SeatedBookForm').then((m) => ({ default: m.SeatedBookForm })));
const SeatMapView = lazy(() => import('@/features/seating/components/SeatMapView').then((m) => ({ default: m.SeatMapView })));

/** The seat picker booking through the bookings feature's submission, its answer shown by its status. */
function SeatedBooking({ eventId, max }: { eventId: string; max: number }) {
  const flow = useBookingFlow(eventId);
  return (
    <Suspense fallback={<Loading />}>
      <SeatedBookForm eventId={eventId} max={max} booking={flow} status={flow.booking && <BookingStatus booking={flow.booking} />} />
    </Suspense>
  );
}

export function EventPage() {
  const { id = '' } = useParams();
  const event = useEvent(id);
  const live = useLiveAvailability(id);
  const seatMap = useSeatMap(id);
  const seated = !!seatMap.data;
  const seatsLive = useLiveSeats(id, seated);
  const { user, status } = useSession();
  const location = useLocation();
  const waitlist = useMyWaitlist(!!user);
  const types = useTicketTypes(id);
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
  const max = Math.min(e.max_per_booking, Math.max(1, e.availability.available));
  // The waitlist is by ticket type for an event that sells types (not for a seated one): offered
  // for the types sold out, or every type once the event is.
  const listed = seated ? [] : (types.data ?? []).filter((k) => !k.hidden);
  const waitTypes = soldOut ? listed : listed.filter((k) => k.available <= 0);

  return (
    <div className="event-layout">
      <EventDetails event={e} venueName={venue.data ? [venue.data.name, venue.data.city].filter(Boolean).join(', ') : undefined} />
      <aside className={seated ? 'stack event-side event-side-seated' : 'stack event-side'}>
        <AvailabilityPanel event={e} live={live} />
        {onSale && status === 'anonymous' && (
          <Alert>
            <Link to={`/login?next=${encodeURIComponent(location.pathname)}`}>{t.auth.needLogin}</Link>
          </Alert>
        )}
        {status === 'anonymous' && seated && (
          <section className="card" aria-labelledby="seat-map-title">
            <h2 id="seat-map-title">
              {t.seating.map}{' '}
              {seatsLive && <span className="live-dot" title={t.event.live}><span className="sr-only">{t.event.live}</span></span>}
            </h2>
            <Suspense fallback={<Loading />}><SeatMapView eventId={e.id} /></Suspense>
          </section>
        )}
        {onSale && user && !soldOut && (seatMap.isPending ? <Loading /> : seated ? <SeatedBooking eventId={e.id} max={max} /> : <BookForm eventId={e.id} max={max} />)}
        {onSale && user && !seated && (soldOut || waitTypes.length > 0) && (
          <EventWaitlist eventId={e.id} max={e.max_per_booking} types={waitTypes} />
        )}
      </aside>
    </div>
  );
}
