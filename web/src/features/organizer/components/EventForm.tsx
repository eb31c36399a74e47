import { useState, type FormEvent } from 'react';
import { Field, SelectField, TextAreaField } from '@/components/Field';
import { FormError, fieldError } from '@/components/Feedback';
import type { EventOut, VenueOut } from '@/lib/api/types';
import { t } from '@/lib/i18n';
import { fromLocalInput, toLocalInput } from '@/lib/format';
import type { EventBody } from '../api';

const CATEGORIES = ['music', 'theatre', 'comedy', 'dance', 'sports', 'conference', 'workshop', 'festival', 'exhibition', 'film', 'family', 'food', 'other'];
const FIELDS = ['name', 'description', 'venue_id', 'category', 'starts_at', 'ends_at', 'capacity', 'price_cents', 'currency', 'max_per_booking', 'hold_minutes'];

interface Props {
  venues: VenueOut[];
  initial?: EventOut;
  submitLabel: string;
  busy: boolean;
  error: unknown;
  onSubmit: (body: EventBody) => void;
}

function defaults(initial?: EventOut) {
  const start = new Date(Date.now() + 7 * 86400_000);
  start.setMinutes(0, 0, 0);
  return {
    name: initial?.name ?? '',
    description: initial?.description ?? '',
    venue_id: initial?.venue_id ?? '',
    category: initial?.category ?? 'music',
    starts_at: toLocalInput(initial?.starts_at ?? start.toISOString()),
    ends_at: toLocalInput(initial?.ends_at ?? new Date(start.getTime() + 3 * 3600_000).toISOString()),
    capacity: String(initial?.capacity ?? 100),
    price_cents: String(initial?.price_cents ?? 0),
    currency: initial?.currency ?? 'EUR',
    max_per_booking: String(initial?.max_per_booking ?? 10),
    hold_minutes: String(initial?.hold_minutes ?? 10),
  };
}

export function EventForm({ venues, initial, submitLabel, busy, error, onSubmit }: Props) {
  const [f, setF] = useState(() => defaults(initial));
  const set = (k: keyof typeof f) => (e: { target: { value: string } }) => setF({ ...f, [k]: e.target.value });
  const venueId = f.venue_id || venues[0]?.id || '';

  function submit(e: FormEvent) {
    e.preventDefault();
    onSubmit({
      name: f.name,
      description: f.description,
      venue_id: venueId,
      category: f.category,
      starts_at: fromLocalInput(f.starts_at),
      ends_at: fromLocalInput(f.ends_at),
      capacity: Number(f.capacity),
      price_cents: Number(f.price_cents),
      currency: f.currency.toUpperCase(),
      max_per_booking: Number(f.max_per_booking),
      hold_minutes: Number(f.hold_minutes),
    });
  }
  const err = (k: string) => fieldError(error, k);
  return (
    <form onSubmit={submit} className="event-form" noValidate>
      <Field label={t.organizer.name} value={f.name} required onChange={set('name')} error={err('name')} />
      <TextAreaField label={t.organizer.description} value={f.description} rows={3} onChange={set('description')} error={err('description')} />
      <div className="grid-2">
        {!initial && (
          <SelectField label={t.organizer.venue} value={venueId} onChange={set('venue_id')} error={err('venue_id')}>
            {venues.map((v) => (
              <option key={v.id} value={v.id}>{v.name}</option>
            ))}
          </SelectField>
        )}
        <SelectField label={t.organizer.category} value={f.category} onChange={set('category')} error={err('category')}>
          {CATEGORIES.map((c) => (
            <option key={c} value={c}>{t.categories[c]}</option>
          ))}
        </SelectField>
        <Field label={t.organizer.startsAt} type="datetime-local" value={f.starts_at} onChange={set('starts_at')} error={err('starts_at')} />
        <Field label={t.organizer.endsAt} type="datetime-local" value={f.ends_at} onChange={set('ends_at')} error={err('ends_at')} />
        <Field label={t.organizer.capacity} type="number" min={1} value={f.capacity} onChange={set('capacity')} error={err('capacity')} />
        <Field label={t.organizer.priceCents} type="number" min={0} value={f.price_cents} onChange={set('price_cents')} error={err('price_cents')} />
        {!initial && <Field label={t.organizer.currency} value={f.currency} maxLength={3} onChange={set('currency')} error={err('currency')} />}
        <Field label={t.organizer.maxPerBooking} type="number" min={1} value={f.max_per_booking} onChange={set('max_per_booking')} error={err('max_per_booking')} />
        <Field label={t.organizer.holdMinutes} type="number" min={1} value={f.hold_minutes} onChange={set('hold_minutes')} error={err('hold_minutes')} />
      </div>
      <FormError error={error} fields={FIELDS} />
      <button type="submit" className="btn btn-primary btn-large" disabled={busy}>{submitLabel}</button>
    </form>
  );
}
