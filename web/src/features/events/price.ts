import { money } from '@/lib/format';
import { t } from '@/lib/i18n';

/** What a listing says an event costs: one price, "Free", or the range of its ticket types. */
export function eventPrice(event: { price_cents: number; price_from_cents?: number; price_to_cents?: number; currency: string }) {
  const from = event.price_from_cents ?? event.price_cents;
  const to = event.price_to_cents ?? event.price_cents;
  const one = (cents: number) => (cents === 0 ? t.event.free : money(cents, event.currency));
  return from === to ? one(from) : `${one(from)} – ${money(to, event.currency)}`;
}
