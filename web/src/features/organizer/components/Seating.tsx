import { useState, type FormEvent, type ReactNode } from 'react';
import { Alert, FormError, fieldError } from '@/components/Feedback';
import { Field, SelectField } from '@/components/Field';
import type { SeatMapOut, SeatingPlanOut } from '@/lib/api/types';
import { dateTime } from '@/lib/format';
import { t } from '@/lib/i18n';
import { useTicketTypes } from '@/lib/ticketTypes';
import { useImportPlan, useSeatingPlans, useSetSeating } from '../api';

/**
 * An event's seating: import a plan for its venue (pretix's JSON), the venue's plans, then one of
 * them for the event with a ticket type for each of its categories. `current` is the event's seat
 * map (null when not seated) and `map` shows it.
 */
export function Seating({ eventId, venueId, current, map }: {
  eventId: string;
  venueId: string;
  current: SeatMapOut | null | undefined;
  map: ReactNode;
}) {
  const plans = useSeatingPlans(venueId);
  const [planId, setPlanId] = useState<string>();
  const items = plans.data ?? [];
  return (
    <section className="card seating" aria-labelledby="seating-title">
      <h2 id="seating-title">{t.seating.title}</h2>
      {current ? <p className="big-line" role="status">{t.seating.seated(current.seats.length)}</p> : <Alert>{t.seating.notSeated}</Alert>}
      <ImportPlan venueId={venueId} onImported={(plan) => setPlanId(plan.id)} />
      <h3 className="h3" id="plans-title">{t.seating.plans}</h3>
      {items.length === 0 ? (
        <p className="muted">{t.seating.noPlans}</p>
      ) : (
        <div className="table-wrap" tabIndex={0} role="region" aria-labelledby="plans-title">
          <table>
            <thead>
              <tr>
                <th scope="col">{t.seating.planName}</th>
                <th scope="col">{t.seating.seats}</th>
                <th scope="col">{t.seating.categories}</th>
                <th scope="col">{t.seating.importedAt}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((p) => (
                <tr key={p.id}>
                  <th scope="row">{p.name}</th>
                  <td>{p.seat_count}</td>
                  <td>{p.categories.map((c) => c.name).join(', ')}</td>
                  <td><time dateTime={p.created_at}>{dateTime(p.created_at)}</time></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {items.length > 0 && (
        <SetSeating
          key={planId ?? current?.plan_id ?? items[0].id}
          eventId={eventId}
          plans={items}
          current={current ?? undefined}
          initial={planId ?? current?.plan_id ?? items[0].id}
        />
      )}
      {current && (
        <>
          <h3 className="h3">{t.seating.map}</h3>
          {map}
        </>
      )}
    </section>
  );
}

function ImportPlan({ venueId, onImported }: { venueId: string; onImported: (plan: SeatingPlanOut) => void }) {
  const add = useImportPlan(venueId);
  const [text, setText] = useState<string>();
  const [bad, setBad] = useState(false);
  const [done, setDone] = useState<string>();

  function submit(e: FormEvent) {
    e.preventDefault();
    if (text === undefined) return;
    let plan: unknown;
    try {
      plan = JSON.parse(text);
    } catch {
      setBad(true);
      return;
    }
    setBad(false);
    setDone(undefined);
    add.mutate(plan, {
      onSuccess: (p) => {
        setDone(t.seating.imported(p.name, p.seat_count));
        onImported(p);
      },
    });
  }

  return (
    <form onSubmit={submit} className="seating-import" aria-label={t.seating.importTitle}>
      <Field
        label={t.seating.file}
        type="file"
        accept="application/json,.json"
        hint={t.seating.fileHint}
        error={bad ? t.seating.badJson : fieldError(add.error, 'name')}
        onChange={(e) => {
          const file = e.target.files?.[0];
          setBad(false);
          if (file) void file.text().then(setText);
          else setText(undefined);
        }}
      />
      <FormError error={add.error} fields={['name']} />
      {done && <Alert tone="success">{done}</Alert>}
      <button className="btn btn-primary" type="submit" disabled={text === undefined || add.isPending}>{t.seating.import}</button>
    </form>
  );
}

function SetSeating({ eventId, plans, current, initial }: {
  eventId: string;
  plans: SeatingPlanOut[];
  current?: SeatMapOut;
  initial: string;
}) {
  const types = useTicketTypes(eventId);
  const save = useSetSeating(eventId);
  const [planId, setPlanId] = useState(initial);
  const [chosen, setChosen] = useState<Record<string, string>>({});
  const [saved, setSaved] = useState<string>();
  const plan = plans.find((p) => p.id === planId);
  const kinds = types.data ?? [];
  // What a category sells as: the organiser's choice, else the event's current mapping, else the type of the same name.
  const typeOf = (category: string) =>
    chosen[category] ??
    (current?.plan_id === planId ? current.categories.find((c) => c.name === category)?.ticket_type_id : undefined) ??
    kinds.find((k) => k.name.toLowerCase() === category.toLowerCase())?.id ??
    '';

  function submit(e: FormEvent) {
    e.preventDefault();
    if (!plan) return;
    setSaved(undefined);
    const categories = Object.fromEntries(plan.categories.map((c) => [c.name, typeOf(c.name)]));
    save.mutate({ plan_id: plan.id, categories }, { onSuccess: (s) => setSaved(t.seating.saved(s.seat_count)) });
  }

  const categoryFields = plan?.categories.map((c) => `categories.${c.name}`) ?? [];
  return (
    <form onSubmit={submit} className="seating-set" aria-label={t.seating.setTitle}>
      <h3 className="h3">{t.seating.setTitle}</h3>
      <SelectField label={t.seating.plan} value={planId} onChange={(e) => setPlanId(e.target.value)} error={fieldError(save.error, 'plan_id')}>
        {plans.map((p) => <option key={p.id} value={p.id}>{p.name} · {p.seat_count}</option>)}
      </SelectField>
      {kinds.length === 0 && <Alert tone="warning">{t.seating.needTypes}</Alert>}
      {plan && (
        <fieldset className="seating-categories">
          <legend>{t.seating.mapTypes}</legend>
          {plan.categories.map((c) => (
            <SelectField
              key={c.name}
              label={c.name}
              value={typeOf(c.name)}
              required
              onChange={(e) => setChosen((m) => ({ ...m, [c.name]: e.target.value }))}
              error={fieldError(save.error, `categories.${c.name}`)}
            >
              <option value="">{t.seating.chooseType}</option>
              {kinds.map((k) => <option key={k.id} value={k.id}>{k.name}</option>)}
            </SelectField>
          ))}
          {fieldError(save.error, 'categories') && <p className="field-error" role="alert">{fieldError(save.error, 'categories')}</p>}
        </fieldset>
      )}
      <FormError error={save.error} fields={['plan_id', 'categories', ...categoryFields]} />
      {saved && <Alert tone="success">{saved}</Alert>}
      <button className="btn btn-primary" type="submit" disabled={save.isPending || !plan || kinds.length === 0}>{t.seating.save}</button>
    </form>
  );
}
