// Modal dialogs on <dialog>.showModal(): the page behind is inert (focus stays inside), Escape
// closes them, focus returns to what opened them. The dialog that shows a new key once is the
// exception: only its deliberate "I have copied it" button closes it.

import { html, raw, uid, copyText } from './dom.js';

/**
 * Opens a modal dialog. `body` is HTML (a Raw); `setup(dialog, close)` wires it up.
 * Returns a Promise of the value passed to close(value) (undefined on Escape).
 */
export function openDialog({ title, body, className = '', setup, closable = true }) {
  const opener = document.activeElement;
  const titleId = uid('dialog-title');
  const dialog = document.createElement('dialog');
  dialog.className = `dialog ${className}`.trim();
  dialog.setAttribute('aria-labelledby', titleId);
  dialog.setAttribute('aria-modal', 'true');
  if (!closable) dialog.setAttribute('closedby', 'none');
  dialog.innerHTML = String(html`<h2 id="${titleId}" class="dialog-title">${title}</h2>${body}`);
  document.body.append(dialog);
  return new Promise((resolve) => {
    let result;
    const close = (value) => {
      result = value;
      dialog.close();
    };
    dialog.addEventListener('close', () => {
      if (!closable && !dialog.dataset.done) {
        // Closed some other way: the key must not vanish unseen.
        dialog.showModal();
        return;
      }
      dialog.remove();
      if (opener && opener.isConnected && typeof opener.focus === 'function') opener.focus();
      resolve(result);
    });
    if (!closable) {
      const refuse = (event) => {
        event.preventDefault();
        dialog.dispatchEvent(new CustomEvent('escape-refused'));
      };
      dialog.addEventListener('cancel', refuse);
      dialog.addEventListener('keydown', (event) => {
        if (event.key === 'Escape') refuse(event);
      });
    }
    for (const b of dialog.querySelectorAll('[data-close]')) {
      b.addEventListener('click', (event) => {
        event.preventDefault();
        close(undefined);
      });
    }
    // Keep Tab and Shift+Tab inside the dialog.
    dialog.addEventListener('keydown', (event) => {
      if (event.key !== 'Tab') return;
      const focusable = Array.from(dialog.querySelectorAll('button, input, select, textarea, a[href], [tabindex]:not([tabindex="-1"])'))
        .filter((el) => !el.disabled && !el.closest('[hidden]') && el.getClientRects().length);
      if (!focusable.length) return;
      const first = focusable[0];
      const last = focusable[focusable.length - 1];
      if (event.shiftKey && document.activeElement === first) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && document.activeElement === last) {
        event.preventDefault();
        first.focus();
      }
    });
    setup?.(dialog, close);
    dialog.showModal();
    const first = dialog.querySelector('[autofocus]') || dialog.querySelector('input, select, textarea, button');
    first?.focus();
  });
}

/** A yes/no question; resolves true when `confirmLabel` is chosen. */
export function confirmDialog({ title, text, confirmLabel, danger = false, extra = '' }) {
  return openDialog({
    title,
    body: html`<form class="dialog-body" method="dialog">
      <p>${text}</p>${raw(extra)}
      <div class="actions">
        <button type="button" data-close>Cancel</button>
        <button type="submit" class="${danger ? 'danger' : 'primary'}" autofocus>${confirmLabel}</button>
      </div></form>`,
    setup(dialog, close) {
      dialog.querySelector('form').addEventListener('submit', (event) => {
        event.preventDefault();
        close(new FormData(event.target));
      });
    },
  }).then((data) => data || false);
}

/**
 * Shows a full key once, with a Copy button. Only "I have copied it" closes the dialog (not
 * Escape, not a click on the backdrop). The key is set as the field's value, never written into
 * the markup, and leaves the page in the same click that closes the dialog: the dialog's own
 * removal waits for its `close` event, which comes a task later.
 */
export function showKeyOnce({ title, intro, token }) {
  const fieldId = uid('new-key');
  const hintId = uid('hint');
  return openDialog({
    title,
    className: 'key-once',
    closable: false,
    body: html`<div class="dialog-body">
      <p>${intro}</p>
      <label for="${fieldId}">Your new API key</label>
      <div class="copy-row">
        <input id="${fieldId}" class="mono" type="text" readonly spellcheck="false" autocomplete="off" aria-describedby="${hintId}">
        <button type="button" class="primary" data-copy autofocus>Copy</button>
      </div>
      <p class="important" id="${hintId}"><strong>Important: copy this key now, it will not be shown again.</strong></p>
      <p class="copy-status" role="status" aria-live="polite"></p>
      <div class="actions"><button type="button" data-done>I have copied it</button></div>
    </div>`,
    setup(dialog, close) {
      const input = dialog.querySelector('input');
      input.value = token;
      const status = dialog.querySelector('.copy-status');
      dialog.querySelector('[data-copy]').addEventListener('click', async () => {
        const ok = await copyText(input.value, input);
        status.textContent = ok
          ? 'Copied to the clipboard.'
          : 'Copying is blocked here: the key is selected, press Ctrl+C (⌘C) to copy it.';
        if (!ok) input.select();
      });
      dialog.addEventListener('escape-refused', () => {
        status.textContent = 'The key will not be shown again: copy it, then choose “I have copied it” to close.';
      });
      dialog.querySelector('[data-done]').addEventListener('click', () => {
        input.value = '';
        dialog.dataset.done = '1';
        close(true);
      });
    },
  });
}
