import { useState, type FormEvent } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { Field } from '@/components/Field';
import { FormError, fieldError } from '@/components/Feedback';
import { t } from '@/lib/i18n';
import { login, register, ProblemError } from '@/lib/session';

function useAfter() {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const next = params.get('next');
  return () => navigate(next && next.startsWith('/') ? next : '/', { replace: true });
}

export function LoginForm() {
  const after = useAfter();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await login(email, password);
      after();
    } catch (err) {
      if (err instanceof ProblemError && err.status === 401) setError(new Error(t.auth.badCredentials));
      else if (err instanceof ProblemError && err.status === 423) setError(new Error(t.auth.locked));
      else setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="card auth-form" onSubmit={submit} aria-labelledby="login-title">
      <h1 id="login-title">{t.auth.loginTitle}</h1>
      <Field label={t.auth.email} type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} error={fieldError(error, 'email')} />
      <Field label={t.auth.password} type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} error={fieldError(error, 'password')} />
      <FormError error={error} fields={['email', 'password']} />
      <button type="submit" className="btn btn-primary btn-large" disabled={busy}>{t.auth.submitLogin}</button>
      <p className="muted">
        {t.auth.noAccount} <Link to="/register">{t.nav.register}</Link>
      </p>
    </form>
  );
}

export function RegisterForm() {
  const after = useAfter();
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await register(name, email, password);
      after();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="card auth-form" onSubmit={submit} aria-labelledby="register-title" noValidate>
      <h1 id="register-title">{t.auth.registerTitle}</h1>
      <Field label={t.auth.name} autoComplete="name" required value={name} onChange={(e) => setName(e.target.value)} error={fieldError(error, 'name')} />
      <Field label={t.auth.email} type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} error={fieldError(error, 'email')} />
      <Field label={t.auth.password} type="password" autoComplete="new-password" required value={password} onChange={(e) => setPassword(e.target.value)} error={fieldError(error, 'password')} hint={t.auth.passwordHint} />
      <FormError error={error} fields={['name', 'email', 'password']} />
      <button type="submit" className="btn btn-primary btn-large" disabled={busy}>{t.auth.submitRegister}</button>
      <p className="muted">
        {t.auth.haveAccount} <Link to="/login">{t.nav.login}</Link>
      </p>
    </form>
  );
}
