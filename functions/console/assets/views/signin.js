// Sign in: paste a team or project key; GET /me says who it is. The key is kept in this tab's
// sessionStorage only.

import { api } from '../api.js';
import { html } from '../dom.js';
import { flash, signedIn, busy } from '../ui.js';

export default {
  title: () => 'Sign in',
  mount(root) {
    root.innerHTML = String(html`<section class="signin card">
      <h1>Sign in</h1>
      <p>Paste an API key: your team key or a project key. The console keeps it in this browser tab
        only (session storage), never in a cookie or an address, and forgets it when you sign out
        or close the tab.</p>
      <form id="signin-form" novalidate>
        <div class="field" data-field="key">
          <label for="signin-key">API key</label>
          <input id="signin-key" name="key" type="password" autocomplete="off" spellcheck="false"
            autocapitalize="off" required placeholder="sk-team-… or sk-project-…">
        </div>
        <div class="actions"><button type="submit" class="primary">Sign in</button></div>
      </form>
    </section>`);
    const form = root.querySelector('form');
    const input = form.querySelector('input');
    input.focus();
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const key = input.value.trim().replace(/^Bearer\s+/i, '');
      if (!key) {
        flash('error', 'Paste your API key first.');
        input.focus();
        return;
      }
      await busy(form, async () => {
        try {
          const me = await api.me(key);
          input.value = '';
          signedIn(key, me);
        } catch (err) {
          if (err.status === 401 || err.status === 403 || err.kind === 'refused') {
            flash('error', 'The key was refused: it is unknown, disabled, expired or replaced.');
          } else {
            flash('error', err.text || String(err));
          }
        }
      });
      input.focus();
    });
  },
};
