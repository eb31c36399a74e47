import { useEffect, useState, type FormEvent } from 'react';
import { Alert, FormError, Loading } from '@/components/Feedback';
import { Field } from '@/components/Field';
import { t } from '@/lib/i18n';
import { dateTime } from '@/lib/format';
import { enablePush, pushState, useMarkRead, useNotifications, usePreferences, useSavePreferences, type PushState } from '../api';

export function NotificationList() {
  const [unread, setUnread] = useState(false);
  const list = useNotifications(unread);
  const mark = useMarkRead();
  return (
    <section aria-labelledby="notifications-title">
      <div className="section-head">
        <h1 id="notifications-title">{t.notifications.title}</h1>
        <Field label={t.notifications.unreadOnly} type="checkbox" checked={unread} onChange={(e) => setUnread(e.target.checked)} />
      </div>
      {list.isLoading && <Loading />}
      {list.data?.items.length === 0 && <Alert>{t.notifications.none}</Alert>}
      <ul className="list" aria-live="polite">
        {list.data?.items.map((n) => (
          <li key={n.id} className={n.read_at ? 'card notification' : 'card notification notification-unread'}>
            <div>
              <h2 className="h3">{n.title}</h2>
              <p>{n.body}</p>
              <p className="muted"><time dateTime={n.created_at}>{dateTime(n.created_at)}</time></p>
            </div>
            {!n.read_at && (
              <button type="button" className="btn" onClick={() => mark.mutate(n.id)}>
                {t.notifications.markRead}
              </button>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

export function Preferences() {
  const prefs = usePreferences();
  const save = useSavePreferences();
  const [form, setForm] = useState<{ email: boolean; push: boolean; in_app: boolean }>();
  useEffect(() => {
    if (prefs.data && !form) setForm({ email: prefs.data.email, push: prefs.data.push, in_app: prefs.data.in_app });
  }, [prefs.data, form]);
  if (!form) return <Loading />;
  function submit(e: FormEvent) {
    e.preventDefault();
    save.mutate(form!);
  }
  return (
    <section className="card" aria-labelledby="prefs-title">
      <h2 id="prefs-title">{t.notifications.preferences}</h2>
      <form onSubmit={submit}>
        <Field label={t.notifications.inApp} type="checkbox" checked={form.in_app} onChange={(e) => setForm({ ...form, in_app: e.target.checked })} />
        <Field label={t.notifications.email} type="checkbox" checked={form.email} onChange={(e) => setForm({ ...form, email: e.target.checked })} />
        <Field label={t.notifications.push} type="checkbox" checked={form.push} onChange={(e) => setForm({ ...form, push: e.target.checked })} />
        <button type="submit" className="btn btn-primary" disabled={save.isPending}>{t.notifications.save}</button>
      </form>
      {save.isSuccess && <Alert tone="success">{t.notifications.saved}</Alert>}
      <FormError error={save.error} />
    </section>
  );
}

export function PushOptIn() {
  const [state, setState] = useState<PushState>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    void pushState().then(setState);
  }, []);
  async function enable() {
    setError(undefined);
    try {
      await enablePush();
      setState('on');
    } catch (e) {
      if (e instanceof Error && e.message === 'unavailable') setState('unavailable');
      else if (e instanceof Error && e.message === 'denied') setState('denied');
      else setError(e);
    }
  }
  return (
    <section className="card" aria-labelledby="push-title">
      <h2 id="push-title">{t.notifications.pushTitle}</h2>
      {state === 'unsupported' && <Alert>{t.notifications.pushUnsupported}</Alert>}
      {state === 'unavailable' && <Alert>{t.notifications.pushUnavailable}</Alert>}
      {state === 'denied' && <Alert tone="warning">{t.notifications.pushDenied}</Alert>}
      {state === 'on' && <Alert tone="success">{t.notifications.pushEnabled}</Alert>}
      {state === 'off' && (
        <button type="button" className="btn btn-primary" onClick={() => void enable()}>
          {t.notifications.pushEnable}
        </button>
      )}
      <FormError error={error} />
    </section>
  );
}
