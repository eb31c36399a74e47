import { Field } from '@/components/Field';
import { fieldError } from '@/components/Feedback';
import { t } from '@/lib/i18n';
import type { Promo } from '@/lib/ticketTypes';

/** The promo code of a booking form and its Apply button (its error: the code's or the booking's). */
export function PromoField({ promo, bookError }: { promo: Promo; bookError: unknown }) {
  return (
    <div className="promo">
      <Field
        label={t.promo.label}
        value={promo.code}
        maxLength={40}
        autoComplete="off"
        onChange={(e) => promo.setCode(e.target.value)}
        error={fieldError(promo.error, 'promo_code') ?? fieldError(bookError, 'promo_code')}
        hint={promo.applied && !promo.error ? t.promo.applied(promo.applied) : undefined}
      />
      <button type="button" className="btn" onClick={promo.apply}>{t.promo.apply}</button>
    </div>
  );
}
