import { useEffect, useState, type ReactNode } from 'react';
import { t } from '@/lib/i18n';
import { duration } from '@/lib/format';
import { ProblemError } from '@/lib/session';

export function Alert({ tone = 'info', children }: { tone?: 'info' | 'success' | 'error' | 'warning'; children: ReactNode }) {
  return (
    <div className={`alert alert-${tone}`} role={tone === 'error' ? 'alert' : 'status'}>
      {children}
    </div>
  );
}

export function Loading({ label = t.app.loading }: { label?: string }) {
  return (
    <p className="loading" role="status">
      <span className="spinner" aria-hidden="true" /> {label}
    </p>
  );
}

/** The message of an error that is not about one field (field errors show next to their field). */
export function FormError({ error, fields = [] }: { error: unknown; fields?: string[] }) {
  if (!error) return null;
  if (error instanceof ProblemError) {
    const errs = error.problem.errors ?? {};
    const others = Object.entries(errs).filter(([k]) => !fields.includes(k));
    if (Object.keys(errs).length && !others.length) return null;
    return (
      <Alert tone="error">
        {error.problem.detail ?? error.problem.title ?? t.app.error}
        {others.length > 0 && (
          <ul>
            {others.map(([k, v]) => (
              <li key={k}>{k}: {v}</li>
            ))}
          </ul>
        )}
      </Alert>
    );
  }
  return <Alert tone="error">{error instanceof Error ? error.message : t.app.error}</Alert>;
}

/** The message for one field of a problem+json validation error. */
export function fieldError(error: unknown, name: string): string | undefined {
  if (error instanceof ProblemError) return error.problem.errors?.[name];
  return undefined;
}

export function useNow(intervalMs = 1000) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(id);
  }, [intervalMs]);
  return now;
}

export function Countdown({ until, label }: { until: string; label: string }) {
  const now = useNow();
  const left = new Date(until).getTime() - now;
  return (
    <p className={left < 60_000 ? 'countdown countdown-urgent' : 'countdown'}>
      <span>{label}</span>{' '}
      <time dateTime={until} aria-live="off" className="countdown-value">{duration(left)}</time>
    </p>
  );
}

export function StatusBadge({ status, label }: { status: string; label: string }) {
  return <span className={`badge badge-${status}`}>{label}</span>;
}
