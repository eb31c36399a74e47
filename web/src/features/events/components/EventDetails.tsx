import type { EventOut } from '@/lib/api/types';
import { t } from '@/lib/i18n';
import { dateTime } from '@/lib/format';
import { eventPrice } from '../price';
import { DateBanner } from '@/components/DateBanner';

export function EventDetails({ event, venueName }: { event: EventOut; venueName?: string }) {
  return (
    <header className="event-head">
      <DateBanner iso={event.starts_at} category={event.category} />
      <p className="eyebrow">{t.categories[event.category] ?? event.category}</p>
      <h1>{event.name}</h1>
      <dl className="facts">
        <div>
          <dt>{t.event.when}</dt>
          <dd><time dateTime={event.starts_at}>{dateTime(event.starts_at)}</time></dd>
        </div>
        {venueName && (
          <div>
            <dt>{t.event.where}</dt>
            <dd>{venueName}</dd>
          </div>
        )}
        <div>
          <dt>{t.event.price}</dt>
          <dd>{eventPrice(event)}</dd>
        </div>
      </dl>
      {event.status === 'cancelled' && <p className="alert alert-error">{t.event.cancelled}</p>}
      {event.description && <p className="event-description">{event.description}</p>}
    </header>
  );
}

export function AvailabilityPanel({ event, live }: { event: EventOut; live: boolean }) {
  const a = event.availability;
  const taken = a.capacity > 0 ? (a.sold + a.held) / a.capacity : 0;
  return (
    <section className="card availability" aria-labelledby="availability-title">
      <h2 id="availability-title">
        {t.event.availability}{' '}
        {live && <span className="live-dot" title={t.event.live}><span className="sr-only">{t.event.live}</span></span>}
      </h2>
      <p className="availability-big" aria-live="polite" data-testid="available">
        {a.waitlist_length > 0 ? t.event.waitlistOnly : a.available > 0 ? t.event.seatsLeft(a.available) : t.event.soldOut}
      </p>
      <div className="meter" role="meter" aria-label={t.event.sold} aria-valuemin={0} aria-valuemax={a.capacity} aria-valuenow={a.sold + a.held}>
        <span style={{ width: `${Math.min(100, taken * 100)}%` }} />
      </div>
      <dl className="availability-figures">
        <div><dt>{t.event.sold}</dt><dd>{a.sold}</dd></div>
        <div><dt>{t.event.held}</dt><dd>{a.held}</dd></div>
        <div><dt>{t.event.waitlist}</dt><dd>{a.waitlist_length}</dd></div>
      </dl>
    </section>
  );
}
