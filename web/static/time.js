// Dates and times as a Chinese government counter shows them: China
// Standard Time, year-month-day, 24-hour clock.

const zone = 'Asia/Shanghai';

function parts(d, withTime, withSeconds) {
  const opts = { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit', hourCycle: 'h23' };
  if (withTime) {
    opts.hour = '2-digit';
    opts.minute = '2-digit';
    if (withSeconds) opts.second = '2-digit';
  }
  const p = {};
  for (const { type, value } of new Intl.DateTimeFormat('en-GB', opts).formatToParts(d)) p[type] = value;
  let s = `${p.year}-${p.month}-${p.day}`;
  if (withTime) s += ` ${p.hour}:${p.minute}` + (withSeconds ? `:${p.second}` : '');
  return s;
}

function toDate(v) {
  if (v === undefined || v === null || v === '') return null;
  const d = v instanceof Date ? v : new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** dateTime formats an instant as 2025-01-31 14:05. */
export function dateTime(v) {
  const d = toDate(v);
  return d ? parts(d, true, false) : '';
}

/** clock formats an instant as 2025-01-31 14:05:09. */
export function clock(v) {
  const d = toDate(v);
  return d ? parts(d, true, true) : '';
}

/** shortTime formats an instant as 14:05:09. */
export function shortTime(v) {
  const d = toDate(v);
  return d ? parts(d, true, true).slice(11) : '';
}

/** day formats an instant as 2025-01-31; a plain YYYY-MM-DD is kept. */
export function day(v) {
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v)) return v;
  const d = toDate(v);
  return d ? parts(d, false) : '';
}

/**
 * lastDay formats the exclusive end of a validity (the first instant no
 * longer valid) as the last valid day; a plain YYYY-MM-DD is already the
 * last day.
 */
export function lastDay(v) {
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v)) return v;
  const d = toDate(v);
  return d ? parts(new Date(d.getTime() - 1000), false) : '';
}
