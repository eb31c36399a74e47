import { useState, type FormEvent } from 'react';
import { Field, SelectField } from '@/components/Field';
import { t } from '@/lib/i18n';
import type { EventFilters } from '../api';

export const CATEGORIES = [
  'music', 'theatre', 'comedy', 'dance', 'sports', 'conference', 'workshop', 'festival',
  'exhibition', 'film', 'family', 'food', 'other',
];

export function EventSearch({ onSearch, initial }: { onSearch: (f: EventFilters) => void; initial: EventFilters }) {
  const [q, setQ] = useState(initial.q ?? '');
  const [category, setCategory] = useState(initial.category ?? '');
  const [from, setFrom] = useState(initial.from?.slice(0, 10) ?? '');
  const [to, setTo] = useState(initial.to?.slice(0, 10) ?? '');
  const [minPrice, setMinPrice] = useState(initial.min_price !== undefined ? String(initial.min_price / 100) : '');
  const [maxPrice, setMaxPrice] = useState(initial.max_price !== undefined ? String(initial.max_price / 100) : '');
  const [availableOnly, setAvailableOnly] = useState(!!initial.available_only);

  function submit(e: FormEvent) {
    e.preventDefault();
    const f: EventFilters = {};
    if (q.trim()) f.q = q.trim();
    if (category) f.category = category;
    if (from) f.from = new Date(`${from}T00:00:00`).toISOString();
    if (to) f.to = new Date(`${to}T23:59:59`).toISOString();
    if (minPrice) f.min_price = Math.round(Number(minPrice) * 100);
    if (maxPrice) f.max_price = Math.round(Number(maxPrice) * 100);
    if (availableOnly) f.available_only = true;
    onSearch(f);
  }

  return (
    <form className="search card" role="search" aria-label={t.home.search} onSubmit={submit}>
      <div className="search-main">
        <Field label={t.home.q} type="search" value={q} placeholder={t.home.qPlaceholder} onChange={(e) => setQ(e.target.value)} />
        <SelectField label={t.home.category} value={category} onChange={(e) => setCategory(e.target.value)}>
          <option value="">{t.home.anyCategory}</option>
          {CATEGORIES.map((c) => (
            <option key={c} value={c}>{t.categories[c]}</option>
          ))}
        </SelectField>
      </div>
      <div className="search-more">
        <Field label={t.home.from} type="date" value={from} onChange={(e) => setFrom(e.target.value)} />
        <Field label={t.home.to} type="date" value={to} onChange={(e) => setTo(e.target.value)} />
        <Field label={t.home.minPrice} type="number" min={0} step="0.01" inputMode="decimal" value={minPrice} onChange={(e) => setMinPrice(e.target.value)} />
        <Field label={t.home.maxPrice} type="number" min={0} step="0.01" inputMode="decimal" value={maxPrice} onChange={(e) => setMaxPrice(e.target.value)} />
      </div>
      <div className="search-actions">
        <Field label={t.home.availableOnly} type="checkbox" checked={availableOnly} onChange={(e) => setAvailableOnly(e.target.checked)} />
        <button type="submit" className="btn btn-primary">{t.home.submit}</button>
      </div>
    </form>
  );
}
