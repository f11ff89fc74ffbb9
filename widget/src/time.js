// Human-friendly timestamps: "14:05" today, "11月20日 14:05" otherwise.

const pad = (n) => String(n).padStart(2, '0');

export function toDate(value) {
  if (value instanceof Date) return value;
  if (typeof value === 'number') return new Date(value < 1e12 ? value * 1000 : value);
  if (typeof value === 'string' && value) {
    const d = new Date(value);
    if (!Number.isNaN(d.getTime())) return d;
  }
  return null;
}

export function formatTime(value, now = new Date()) {
  const d = toDate(value);
  if (!d) return '';
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  const sameDay = d.toDateString() === now.toDateString();
  if (sameDay) return hm;
  const md = `${d.getMonth() + 1}月${d.getDate()}日 ${hm}`;
  return d.getFullYear() === now.getFullYear() ? md : `${d.getFullYear()}年${md}`;
}

// Formats an ISO date-time, or returns the original text when it is not one
// (the server may already send a human-readable value like "明天上午").
export function formatDateTimeText(value) {
  if (value == null || value === '') return '';
  if (typeof value === 'string' && !/^\d{4}-\d{2}-\d{2}/.test(value)) return value;
  return formatTime(value, new Date(0)).replace(/^\d{4}年/, '') || String(value);
}
