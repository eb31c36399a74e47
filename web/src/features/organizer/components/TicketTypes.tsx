import { useState, type FormEvent } from 'react';
import { Alert, FormError, fieldError } from '@/components/Feedback';
import { Field } from '@/components/Field';
import type { TicketTypeOut } from '@/lib/api/types';
import { money } from '@/lib/format';
import { t } from '@/lib/i18n';
import { useTicketTypes } from '@/lib/ticketTypes';
import { useTicketTypeActions } from '../api';

/** The organiser's view of an event's ticket types: each one's counts, its quota to edit, and a form to add one. */
export function TicketTypes({ eventId }: { eventId: string }) {
  const list = useTicketTypes(eventId);
  const actions = useTicketTypeActions(eventId);
  const items = list.data ?? [];
  return (
    <section className="card" aria-labelledby="types-title">
      <h2 id="types-title">{t.ticketTypes.title}</h2>
      {items.length === 0 ? (
        <Alert>{t.ticketTypes.none}</Alert>
      ) : (
        <div className="table-wrap" tabIndex={0} role="region" aria-labelledby="types-title">
          <table>
            <thead>
              <tr>
                <th scope="col">{t.ticketTypes.name}</th>
                <th scope="col">{t.event.price}</th>
                <th scope="col">{t.ticketTypes.sold}</th>
                <th scope="col">{t.ticketTypes.held}</th>
                <th scope="col">{t.ticketTypes.available}</th>
                <th scope="col">{t.ticketTypes.quota}</th>
                <th scope="col"><span className="sr-only">{t.ticketTypes.remove}</span></th>
              </tr>
            </thead>
            <tbody>
              {items.map((k) => <Row key={`${k.id}-${k.version}`} kind={k} actions={actions} />)}
            </tbody>
          </table>
        </div>
      )}
      <FormError error={actions.edit.error ?? actions.remove.error} />
      <AddType eventId={eventId} />
    </section>
  );
}

function Row({ kind, actions }: { kind: TicketTypeOut; actions: ReturnType<typeof useTicketTypeActions> }) {
  const [quota, setQuota] = useState(kind.quota);
  const booked = kind.sold + kind.held > 0;
  return (
    <tr>
      <th scope="row">
        {kind.name} {kind.hidden && <span className="badge">{t.ticketTypes.hiddenTag}</span>}
      </th>
      <td>{kind.price_cents === 0 ? t.event.free : money(kind.price_cents, kind.currency)}</td>
      <td>{kind.sold}</td>
      <td>{kind.held}</td>
      <td>{kind.available}</td>
      <td>
        <form
          className="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            actions.edit.mutate({ id: kind.id, version: kind.version, patch: { quota } });
          }}
        >
          <label className="sr-only" htmlFor={`quota-${kind.id}`}>{`${t.ticketTypes.quota}: ${kind.name}`}</label>
          <input id={`quota-${kind.id}`} type="number" min={kind.sold + kind.held} value={quota} onChange={(e) => setQuota(Number(e.target.value) || 0)} />
          <button className="btn" type="submit" disabled={quota === kind.quota}>{t.ticketTypes.saveQuota}</button>
        </form>
      </td>
      <td>
        {!booked && (
          <button type="button" className="btn" onClick={() => actions.remove.mutate({ id: kind.id, version: kind.version })}>
            {t.ticketTypes.remove}
            <span className="sr-only">: {kind.name}</span>
          </button>
        )}
      </td>
    </tr>
  );
}

function AddType({ eventId }: { eventId: string }) {
  const { add } = useTicketTypeActions(eventId);
  const [name, setName] = useState('');
  const [price, setPrice] = useState(0);
  const [quota, setQuota] = useState(10);
  const [most, setMost] = useState('');
  const [hidden, setHidden] = useState(false);

  function submit(e: FormEvent) {
    e.preventDefault();
    add.mutate(
      { name, price_cents: price, quota, hidden, ...(most ? { max_per_booking: Number(most) } : {}) },
      { onSuccess: () => setName('') },
    );
  }

  return (
    <form onSubmit={submit} className="grid-2 add-type" aria-label={t.ticketTypes.add}>
      <Field label={t.ticketTypes.name} value={name} required maxLength={100} onChange={(e) => setName(e.target.value)} error={fieldError(add.error, 'name')} />
      <Field label={t.ticketTypes.price} type="number" min={0} value={price} onChange={(e) => setPrice(Number(e.target.value) || 0)} error={fieldError(add.error, 'price_cents')} />
      <Field label={t.ticketTypes.quota} type="number" min={0} value={quota} onChange={(e) => setQuota(Number(e.target.value) || 0)} error={fieldError(add.error, 'quota')} />
      <Field label={t.ticketTypes.maxPerBooking} type="number" min={1} max={100} value={most} onChange={(e) => setMost(e.target.value)} error={fieldError(add.error, 'max_per_booking')} />
      <Field label={t.ticketTypes.hidden} type="checkbox" checked={hidden} onChange={(e) => setHidden(e.target.checked)} />
      <FormError error={add.error} fields={['name', 'price_cents', 'quota', 'max_per_booking']} />
      <button className="btn btn-primary" type="submit" disabled={add.isPending}>{t.ticketTypes.add}</button>
    </form>
  );
}
