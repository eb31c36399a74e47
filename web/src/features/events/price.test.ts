import { describe, expect, it } from 'vitest';
import { money } from '@/lib/format';
import { eventPrice } from './price';

describe('an event price as listed', () => {
  it('is one price, Free, or the range of the ticket types on sale', () => {
    expect(eventPrice({ price_cents: 2500, price_from_cents: 2500, price_to_cents: 2500, currency: 'EUR' })).toBe(money(2500, 'EUR'));
    expect(eventPrice({ price_cents: 0, price_from_cents: 0, price_to_cents: 0, currency: 'EUR' })).toBe('Free');
    // A seated event whose base price is 0 sells its seats at their categories' prices.
    expect(eventPrice({ price_cents: 0, price_from_cents: 1500, price_to_cents: 3000, currency: 'EUR' })).toBe(`${money(1500, 'EUR')} – ${money(3000, 'EUR')}`);
    expect(eventPrice({ price_cents: 0, price_from_cents: 0, price_to_cents: 900, currency: 'EUR' })).toBe(`Free – ${money(900, 'EUR')}`);
  });
});
