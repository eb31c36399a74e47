import { dayMonth } from '@/lib/format';

/** The coloured date block of an event (decorative: the date is also written out as text). */
export function DateBanner({ iso, category, compact = false }: { iso: string; category: string; compact?: boolean }) {
  const d = dayMonth(iso);
  return (
    <div className={`event-banner cat-${category}${compact ? ' event-card-banner' : ''}`} aria-hidden="true">
      <span className="event-banner-day">{d.day}</span>
      <span className="event-banner-month">{d.month} · {d.weekday}</span>
    </div>
  );
}
