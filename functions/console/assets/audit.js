// Audit records ({id, time, action, key, actor, changes, source, …}) as table rows.

import { html, when } from './dom.js';

export const ACTIONS = ['created', 'updated', 'disabled', 'enabled', 'approved', 'rejected', 'replaced', 'deleted', 'bootstrapped'];

function value(v) {
  if (v === null || v === undefined) return 'none';
  if (Array.isArray(v)) return v.length ? v.join(', ') : 'none';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function actor(a) {
  if (!a) return '';
  if (a.type === 'operator') return html`operator ${a.name}`;
  const who = a.user ? `user ${a.user.id}` : a.project ? `project ${a.project.id}` : '';
  return html`<span class="mono">${a.prefix}</span>${who ? html` <span class="muted">(${who})</span>` : ''}`;
}

function changes(c) {
  const entries = Object.entries(c || {});
  if (!entries.length) return html`<span class="muted">—</span>`;
  return html`<ul class="changes">${entries.map(([field, d]) => html`<li><span class="field-name">${field}</span>: ${value(d && d.from)} → ${value(d && d.to)}</li>`)}</ul>`;
}

/** Rows for `records`; `withKey` adds the key and project columns (the Activity page). */
export function auditRows(records, withKey) {
  let out = '';
  for (const r of records) {
    out += html`<tr data-id="${r.id}">
      <td data-label="When">${when(r.time)}</td>
      <td data-label="Action"><span class="action action-${r.action}">${r.action}</span></td>
      ${withKey ? html`<td data-label="Key">${r.key ? html`<a href="#/keys/${encodeURIComponent(r.key.prefix)}">${r.key.name || r.key.prefix}</a> <span class="mono muted">${r.key.prefix}</span>` : ''}</td>
        <td data-label="Project">${r.project ? r.project.id : html`<span class="muted">team</span>`}</td>` : ''}
      <td data-label="By">${actor(r.actor)}</td>
      <td data-label="Changes">${changes(r.changes)}</td>
      <td data-label="Source">${r.source || ''}${r.sourceIp ? html` <span class="muted">${r.sourceIp}</span>` : ''}</td>
    </tr>`;
  }
  return out;
}

export function auditTable(id, withKey, label) {
  return html`<div class="table-wrap"><table class="audit" aria-label="${label}">
    <thead><tr><th scope="col">When</th><th scope="col">Action</th>${withKey ? html`<th scope="col">Key</th><th scope="col">Project</th>` : ''}
    <th scope="col">By</th><th scope="col">Changes</th><th scope="col">Source</th></tr></thead>
    <tbody id="${id}"></tbody></table></div>`;
}
