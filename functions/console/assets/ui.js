// Page-level helpers every view uses: the message at the top of the page, navigation, and
// showing an ApiError (per-field errors next to their fields, the rest at the top).

import { state, update, rememberKey, forgetKey, resetData } from './state.js';
import { showFieldErrors } from './forms.js';
import { ApiError } from './api.js';

let pendingFlash = null;

/** Puts a message at the top of the page. */
export function flash(kind, text, items = []) {
  update({ flash: { kind, text, items, at: Date.now() } });
  document.getElementById('messages')?.scrollIntoView({ block: 'nearest' });
}

export const clearFlash = () => update({ flash: null });

/** Goes to a hash route; `message` is shown on the page it opens. */
export function navigate(hash, message = null) {
  pendingFlash = message;
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = hash;
}

/** The message that comes with a navigation (once). */
export function takePendingFlash() {
  const m = pendingFlash;
  pendingFlash = null;
  return m;
}

/**
 * Shows what went wrong: field errors at their fields of `form` (if any), the message at the
 * top. A refused key has already ended the session (api.js); nothing more to say here.
 */
export function showError(err, form = null) {
  if (!(err instanceof ApiError)) {
    flash('error', `Something went wrong in the console: ${err && err.message ? err.message : err}`);
    return;
  }
  if (err.kind === 'refused' && !state.me) return;
  let unmatched = err.fields;
  if (form && err.fields.length) unmatched = showFieldErrors(form, err.fields);
  flash('error', err.text, unmatched.map((e) => `${e.field}: ${e.message}`));
}

/** Disables a form's controls while `work` runs (no double submits), then restores them. */
export async function busy(el, work) {
  const controls = el ? Array.from(el.querySelectorAll('button, input, select, textarea')).filter((c) => !c.disabled) : [];
  for (const c of controls) c.disabled = true;
  el?.setAttribute('aria-busy', 'true');
  try {
    return await work();
  } finally {
    for (const c of controls) c.disabled = false;
    el?.removeAttribute('aria-busy');
  }
}

/** Called by the sign-in view once GET /me accepted the key. */
export function signedIn(key, me) {
  rememberKey(key);
  resetData();
  state.me = me;
  const after = sessionStorage.getItem('api-keys-console.after');
  sessionStorage.removeItem('api-keys-console.after');
  navigate(after && !after.startsWith('#/signin') ? after : '#/keys');
}

/** Forgets the key and everything it loaded; back to sign-in with `message`. */
export function signOut(message) {
  forgetKey();
  for (const d of document.querySelectorAll('dialog')) d.remove();
  resetData();
  update({});
  navigate('#/signin', message);
}
