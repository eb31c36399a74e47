import { useNavigate, useParams } from 'react-router';
import { SelectField } from '@/components/Field';
import { Loading } from '@/components/Feedback';
import { useEvent } from '@/features/events/api';
import { useMyEvents } from '@/features/organizer/api';
import { Door } from '@/features/checkin/components/Door';
import { t } from '@/lib/i18n';
import { dateTime } from '@/lib/format';
import { useSession } from '@/lib/useSession';

function Pick() {
  const { user } = useSession();
  const events = useMyEvents(user?.id, user?.role === 'admin');
  const navigate = useNavigate();
  if (!events.data) return <Loading />;
  return (
    <section className="card narrow" aria-labelledby="pick-title">
      <h1 id="pick-title">{t.door.title}</h1>
      <SelectField label={t.door.pickEvent} value="" onChange={(e) => e.target.value && navigate(`/door/${e.target.value}`)}>
        <option value="">{t.door.chooseEvent}</option>
        {events.data.map((e) => (
          <option key={e.id} value={e.id}>{e.name} · {dateTime(e.starts_at)}</option>
        ))}
      </SelectField>
    </section>
  );
}

function WithEvent({ id }: { id: string }) {
  const event = useEvent(id);
  return <Door eventId={id} eventName={event.data?.name} />;
}

export default function DoorPage() {
  const { id } = useParams();
  return id ? <WithEvent id={id} /> : <Pick />;
}
