import { useMyWaitlist } from '../api';
import { t } from '@/lib/i18n';
import { WaitlistEntry } from './WaitlistEntry';

export function MyWaitlist({ eventName }: { eventName: (id: string) => string | undefined }) {
  const mine = useMyWaitlist();
  const items = (mine.data?.items ?? []).filter((e) => e.status === 'waiting' || e.status === 'offered');
  if (!items.length) return null;
  return (
    <section aria-labelledby="my-waitlist-title">
      <h2 id="my-waitlist-title">{t.waitlist.mine}</h2>
      <ul className="list">
        {items.map((e) => (
          <li key={e.id} className="card">
            <WaitlistEntry entry={e} eventName={eventName(e.event_id) ?? t.nav.events} />
          </li>
        ))}
      </ul>
    </section>
  );
}
