import { useState, type FormEvent } from 'react';
import { useMutation, useQuery } from '@tanstack/react-query';
import { Alert, FormError, Loading, fieldError } from '@/components/Feedback';
import { Field, SelectField } from '@/components/Field';
import { api, unwrap } from '@/lib/api/client';
import { t } from '@/lib/i18n';
import { money, percent } from '@/lib/format';

function Overview() {
  const q = useQuery({ queryKey: ['overview'], queryFn: () => unwrap(api.GET('/api/v1/admin/analytics/overview')) });
  if (!q.data) return <Loading />;
  const o = q.data;
  return (
    <section aria-labelledby="overview-title" className="stack">
      <h2 id="overview-title">{t.admin.overview}</h2>
      <dl className="stats">
        <div className="card"><dt>{t.admin.bookings}</dt><dd>{o.bookings_confirmed}</dd></div>
        <div className="card"><dt>{t.admin.seats}</dt><dd>{o.seats_sold}</dd></div>
        <div className="card"><dt>{t.admin.cancellationRate}</dt><dd>{percent(o.cancellation_rate)}</dd></div>
        <div className="card"><dt>{t.admin.utilisation}</dt><dd>{percent(o.capacity_utilisation)}</dd></div>
        {o.revenue.map((r) => (
          <div className="card" key={r.currency}><dt>{t.admin.revenue} ({r.currency})</dt><dd>{money(r.net_cents, r.currency)}</dd></div>
        ))}
      </dl>
      <h3>{t.admin.popular}</h3>
      <ol className="list compact">
        {o.top_events.map((e) => (
          <li key={e.event_id} className="card">
            <strong>{e.name}</strong> <span className="muted">{e.seats_sold} · {money(e.net_revenue_cents, e.currency)}</span>
          </li>
        ))}
      </ol>
    </section>
  );
}

function Roles() {
  const [userId, setUserId] = useState('');
  const [role, setRole] = useState('organizer');
  const set = useMutation({
    mutationFn: () => unwrap(api.PUT('/api/v1/admin/users/{id}/role', { params: { path: { id: userId } }, body: { role } })),
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    set.mutate();
  }
  return (
    <section className="card" aria-labelledby="roles-title">
      <h2 id="roles-title">{t.admin.roles}</h2>
      <form onSubmit={submit} className="grid-2">
        <Field label={t.admin.userId} value={userId} required onChange={(e) => setUserId(e.target.value)} error={fieldError(set.error, 'id')} />
        <SelectField label={t.admin.role} value={role} onChange={(e) => setRole(e.target.value)} error={fieldError(set.error, 'role')}>
          {['attendee', 'organizer', 'admin'].map((r) => (
            <option key={r} value={r}>{t.admin.roleNames[r]}</option>
          ))}
        </SelectField>
        <button type="submit" className="btn btn-primary" disabled={set.isPending}>{t.admin.setRole}</button>
      </form>
      {set.data && <Alert tone="success">{t.admin.roleSet(set.data.email, t.admin.roleNames[set.data.role] ?? set.data.role)}</Alert>}
      <FormError error={set.error} fields={['id', 'role']} />
    </section>
  );
}

export default function Admin() {
  return (
    <div className="stack">
      <h1>{t.admin.title}</h1>
      <Overview />
      <Roles />
    </div>
  );
}
