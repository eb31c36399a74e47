import { useState, type FormEvent } from 'react';
import { Field } from '@/components/Field';
import { Alert, FormError, fieldError } from '@/components/Feedback';
import type { VenueOut } from '@/lib/api/types';
import { t } from '@/lib/i18n';
import { useCreateVenue, useUpdateVenue, useVenues } from '../api';

type VenueBody = { name: string; address: string; city: string; capacity: number };

function VenueForm({ initial, submitLabel, busy, error, onSubmit }: {
  initial?: VenueOut;
  submitLabel: string;
  busy: boolean;
  error: unknown;
  onSubmit: (body: VenueBody, reset: () => void) => void;
}) {
  const blank = { name: initial?.name ?? '', address: initial?.address ?? '', city: initial?.city ?? '', capacity: String(initial?.capacity ?? 100) };
  const [form, setForm] = useState(blank);
  function submit(e: FormEvent) {
    e.preventDefault();
    onSubmit({ ...form, capacity: Number(form.capacity) }, () => setForm(blank));
  }
  return (
    <form onSubmit={submit} noValidate>
      <Field label={t.organizer.venueName} value={form.name} required onChange={(e) => setForm({ ...form, name: e.target.value })} error={fieldError(error, 'name')} />
      <Field label={t.organizer.address} value={form.address} onChange={(e) => setForm({ ...form, address: e.target.value })} error={fieldError(error, 'address')} />
      <Field label={t.organizer.city} value={form.city} onChange={(e) => setForm({ ...form, city: e.target.value })} error={fieldError(error, 'city')} />
      <Field label={t.organizer.capacity} type="number" min={1} value={form.capacity} onChange={(e) => setForm({ ...form, capacity: e.target.value })} error={fieldError(error, 'capacity')} />
      <FormError error={error} fields={['name', 'address', 'city', 'capacity']} />
      <button type="submit" className="btn btn-primary" disabled={busy}>{submitLabel}</button>
    </form>
  );
}

function VenueRow({ venue }: { venue: VenueOut }) {
  const [editing, setEditing] = useState(false);
  const update = useUpdateVenue(venue.id);
  return (
    <li className="card">
      <div className="venue-row">
        <div>
          <strong>{venue.name}</strong>{' '}
          <span className="muted">{[venue.city, `${t.organizer.capacity} ${venue.capacity}`].filter(Boolean).join(' · ')}</span>
        </div>
        <button type="button" className="btn" aria-expanded={editing} aria-label={`${t.organizer.editVenue}: ${venue.name}`} onClick={() => setEditing(!editing)}>
          {t.organizer.editVenue}
        </button>
      </div>
      {editing && (
        <VenueForm
          initial={venue}
          submitLabel={t.organizer.save}
          busy={update.isPending}
          error={update.error}
          onSubmit={(body) => update.mutate(body, { onSuccess: () => setEditing(false) })}
        />
      )}
    </li>
  );
}

export function Venues({ ownerId, admin }: { ownerId?: string; admin: boolean }) {
  const venues = useVenues();
  const create = useCreateVenue();
  const mine = (venues.data?.items ?? []).filter((v) => admin || v.owner_id === ownerId);
  return (
    <section aria-labelledby="venues-title" className="stack">
      <h2 id="venues-title">{t.organizer.venues}</h2>
      {venues.data && mine.length === 0 && <Alert>{t.organizer.noVenue}</Alert>}
      <ul className="list compact">
        {mine.map((v) => (
          <VenueRow key={v.id} venue={v} />
        ))}
      </ul>
      <details className="card">
        <summary>{t.organizer.newVenue}</summary>
        <VenueForm submitLabel={t.organizer.createVenue} busy={create.isPending} error={create.error} onSubmit={(body, reset) => create.mutate(body, { onSuccess: reset })} />
      </details>
    </section>
  );
}
