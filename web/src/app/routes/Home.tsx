import { useSearchParams } from 'react-router';
import { Alert, Loading } from '@/components/Feedback';
import { EventCard } from '@/features/events/components/EventCard';
import { EventSearch } from '@/features/events/components/EventSearch';
import { useEvents, type EventFilters } from '@/features/events/api';
import { t } from '@/lib/i18n';

function filtersOf(params: URLSearchParams): EventFilters {
  const f: EventFilters = {};
  for (const k of ['q', 'category', 'from', 'to'] as const) {
    const v = params.get(k);
    if (v) f[k] = v;
  }
  for (const k of ['min_price', 'max_price'] as const) {
    const v = params.get(k);
    if (v) f[k] = Number(v);
  }
  if (params.get('available_only') === 'true') f.available_only = true;
  return f;
}

export function Home() {
  const [params, setParams] = useSearchParams();
  const filters = filtersOf(params);
  const events = useEvents(filters);
  return (
    <div className="stack">
      {params.get('account') === 'deleted' && <Alert tone="success">{t.account.deleted}</Alert>}
      <section className="hero">
        <h1>{t.home.title}</h1>
        <p className="muted">{t.app.tagline}</p>
      </section>
      <EventSearch
        initial={filters}
        onSearch={(f) => setParams(Object.fromEntries(Object.entries(f).map(([k, v]) => [k, String(v)])))}
      />
      {events.isLoading && <Loading />}
      {events.error && <Alert tone="error">{t.app.error}</Alert>}
      {events.data && events.data.items.length === 0 && <Alert>{t.home.none}</Alert>}
      <ul className="event-grid" aria-label={t.home.title}>
        {events.data?.items.map((e) => <EventCard key={e.id} event={e} />)}
      </ul>
    </div>
  );
}
