import { useState, type FormEvent } from 'react';
import { FormError, fieldError } from '@/components/Feedback';
import { Field } from '@/components/Field';
import { t } from '@/lib/i18n';
import { downloadMyData, useDeleteAccount } from '../api';

export function MyData() {
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  async function download() {
    setBusy(true);
    setError(undefined);
    try {
      await downloadMyData();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }
  return (
    <section className="card" aria-labelledby="my-data-title">
      <h2 id="my-data-title">{t.account.dataTitle}</h2>
      <p>{t.account.dataHelp}</p>
      <button type="button" className="btn" disabled={busy} onClick={() => void download()}>
        {t.account.download}
      </button>
      <FormError error={error} />
    </section>
  );
}

export function DeleteAccount() {
  const remove = useDeleteAccount();
  const [password, setPassword] = useState('');
  const [confirmed, setConfirmed] = useState(false);
  function submit(e: FormEvent) {
    e.preventDefault();
    remove.mutate(password);
  }
  return (
    <section className="card" aria-labelledby="delete-title">
      <h2 id="delete-title">{t.account.deleteTitle}</h2>
      <p>{t.account.deleteHelp}</p>
      <form onSubmit={submit}>
        <Field
          label={t.account.password}
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          error={fieldError(remove.error, 'password')}
        />
        <Field label={t.account.confirm} type="checkbox" checked={confirmed} onChange={(e) => setConfirmed(e.target.checked)} />
        <button type="submit" className="btn btn-danger" disabled={!confirmed || !password || remove.isPending}>
          {t.account.delete}
        </button>
      </form>
      <FormError error={remove.error} fields={['password']} />
    </section>
  );
}
