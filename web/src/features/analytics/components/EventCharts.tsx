import { Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { Alert, Loading } from '@/components/Feedback';
import type { EventAnalytics } from '@/lib/api/types';
import { t } from '@/lib/i18n';
import { money, percent } from '@/lib/format';
import { useEventAnalytics } from '../api';

function Gauge({ label, ratio, detail }: { label: string; ratio: number | null | undefined; detail: string }) {
  const value = Math.round((ratio ?? 0) * 100);
  return (
    <figure className="gauge card">
      <figcaption>{label}</figcaption>
      <p className="gauge-value">{percent(ratio)}</p>
      <div className="meter" role="meter" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={value}>
        <span style={{ width: `${Math.min(100, value)}%` }} />
      </div>
      <p className="muted">{detail}</p>
    </figure>
  );
}

function hourLabel(iso: string) {
  const d = new Date(iso);
  return `${d.getDate()}/${d.getMonth() + 1} ${String(d.getHours()).padStart(2, '0')}h`;
}

export function Charts({ a }: { a: EventAnalytics }) {
  const hours = a.hourly.map((h) => ({
    hour: hourLabel(h.hour),
    [t.analytics.bookings]: h.bookings_confirmed,
    [t.analytics.seatsSold]: h.seats_sold,
    [t.analytics.cancellations]: h.cancellations,
    [t.analytics.revenue]: h.revenue_cents / 100,
    [t.analytics.refunds]: h.refunds_cents / 100,
  }));
  return (
    <div className="stack">
      <div className="gauges">
        <Gauge label={t.analytics.utilisation} ratio={a.utilisation} detail={`${a.seats_sold} / ${a.capacity}`} />
        <Gauge label={t.analytics.waitlistConversion} ratio={a.waitlist.conversion} detail={`${a.waitlist.claimed} / ${a.waitlist.offered} ${t.analytics.offered.toLowerCase()}`} />
        <Gauge label={t.analytics.checkInRate} ratio={a.tickets.check_in_rate} detail={`${a.tickets.checked_in} / ${a.tickets.issued}`} />
        <figure className="gauge card">
          <figcaption>{t.analytics.revenue}</figcaption>
          <p className="gauge-value">{money(a.net_revenue_cents, a.currency)}</p>
          <p className="muted">{t.analytics.gross} {money(a.revenue_cents, a.currency)} · {t.analytics.refunds} {money(a.refunds_cents, a.currency)}</p>
        </figure>
      </div>
      {hours.length === 0 ? (
        <Alert>{t.analytics.none}</Alert>
      ) : (
        <div className="chart-grid">
          <figure className="card chart" aria-label={t.analytics.bookingsOverTime}>
            <figcaption>{t.analytics.bookingsOverTime}</figcaption>
            <ResponsiveContainer width="100%" height={240}>
              {hours.length > 2 ? (
                <LineChart data={hours}>
                  <CartesianGrid strokeDasharray="3 3" />
                  <XAxis dataKey="hour" fontSize={12} />
                  <YAxis allowDecimals={false} fontSize={12} width={36} />
                  <Tooltip />
                  <Legend />
                  <Line type="monotone" dataKey={t.analytics.bookings} stroke="#4338ca" strokeWidth={2} isAnimationActive={false} />
                  <Line type="monotone" dataKey={t.analytics.seatsSold} stroke="#0f766e" strokeWidth={2} isAnimationActive={false} />
                  <Line type="monotone" dataKey={t.analytics.cancellations} stroke="#b91c1c" strokeWidth={2} isAnimationActive={false} />
                </LineChart>
              ) : (
                <BarChart data={hours}>
                  <CartesianGrid strokeDasharray="3 3" />
                  <XAxis dataKey="hour" fontSize={12} />
                  <YAxis allowDecimals={false} fontSize={12} width={36} />
                  <Tooltip />
                  <Legend />
                  <Bar dataKey={t.analytics.bookings} fill="#4338ca" isAnimationActive={false} />
                  <Bar dataKey={t.analytics.seatsSold} fill="#0f766e" isAnimationActive={false} />
                  <Bar dataKey={t.analytics.cancellations} fill="#b91c1c" isAnimationActive={false} />
                </BarChart>
              )}
            </ResponsiveContainer>
          </figure>
          <figure className="card chart" aria-label={t.analytics.revenue}>
            <figcaption>{t.analytics.revenue} ({a.currency})</figcaption>
            <ResponsiveContainer width="100%" height={240}>
              <BarChart data={hours}>
                <CartesianGrid strokeDasharray="3 3" />
                <XAxis dataKey="hour" fontSize={12} />
                <YAxis fontSize={12} width={48} />
                <Tooltip />
                <Legend />
                <Bar dataKey={t.analytics.revenue} fill="#4338ca" isAnimationActive={false} />
                <Bar dataKey={t.analytics.refunds} fill="#f59e0b" isAnimationActive={false} />
              </BarChart>
            </ResponsiveContainer>
          </figure>
        </div>
      )}
    </div>
  );
}

export default function EventCharts({ eventId }: { eventId: string }) {
  const q = useEventAnalytics(eventId);
  return (
    <section aria-labelledby="analytics-title" className="stack">
      <h2 id="analytics-title">{t.organizer.analytics}</h2>
      {q.isLoading && <Loading />}
      {q.data && <Charts a={q.data} />}
    </section>
  );
}
