import { useState } from 'react';
import { Alert, Loading } from '@/components/Feedback';
import { t } from '@/lib/i18n';
import { ProblemError } from '@/lib/session';
import { useEditableEvent, useSaveEvent, useVenues } from '../api';
import { EventForm } from './EventForm';

export function EventEditor({ eventId }: { eventId: string }) {
  const event = useEditableEvent(eventId);
  const venues = useVenues();
  const save = useSaveEvent(eventId);
  const [generation, setGeneration] = useState(0);
  if (!event.data) return <Loading />;
  const stale = save.error instanceof ProblemError && save.error.status === 412;

  async function reload() {
    save.reset();
    await event.refetch();
    setGeneration((g) => g + 1);
  }

  return (
    <section className="card" aria-labelledby="edit-title">
      <h2 id="edit-title">{t.organizer.editEvent}</h2>
      {stale && (
        <div className="alert alert-warning" role="alert">
          <p>{t.organizer.conflict}</p>
          <button type="button" className="btn" onClick={() => void reload()}>{t.organizer.reload}</button>
        </div>
      )}
      {save.isSuccess && <Alert tone="success">{t.organizer.saved}</Alert>}
      <EventForm
        key={`${event.data.version}-${generation}`}
        venues={venues.data?.items ?? []}
        initial={event.data}
        submitLabel={t.organizer.save}
        busy={save.isPending}
        error={stale ? undefined : save.error}
        onSubmit={(body) => {
          const { venue_id: _v, currency: _c, ...patch } = body;
          save.mutate({ version: event.data!.version, patch });
        }}
      />
    </section>
  );
}
