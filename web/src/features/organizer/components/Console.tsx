import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { Alert, Loading } from '@/components/Feedback';
import { t, statusLabel } from '@/lib/i18n';
import { dateTime } from '@/lib/format';
import { useCreateEvent, useMyEvents, useVenues } from '../api';
import { EventForm } from './EventForm';
import { Venues } from './Venues';

export function Console({ userId, admin }: { userId?: string; admin: boolean }) {
  const events = useMyEvents(userId, admin);
  const venues = useVenues();
  const create = useCreateEvent();
  const navigate = useNavigate();
  const [creating, setCreating] = useState(false);
  const myVenues = (venues.data?.items ?? []).filter((v) => admin || v.owner_id === userId);

  return (
    <div className="stack">
      <h1>{t.organizer.title}</h1>
      <div className="console-grid">
        <section aria-labelledby="events-title" className="stack">
          <div className="section-head">
            <h2 id="events-title">{t.organizer.events}</h2>
            {myVenues.length > 0 && (
              <button type="button" className="btn btn-primary" aria-expanded={creating} onClick={() => setCreating(!creating)}>
                {t.organizer.newEvent}
              </button>
            )}
          </div>
          {creating && (
            <div className="card">
              <h3>{t.organizer.newEvent}</h3>
              <EventForm
                venues={myVenues}
                submitLabel={t.organizer.createEvent}
                busy={create.isPending}
                error={create.error}
                onSubmit={(body) => create.mutate(body, { onSuccess: (e) => navigate(`/organizer/events/${e.id}`) })}
              />
            </div>
          )}
          {events.isLoading && <Loading />}
          {events.data?.length === 0 && <Alert>{t.organizer.noEvents}</Alert>}
          <ul className="list">
            {events.data?.map((e) => (
              <li key={e.id} className="card booking-row">
                <div className="booking-row-main">
                  <h3><Link to={`/organizer/events/${e.id}`}>{e.name}</Link></h3>
                  <p className="muted">
                    <time dateTime={e.starts_at}>{dateTime(e.starts_at)}</time> · {e.availability.sold}/{e.capacity} · {statusLabel(t.event.status, e.status)}
                  </p>
                </div>
                <Link className="btn" to={`/organizer/events/${e.id}`} aria-label={`${t.organizer.open}: ${e.name}`}>{t.organizer.open}</Link>
              </li>
            ))}
          </ul>
        </section>
        <Venues ownerId={userId} admin={admin} />
      </div>
    </div>
  );
}
