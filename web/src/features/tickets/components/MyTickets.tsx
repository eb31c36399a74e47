import { useState } from 'react';
import type { TicketOut } from '@/lib/api/types';
import { Alert, FormError, Loading, StatusBadge } from '@/components/Feedback';
import { t, statusLabel } from '@/lib/i18n';
import { dateTime } from '@/lib/format';
import { downloadPdf, useTicketsOf } from '../api';
import { QrCode } from './QrCode';

function TicketCard({ ticket, eventName }: { ticket: TicketOut; eventName?: string }) {
  const [open, setOpen] = useState(true);
  const [error, setError] = useState<unknown>();
  return (
    <li className="card ticket">
      <div className="ticket-head">
        <div>
          {eventName && <h2 className="h3">{eventName}</h2>}
          <p className="muted">{ticket.seat ? t.seating.seat(ticket.seat) : t.tickets.seat(ticket.seat_index)}</p>
        </div>
        <StatusBadge status={ticket.status === 'valid' ? 'confirmed' : 'cancelled'} label={statusLabel(t.tickets.status, ticket.status)} />
      </div>
      <p className="ticket-number">
        <span className="muted">{t.tickets.number}</span> <strong>{ticket.ticket_number}</strong>
      </p>
      {ticket.checked_in_at && <p className="muted">{t.tickets.checkedIn(dateTime(ticket.checked_in_at))}</p>}
      {open && ticket.status === 'valid' && <QrCode payload={ticket.qr_payload} label={t.tickets.qr(ticket.ticket_number)} />}
      <div className="row-actions">
        <button type="button" className="btn" aria-expanded={open} onClick={() => setOpen(!open)}>
          {open ? t.tickets.hide : t.tickets.show}
        </button>
        <button
          type="button"
          className="btn btn-primary"
          onClick={() => downloadPdf(ticket.id, ticket.ticket_number).catch(setError)}
        >
          {t.tickets.pdf}
        </button>
      </div>
      <FormError error={error} />
    </li>
  );
}

export function MyTickets({ bookingIds, eventName, loading }: { bookingIds: string[]; eventName: (id: string) => string | undefined; loading: boolean }) {
  const results = useTicketsOf(bookingIds);
  const tickets = results.flatMap((r) => r.data?.tickets ?? []);
  const waiting = results.some((r) => r.isLoading || (r.data && r.data.tickets.length === 0));
  return (
    <section aria-labelledby="tickets-title">
      <h1 id="tickets-title">{t.tickets.title}</h1>
      {loading && <Loading />}
      {!loading && bookingIds.length === 0 && <Alert>{t.tickets.none}</Alert>}
      {waiting && <Loading label={t.tickets.issuing} />}
      <ul className="ticket-grid">
        {tickets.map((ticket) => (
          <TicketCard key={ticket.id} ticket={ticket} eventName={eventName(ticket.event_id)} />
        ))}
      </ul>
    </section>
  );
}
