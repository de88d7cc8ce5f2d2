// "Profile & API Keys": the signed-in user's own team key in this team, with the red
// "Replace Key" button next to its prefix.

import { api } from '../api.js';
import { state, update } from '../state.js';
import { html, when } from '../dom.js';
import { showError } from '../ui.js';
import { replaceFlow } from './detail.js';
import { statusBadge } from './keys.js';
import * as P from '../perms.js';

let root = null;
let shown = null;

async function load() {
  update((s) => {
    s.profile.loading = true;
  });
  try {
    const key = await api.getKey(state.me.prefix);
    update((s) => {
      s.profile.key = key;
      s.profile.loading = false;
    });
  } catch (err) {
    update((s) => {
      s.profile.loading = false;
    });
    showError(err);
  }
}

export default {
  title: () => 'Profile & API Keys',
  mount(el, s) {
    root = el;
    shown = null;
    const me = s.me;
    el.innerHTML = String(html`<section class="page">
      <div class="page-head"><div><h1>Profile &amp; API Keys</h1>
        <p class="subtitle">${me.user ? `User ${me.user.id}, team ${me.account.id}` : `Team ${me.account.id}`}</p></div></div>
      ${P.isTeamKey(me)
        ? html`<section class="card" aria-labelledby="team-keys-title"><h2 id="team-keys-title">Team API Keys</h2>
            <p>Your team key runs jobs tied to team ${me.account.id}. Only its prefix is shown: the full key was shown once, when it was created or last replaced.</p>
            <div id="profile-key"><p>Loading…</p></div></section>`
        : html`<p class="card">You are signed in with a project key. Team keys belong to users: sign in with your team key to see yours here.</p>`}
    </section>`);
    el.addEventListener('submit', (event) => {
      event.preventDefault();
      replaceFlow(state.profile.key, event.target, (next) => update((st) => {
        st.profile.key = next;
      }));
    });
    if (P.isTeamKey(me)) load();
  },
  unmount() {
    root = null;
  },
  update(s) {
    const box = root?.querySelector('#profile-key');
    const k = s.profile.key;
    if (!box || !k) return;
    const mark = JSON.stringify(k);
    if (shown === mark) return;
    shown = mark;
    box.innerHTML = String(html`<div class="table-wrap"><table class="keys" aria-label="Your team key">
      <thead><tr><th scope="col">Team</th><th scope="col">Name</th><th scope="col">Key prefix</th><th scope="col">Status</th><th scope="col">Created on</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
      <tbody><tr data-prefix="${k.prefix}">
        <td data-label="Team">${k.account.id}</td>
        <td data-label="Name">${k.name}</td>
        <td data-label="Key prefix"><span class="mono">${k.prefix}</span> <span class="mono muted">${k.preview}</span></td>
        <td data-label="Status">${statusBadge(k.status)}</td>
        <td data-label="Created on">${when(k.createdAt)}</td>
        <td class="row-actions"><button type="submit" form="profile-replace" class="danger">Replace Key</button>
          <a href="#/keys/${encodeURIComponent(k.prefix)}">Detail</a></td>
      </tr></tbody></table></div>
      <form class="replace-inline" id="profile-replace" novalidate>
        <p>To replace your team key, click the red “Replace Key” button. This is a permanent action: your current key stops
          working, and you will need to save the new key, shown once. This tab goes on with the new key.</p>
        <div class="field" data-field="gracePeriodSeconds"><label for="p-grace">Grace period in seconds <span class="hint">(optional, 0–86400)</span></label>
          <input id="p-grace" name="gracePeriodSeconds" type="number" min="0" max="86400" step="1" inputmode="numeric"></div>
      </form>`);
  },
};
