// Field errors next to their fields: a problem's errors[].field ("name", "labels[2]",
// "rateLimit.limit") finds the form's [data-field] wrapper of its first segment.

import { esc } from './dom.js';

export function clearFieldErrors(form) {
  for (const el of form.querySelectorAll('.field-error')) el.remove();
  for (const el of form.querySelectorAll('[aria-invalid]')) {
    el.removeAttribute('aria-invalid');
    const ids = (el.getAttribute('aria-describedby') || '').split(' ').filter((id) => !id.startsWith('ferr-'));
    if (ids.length) el.setAttribute('aria-describedby', ids.join(' '));
    else el.removeAttribute('aria-describedby');
  }
}

const base = (field) => String(field).split(/[.[]/)[0];

/** Shows each error at its field; returns those no field of the form matches. */
export function showFieldErrors(form, errors) {
  clearFieldErrors(form);
  const unmatched = [];
  let first = null;
  for (const [i, e] of errors.entries()) {
    const wrap = form.querySelector(`[data-field="${CSS.escape(e.field)}"]`) || form.querySelector(`[data-field="${CSS.escape(base(e.field))}"]`);
    if (!wrap) {
      unmatched.push(e);
      continue;
    }
    const control = wrap.querySelector('input, select, textarea');
    const id = `ferr-${i}-${Math.random().toString(36).slice(2, 8)}`;
    const p = document.createElement('p');
    p.className = 'field-error';
    p.id = id;
    p.innerHTML = `<span class="sr-only">Error: </span>${esc(e.message)}`;
    wrap.append(p);
    if (control) {
      control.setAttribute('aria-invalid', 'true');
      const ids = (control.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
      control.setAttribute('aria-describedby', [...ids, id].join(' '));
      first = first || control;
    }
  }
  first?.focus();
  return unmatched;
}

/** A client-side check's error, shown the same way. */
export const fieldError = (field, message) => ({ field, message });
