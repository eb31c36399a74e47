import { Link } from 'react-router';
import type { EventOut } from '@/lib/api/types';
import { t } from '@/lib/i18n';
import { dateTime } from '@/lib/format';
import { eventPrice } from '../price';
import { DateBanner } from '@/components/DateBanner';

export function EventCard({ event }: { event: EventOut }) {
  const left = event.availability.available;
  return (
    <li className="card event-card">
      <DateBanner iso={event.starts_at} category={event.category} compact />
      <p className="eyebrow">{t.categories[event.category] ?? event.category}</p>
      <h3>
        <Link to={`/events/${event.id}`}>{event.name}</Link>
      </h3>
      <p className="muted">
        <time dateTime={event.starts_at}>{dateTime(event.starts_at)}</time>
      </p>
      <p className="event-card-foot">
        <span className="price">{eventPrice(event)}</span>
        {event.status === 'cancelled' ? (
          <span className="badge badge-cancelled">{t.event.cancelledShort}</span>
        ) : (
          <span className={left > 0 ? 'badge badge-confirmed' : 'badge badge-rejected'}>
            {left > 0 ? t.event.seatsLeft(left) : t.event.soldOut}
          </span>
        )}
      </p>
    </li>
  );
}
