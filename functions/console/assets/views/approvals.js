// Approvals: Pending keys of the team (admin) or of the projects the key administers, with
// Approve (→ Active) and Reject (→ Rejected).

import { api } from '../api.js';
import { state, update, stopLoading } from '../state.js';
import { html, when } from '../dom.js';
import { flash, showError } from '../ui.js';
import { avatar } from './keys.js';
import * as P from '../perms.js';

let root = null;

async function load() {
  const me = state.me;
  update((s) => {
    s.approvals.loading = true;
  });
  try {
    // An admin sees the whole team in one list; a project admin asks per project.
    const scopes = P.isAdmin(me) ? [''] : P.adminProjects(me);
    const items = [];
    for (const projectId of scopes) {
      let cursor;
      for (let page = 0; page < 10; page += 1) {
        const r = await api.listKeys({ projectId, status: 'Pending', limit: 100, cursor });
        items.push(...r.items);
        cursor = r.nextCursor;
        if (!cursor) break;
      }
    }
    update((s) => {
      s.approvals.items = items.filter((k) => k.status === 'Pending');
      stopLoading(s.approvals);
    });
  } catch (err) {
    update((s) => stopLoading(s.approvals));
    showError(err);
  }
}

async function decide(prefix, status) {
  const k = state.approvals.items.find((i) => i.prefix === prefix);
  if (!k) return;
  try {
    const next = await api.updateKey(k.prefix, { status }, k.version);
    update((s) => {
      s.approvals.items = s.approvals.items.filter((i) => i.prefix !== prefix);
      s.keys.items = s.keys.items.map((i) => (i.prefix === prefix ? next : i));
    });
    flash('success', `The API key ${k.name} has been ${status === 'Active' ? 'approved' : 'rejected'}.`);
  } catch (err) {
    showError(err);
  }
}

export default {
  title: () => 'Approvals',
  mount(el) {
    root = el;
    el.innerHTML = String(html`<section class="page">
      <div class="page-head"><div><h1>Approvals</h1>
        <p class="subtitle">Keys created by project members wait here until a project admin approves (Active) or rejects them.</p></div></div>
      <p id="approvals-status" aria-live="polite"></p>
      <div class="table-wrap"><table class="keys" aria-label="Keys waiting for approval">
        <thead><tr><th scope="col">API key</th><th scope="col">Project</th><th scope="col">Created by</th><th scope="col">Created on</th>
        <th scope="col">Roles</th><th scope="col"><span class="sr-only">Decision</span></th></tr></thead>
        <tbody id="approval-rows"></tbody></table></div>
      <p id="approvals-empty" class="empty" hidden>No API key is waiting for approval.</p>
    </section>`);
    el.addEventListener('click', (event) => {
      const b = event.target.closest('[data-action]');
      if (!b) return;
      const prefix = b.closest('tr').dataset.prefix;
      b.disabled = true;
      decide(prefix, b.dataset.action === 'approve' ? 'Active' : 'Rejected').finally(() => {
        if (b.isConnected) b.disabled = false;
      });
    });
    load();
  },
  unmount() {
    root = null;
  },
  update(s) {
    if (!root) return;
    const a = s.approvals;
    const tbody = root.querySelector('#approval-rows');
    const sig = a.items.map((k) => `${k.prefix}@${k.version}`).join(',');
    if (tbody.dataset.sig !== sig) {
      tbody.dataset.sig = sig;
      tbody.innerHTML = a.items
        .map((k) => String(html`<tr data-prefix="${k.prefix}">
          <td data-label="API key"><div class="keycell">${avatar(k)}<div class="keyname"><a class="name" href="#/keys/${encodeURIComponent(k.prefix)}">${k.name}</a>
            <span class="preview mono">${k.preview}</span></div></div></td>
          <td data-label="Project">${k.project ? k.project.id : ''}</td>
          <td data-label="Created by">${k.createdBy}</td>
          <td data-label="Created on">${when(k.createdAt)}</td>
          <td data-label="Roles">${(k.roles || []).join(', ') || '—'}</td>
          <td class="row-actions"><button type="button" class="primary" data-action="approve">Approve<span class="sr-only"> ${k.name}</span></button>
            <button type="button" class="danger" data-action="reject">Reject<span class="sr-only"> ${k.name}</span></button></td></tr>`))
        .join('');
    }
    root.querySelector('#approvals-status').textContent = a.loading ? 'Loading…' : a.loaded ? `${a.items.length} waiting` : '';
    root.querySelector('.table-wrap').hidden = a.loaded && !a.items.length;
    root.querySelector('#approvals-empty').hidden = !(a.loaded && !a.loading && !a.items.length);
  },
};
