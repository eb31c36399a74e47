import { useState, type FormEvent } from 'react';
import { Field } from '@/components/Field';
import { Alert, FormError, fieldError } from '@/components/Feedback';
import { t } from '@/lib/i18n';
import { useCreateVenue, useVenues } from '../api';

export function Venues({ ownerId, admin }: { ownerId?: string; admin: boolean }) {
  const venues = useVenues();
  const create = useCreateVenue();
  const [form, setForm] = useState({ name: '', address: '', city: '', capacity: '100' });
  const mine = (venues.data?.items ?? []).filter((v) => admin || v.owner_id === ownerId);

  function submit(e: FormEvent) {
    e.preventDefault();
    create.mutate({ ...form, capacity: Number(form.capacity) }, { onSuccess: () => setForm({ name: '', address: '', city: '', capacity: '100' }) });
  }
  const err = create.error;
  return (
    <section aria-labelledby="venues-title" className="stack">
      <h2 id="venues-title">{t.organizer.venues}</h2>
      {mine.length === 0 && <Alert>{t.organizer.noVenue}</Alert>}
      <ul className="list compact">
        {mine.map((v) => (
          <li key={v.id} className="card">
            <strong>{v.name}</strong> <span className="muted">{[v.city, `${t.organizer.capacity} ${v.capacity}`].filter(Boolean).join(' · ')}</span>
          </li>
        ))}
      </ul>
      <details className="card">
        <summary>{t.organizer.newVenue}</summary>
        <form onSubmit={submit} noValidate>
          <Field label={t.organizer.venueName} value={form.name} required onChange={(e) => setForm({ ...form, name: e.target.value })} error={fieldError(err, 'name')} />
          <Field label={t.organizer.address} value={form.address} onChange={(e) => setForm({ ...form, address: e.target.value })} error={fieldError(err, 'address')} />
          <Field label={t.organizer.city} value={form.city} onChange={(e) => setForm({ ...form, city: e.target.value })} error={fieldError(err, 'city')} />
          <Field label={t.organizer.capacity} type="number" min={1} value={form.capacity} onChange={(e) => setForm({ ...form, capacity: e.target.value })} error={fieldError(err, 'capacity')} />
          <FormError error={err} fields={['name', 'address', 'city', 'capacity']} />
          <button type="submit" className="btn btn-primary" disabled={create.isPending}>{t.organizer.createVenue}</button>
        </form>
      </details>
    </section>
  );
}
