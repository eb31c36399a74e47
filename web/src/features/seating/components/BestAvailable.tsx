import { Field, SelectField } from '@/components/Field';
import { fieldError } from '@/components/Feedback';
import type { SeatMapOut, SeatOut, TicketTypeOut } from '@/lib/api/types';
import { money } from '@/lib/format';
import { t } from '@/lib/i18n';

/** A best-available request: seats next to each other of one ticket type, wheelchair spaces if asked. */
export interface Best {
  ticket_type_id: string;
  quantity: number;
  accessible?: boolean;
}

/** The ticket type, how many seats and whether they are wheelchair spaces; the seats are the server's choice. */
export function BestAvailable({ map, max, kinds, value, error, onChange }: {
  map: SeatMapOut;
  max: number;
  kinds: TicketTypeOut[];
  value: Best;
  error: unknown;
  onChange: (best: Best) => void;
}) {
  const types = [...new Set(map.categories.map((c) => c.ticket_type_id))];
  const kind = (id: string) => kinds.find((k) => k.id === id);
  const label = (id: string) => {
    const k = kind(id);
    const categories = map.categories.filter((c) => c.ticket_type_id === id).map((c) => c.name).join(', ');
    if (!k) return categories;
    return `${k.name} · ${k.price_cents === 0 ? t.event.free : money(k.price_cents, k.currency)}`;
  };
  // Wheelchair spaces and their companion seats go only to those who ask for them.
  const kept = (s: SeatOut) => s.accessible || s.companion;
  const freeOf = (b: Best) =>
    map.seats.filter((s) => s.status === 'free' && s.ticket_type_id === b.ticket_type_id && kept(s) === !!b.accessible).length;
  const mostOf = (b: Best) => Math.max(1, Math.min(max, kind(b.ticket_type_id)?.max_per_booking ?? max, freeOf(b)));
  // A change of type or of wheelchair spaces keeps the quantity within what is free.
  const change = (b: Best) => onChange({ ...b, quantity: Math.max(1, Math.min(b.quantity, mostOf(b))) });
  const free = freeOf(value);
  const most = mostOf(value);
  const hasAccessible = map.seats.some((s) => kept(s) && s.ticket_type_id === value.ticket_type_id);
  const price = kind(value.ticket_type_id);
  return (
    <div className="best-available">
      <p className="hint">{t.seating.bestHint}</p>
      <SelectField
        label={t.seating.ticketType}
        value={value.ticket_type_id}
        onChange={(e) => change({ ...value, ticket_type_id: e.target.value, accessible: false })}
        error={fieldError(error, 'best_available.ticket_type_id')}
      >
        {types.map((id) => <option key={id} value={id}>{label(id)}</option>)}
      </SelectField>
      <Field
        label={t.seating.quantity}
        type="number"
        min={1}
        max={most}
        value={value.quantity}
        onChange={(e) => change({ ...value, quantity: Number(e.target.value) || 1 })}
        hint={free > 0 ? `${t.ticketTypes.left(free)} · ${t.seating.atMost(max)}` : t.event.soldOut}
        error={fieldError(error, 'best_available.quantity')}
      />
      {hasAccessible && (
        <Field
          label={t.seating.accessibleOnly}
          type="checkbox"
          checked={!!value.accessible}
          onChange={(e) => change({ ...value, accessible: e.target.checked })}
          error={fieldError(error, 'best_available.accessible')}
        />
      )}
      {price && free > 0 && (
        <p className="ticket-total">{t.ticketTypes.total(money(price.price_cents * value.quantity, price.currency))}</p>
      )}
    </div>
  );
}
