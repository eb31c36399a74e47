const locale = typeof navigator !== 'undefined' ? navigator.language : 'en';

export function money(cents: number, currency: string) {
  if (!/^[A-Z]{3}$/.test(currency)) return new Intl.NumberFormat(locale, { minimumFractionDigits: 2 }).format(cents / 100);
  return new Intl.NumberFormat(locale, { style: 'currency', currency }).format(cents / 100);
}

export function dateTime(iso: string) {
  return new Intl.DateTimeFormat(locale, {
    weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit',
  }).format(new Date(iso));
}

export function shortDate(iso: string) {
  return new Intl.DateTimeFormat(locale, { day: 'numeric', month: 'short' }).format(new Date(iso));
}

export function percent(ratio: number | null | undefined) {
  if (ratio === null || ratio === undefined) return '–';
  return new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 1 }).format(ratio);
}

export function duration(ms: number) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const m = Math.floor(total / 60);
  const s = total % 60;
  return `${m}:${String(s).padStart(2, '0')}`;
}

/** `<input type="datetime-local">` value of an ISO time, in local time. */
export function toLocalInput(iso: string) {
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function fromLocalInput(value: string) {
  return new Date(value).toISOString();
}

export function dayMonth(iso: string) {
  const d = new Date(iso);
  return {
    day: new Intl.DateTimeFormat(locale, { day: 'numeric' }).format(d),
    month: new Intl.DateTimeFormat(locale, { month: 'short' }).format(d),
    weekday: new Intl.DateTimeFormat(locale, { weekday: 'long' }).format(d),
  };
}
