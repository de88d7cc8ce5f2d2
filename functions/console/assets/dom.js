// Small DOM helpers: escaping templates (every interpolation is escaped unless marked raw),
// dates, and element look-ups. No inline handlers or styles anywhere: the CSP forbids them.

const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function esc(value) {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

class Raw {
  constructor(text) {
    this.text = text;
  }
  toString() {
    return this.text;
  }
}

/** Marks already-safe HTML. */
export const raw = (text) => new Raw(String(text));

function part(value) {
  if (value instanceof Raw) return value.text;
  if (Array.isArray(value)) return value.map(part).join('');
  if (value === false || value === null || value === undefined) return '';
  return esc(value);
}

/** html`<p>${text}</p>`: a Raw whose interpolations are escaped. */
export function html(strings, ...values) {
  let out = strings[0];
  for (let i = 0; i < values.length; i += 1) out += part(values[i]) + strings[i + 1];
  return new Raw(out);
}

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

let ids = 0;
/** A unique element id. */
export const uid = (stem = 'id') => `${stem}-${(ids += 1)}`;

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

/** <time> of an RFC 3339 string, or `fallback`. */
export function when(iso, fallback = '—', withTime = true) {
  if (!iso) return html`<span class="muted">${fallback}</span>`;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return html`${iso}`;
  return html`<time datetime="${iso}" title="${iso}">${(withTime ? dateTime : dateOnly).format(d)}</time>`;
}

/** RFC 3339 (UTC) of a datetime-local value, or null when empty. */
export function fromLocalInput(value) {
  if (!value) return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A datetime-local value of an RFC 3339 string. */
export function toLocalInput(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** "a, b , c" → ["a", "b", "c"] */
export const splitList = (text) =>
  String(text || '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

export const initials = (name) =>
  String(name || '?')
    .split(/[\s_-]+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((w) => w[0].toUpperCase())
    .join('') || '?';

export const keyTypeLabel = (t) => (t === 'user' ? 'Team key' : t === 'system' ? 'Project key' : t);

/** Copies text to the clipboard; falls back to selecting `input` and execCommand. */
export async function copyText(text, input) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    if (input) {
      input.focus();
      input.select();
      try {
        return document.execCommand('copy');
      } catch {
        return false;
      }
    }
    return false;
  }
}
