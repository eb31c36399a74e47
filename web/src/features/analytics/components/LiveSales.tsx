import { useEffect, useRef, useState } from 'react';
import { Area, AreaChart, ResponsiveContainer, XAxis, YAxis } from 'recharts';
import { t } from '@/lib/i18n';

interface Point {
  s: number;
  rate: number;
  available: number;
}

/** Availability and seats sold per second during an on-sale, from `/events/{id}/live`. */
export default function LiveSales({ eventId }: { eventId: string }) {
  const [points, setPoints] = useState<Point[]>([]);
  const [available, setAvailable] = useState<number>();
  const latest = useRef<{ sold: number; available: number } | null>(null);
  const previous = useRef<number | null>(null);

  useEffect(() => {
    const source = new EventSource(`/api/v1/events/${eventId}/live`);
    source.addEventListener('availability', (e) => {
      const a = JSON.parse((e as MessageEvent<string>).data) as { sold: number; available: number };
      latest.current = a;
      setAvailable(a.available);
    });
    let s = 0;
    const id = setInterval(() => {
      const now = latest.current;
      if (!now) return;
      const rate = previous.current === null ? 0 : Math.max(0, now.sold - previous.current);
      previous.current = now.sold;
      s += 1;
      setPoints((old) => [...old.slice(-59), { s, rate, available: now.available }]);
    }, 1000);
    return () => {
      source.close();
      clearInterval(id);
    };
  }, [eventId]);

  const rate = points.at(-1)?.rate ?? 0;
  return (
    <section className="card" aria-labelledby="live-title">
      <h2 id="live-title">
        {t.organizer.live} <span className="live-dot" aria-hidden="true" />
      </h2>
      <div className="live-figures">
        <p><span className="muted">{t.analytics.availableNow}</span> <strong data-testid="live-available">{available ?? '–'}</strong></p>
        <p><span className="muted">{t.analytics.perSecond}</span> <strong>{rate}</strong></p>
      </div>
      <ResponsiveContainer width="100%" height={140}>
        <AreaChart data={points}>
          <XAxis dataKey="s" hide />
          <YAxis allowDecimals={false} width={32} fontSize={12} />
          <Area type="stepAfter" dataKey="rate" stroke="#4338ca" fill="#c7d2fe" isAnimationActive={false} />
        </AreaChart>
      </ResponsiveContainer>
      <p className="muted">{t.analytics.liveNote}</p>
    </section>
  );
}
