import { useState, type FormEvent } from 'react';
import { Alert, FormError, fieldError } from '@/components/Feedback';
import { Field, SelectField } from '@/components/Field';
import { money } from '@/lib/format';
import { t } from '@/lib/i18n';
import { useTicketTypes } from '@/lib/ticketTypes';
import { useAddPromoCode, usePromoCodes } from '../api';

/** An event's promo codes with their uses, and a form to add one. */
export function PromoCodes({ eventId, currency }: { eventId: string; currency: string }) {
  const codes = usePromoCodes(eventId);
  const types = useTicketTypes(eventId);
  const items = codes.data ?? [];
  const name = (id: string) => types.data?.find((k) => k.id === id)?.name ?? id;
  return (
    <section className="card" aria-labelledby="codes-title">
      <h2 id="codes-title">{t.promo.title}</h2>
      {items.length === 0 ? (
        <Alert>{t.promo.none}</Alert>
      ) : (
        <div className="table-wrap" tabIndex={0} role="region" aria-labelledby="codes-title">
          <table>
            <thead>
              <tr>
                <th scope="col">{t.promo.code}</th>
                <th scope="col">{t.promo.discount('')}</th>
                <th scope="col">{t.promo.appliesTo}</th>
                <th scope="col">{t.promo.uses}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((c) => (
                <tr key={c.id}>
                  <th scope="row"><code>{c.code}</code></th>
                  <td>{c.percent_off ? `${c.percent_off}%` : money(c.amount_off_cents ?? 0, currency)}</td>
                  <td>{c.ticket_type_ids.length ? c.ticket_type_ids.map(name).join(', ') : t.promo.allTypes}</td>
                  <td>{c.max_uses ? `${c.uses} / ${c.max_uses}` : c.uses}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <AddCode eventId={eventId} types={types.data ?? []} />
    </section>
  );
}

function AddCode({ eventId, types }: { eventId: string; types: { id: string; name: string }[] }) {
  const add = useAddPromoCode(eventId);
  const [code, setCode] = useState('');
  const [kind, setKind] = useState<'percent' | 'amount'>('percent');
  const [off, setOff] = useState(10);
  const [maxUses, setMaxUses] = useState('');
  const [only, setOnly] = useState('');

  function submit(e: FormEvent) {
    e.preventDefault();
    add.mutate(
      {
        code,
        ...(kind === 'percent' ? { percent_off: off } : { amount_off_cents: off }),
        ...(maxUses ? { max_uses: Number(maxUses) } : {}),
        ...(only ? { ticket_type_ids: [only] } : {}),
      },
      { onSuccess: () => setCode('') },
    );
  }

  const offError = fieldError(add.error, kind === 'percent' ? 'percent_off' : 'amount_off_cents');
  return (
    <form onSubmit={submit} className="grid-2 add-type" aria-label={t.promo.add}>
      <Field label={t.promo.code} value={code} required maxLength={40} onChange={(e) => setCode(e.target.value)} error={fieldError(add.error, 'code')} />
      <SelectField label={t.promo.discount('')} value={kind} onChange={(e) => setKind(e.target.value as 'percent' | 'amount')}>
        <option value="percent">{t.promo.percentOff}</option>
        <option value="amount">{t.promo.amountOff}</option>
      </SelectField>
      <Field label={kind === 'percent' ? t.promo.percentOff : t.promo.amountOff} type="number" min={1} value={off} onChange={(e) => setOff(Number(e.target.value) || 0)} error={offError} />
      <Field label={t.promo.maxUses} type="number" min={1} value={maxUses} onChange={(e) => setMaxUses(e.target.value)} error={fieldError(add.error, 'max_uses')} />
      {types.length > 0 && (
        <SelectField label={t.promo.appliesTo} value={only} onChange={(e) => setOnly(e.target.value)} error={fieldError(add.error, 'ticket_type_ids')}>
          <option value="">{t.promo.allTypes}</option>
          {types.map((k) => <option key={k.id} value={k.id}>{k.name}</option>)}
        </SelectField>
      )}
      <FormError error={add.error} fields={['code', 'percent_off', 'amount_off_cents', 'max_uses', 'ticket_type_ids']} />
      <button className="btn btn-primary" type="submit" disabled={add.isPending}>{t.promo.add}</button>
    </form>
  );
}
