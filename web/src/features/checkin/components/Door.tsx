import { lazy, Suspense, useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { Field } from '@/components/Field';
import { FormError } from '@/components/Feedback';
import { t } from '@/lib/i18n';
import { dateTime } from '@/lib/format';
import { check, loadKeys, syncQueue, type Answer } from '../door';
import { doorStore } from '../store';

const Camera = lazy(() => import('./Camera').then((m) => ({ default: m.Camera })));

function reasonText(a: Extract<Answer, { admitted: false }>) {
  switch (a.reason) {
    case 'already':
      return t.door.already(a.when ? dateTime(a.when) : '');
    case 'other_event':
      return t.door.otherEvent;
    case 'cancelled':
      return t.door.cancelled;
    case 'unknown_number':
      return t.door.unknownNumber;
    case 'offline_number':
      return t.door.offlineOnlyCode;
    default:
      return t.door.forged;
  }
}

/** The event's name, kept on the device for an offline reload. */
function useEventName(eventId: string, fromNetwork?: string) {
  const [name, setName] = useState(fromNetwork);
  useEffect(() => {
    if (fromNetwork) {
      setName(fromNetwork);
      void doorStore.setName(eventId, fromNetwork);
    } else {
      void doorStore.name(eventId).then((n) => n && setName(n));
    }
  }, [eventId, fromNetwork]);
  return name;
}

function useOnline() {
  const [online, setOnline] = useState(navigator.onLine);
  useEffect(() => {
    const on = () => setOnline(true);
    const off = () => setOnline(false);
    window.addEventListener('online', on);
    window.addEventListener('offline', off);
    return () => {
      window.removeEventListener('online', on);
      window.removeEventListener('offline', off);
    };
  }, []);
  return online;
}

export function Door({ eventId, eventName }: { eventId: string; eventName?: string }) {
  const online = useOnline();
  const name = useEventName(eventId, eventName);
  const [answer, setAnswer] = useState<Answer>();
  const [error, setError] = useState<unknown>();
  const [code, setCode] = useState('');
  const [queued, setQueued] = useState(0);
  const [camera, setCamera] = useState(false);
  const input = useRef<HTMLInputElement>(null);

  const refreshQueue = useCallback(async () => setQueued((await doorStore.queue()).length), []);

  useEffect(() => {
    void loadKeys();
    void refreshQueue();
  }, [refreshQueue]);

  useEffect(() => {
    if (!online) return;
    void syncQueue().then(setQueued);
    const id = setInterval(() => void syncQueue().then(setQueued), 10_000);
    return () => clearInterval(id);
  }, [online]);

  const run = useCallback(
    async (text: string) => {
      setError(undefined);
      try {
        setAnswer(await check(eventId, text));
      } catch (e) {
        setError(e);
      }
      await refreshQueue();
    },
    [eventId, refreshQueue],
  );

  function submit(e: FormEvent) {
    e.preventDefault();
    if (!code.trim()) return;
    void run(code).then(() => {
      setCode('');
      input.current?.focus();
    });
  }

  return (
    <section className="door" aria-labelledby="door-title">
      <div className="section-head">
        <div>
          <h1 id="door-title">{t.door.title}</h1>
          {name && <p className="muted">{name}</p>}
        </div>
        <p className={online ? 'badge badge-confirmed' : 'badge badge-held'} role="status">
          {online ? t.door.online : t.door.offline}
        </p>
      </div>
      <div className={answer ? (answer.admitted ? 'verdict verdict-ok' : 'verdict verdict-no') : 'verdict verdict-idle'} role="status" aria-live="assertive" aria-atomic="true">
        {answer && (
          <>
            <p className="verdict-word">{answer.admitted ? t.door.admitted : t.door.refused}</p>
            <p className="verdict-reason">
              {answer.admitted
                ? [answer.ticketNumber, answer.seat ? t.seating.seat(answer.seat) : t.door.seat(answer.seatIndex), answer.offline ? t.door.offlineAdmitted : ''].filter(Boolean).join(' · ')
                : reasonText(answer)}
            </p>
          </>
        )}
      </div>
      <FormError error={error} />
      <form className="card door-form" onSubmit={submit}>
        <Field ref={input} label={t.door.code} value={code} autoComplete="off" autoCapitalize="characters" spellCheck={false} onChange={(e) => setCode(e.target.value)} />
        <button type="submit" className="btn btn-primary btn-large">{t.door.check}</button>
      </form>
      <div className="card">
        <button type="button" className="btn" aria-pressed={camera} onClick={() => setCamera(!camera)}>
          {camera ? t.door.stopScan : t.door.scan}
        </button>
        {camera && (
          <Suspense fallback={null}>
            <Camera onCode={(c) => void run(c)} />
          </Suspense>
        )}
      </div>
      <p className="muted" role="status">{queued > 0 ? t.door.queued(queued) : t.door.synced}</p>
    </section>
  );
}
