// Activity: the audit records of the team (admin) or of a project (project admin), with the
// API's filters (project, actor, action, since, until), newest first, "Load more".

import { api } from '../api.js';
import { state, update, startLoading, pageLoaded, stopLoading } from '../state.js';
import { html, raw, fromLocalInput } from '../dom.js';
import { showError } from '../ui.js';
import { showFieldErrors, clearFieldErrors, fieldError } from '../forms.js';
import { ACTIONS, auditRows, auditTable } from '../audit.js';
import * as P from '../perms.js';

let root = null;
let query = 0;

async function load(more = false) {
  const a = state.activity;
  const f = a.filters;
  const q = more ? query : (query += 1);
  const since = fromLocalInput(f.since);
  const until = fromLocalInput(f.until);
  update((s) => startLoading(s.activity, more));
  try {
    const page = await api.audit({
      projectId: f.projectId, actor: f.actor.trim(), action: f.action,
      since: since || undefined, until: until || undefined, limit: 50,
      cursor: more ? a.nextCursor : undefined,
    });
    if (q !== query) return;
    update((s) => pageLoaded(s.activity, page, more));
  } catch (err) {
    if (q !== query) return;
    update((s) => stopLoading(s.activity));
    showError(err, root?.querySelector('form'));
  }
}

function filters(me, f) {
  const projects = P.isAdmin(me) ? P.memberProjects(me) : P.adminProjects(me);
  const project = P.isAdmin(me)
    ? html`<div class="field" data-field="projectId"><label for="a-project">Project</label>
        <input id="a-project" name="projectId" value="${f.projectId}" list="a-projects" placeholder="Whole team" autocomplete="off">
        <datalist id="a-projects">${projects.map((p) => html`<option value="${p}"></option>`)}</datalist></div>`
    : html`<div class="field" data-field="projectId"><label for="a-project">Project</label>
        <select id="a-project" name="projectId">${projects.map((p) => html`<option value="${p}"${p === f.projectId ? raw(' selected') : ''}>${p}</option>`)}</select></div>`;
  return html`<form class="filters" aria-label="Filter the activity" novalidate>
    ${project}
    <div class="field" data-field="actor"><label for="a-actor">Actor (key prefix)</label>
      <input id="a-actor" name="actor" value="${f.actor}" autocomplete="off" spellcheck="false"></div>
    <div class="field" data-field="action"><label for="a-action">Action</label><select id="a-action" name="action">
      <option value="">Any action</option>${ACTIONS.map((x) => html`<option value="${x}"${x === f.action ? raw(' selected') : ''}>${x}</option>`)}</select></div>
    <div class="field" data-field="since"><label for="a-since">Since</label><input id="a-since" name="since" type="datetime-local" value="${f.since}"></div>
    <div class="field" data-field="until"><label for="a-until">Until</label><input id="a-until" name="until" type="datetime-local" value="${f.until}"></div>
    <div class="field"><button type="submit" class="primary">Apply filters</button></div>
  </form>`;
}

export default {
  title: () => 'Activity',
  mount(el, s) {
    root = el;
    const me = s.me;
    const f = s.activity.filters;
    if (!P.isAdmin(me) && !P.adminProjects(me).includes(f.projectId)) f.projectId = P.adminProjects(me)[0] || '';
    el.innerHTML = String(html`<section class="page">
      <div class="page-head"><div><h1>Activity</h1>
        <p class="subtitle">${P.isAdmin(me) ? `What was done to the keys of team ${me.account.id}, newest first.` : 'What was done to your projects’ keys, newest first.'}</p></div></div>
      ${filters(me, f)}
      <p id="activity-status" aria-live="polite"></p>
      ${auditTable('activity-rows', true, 'Activity, newest first')}
      <p id="activity-empty" class="empty" hidden>No activity matches these filters.</p>
      <div class="more"><button type="button" id="activity-more" hidden>Load more</button></div>
    </section>`);
    const form = el.querySelector('form');
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const d = new FormData(form);
      const next = {};
      for (const k of ['projectId', 'actor', 'action', 'since', 'until']) next[k] = String(d.get(k) || '');
      const errors = [];
      if (next.since && next.until && new Date(next.since) > new Date(next.until)) errors.push(fieldError('until', 'Must be after “Since”.'));
      if (errors.length) {
        showFieldErrors(form, errors);
        return;
      }
      clearFieldErrors(form);
      state.activity.filters = next;
      load();
    });
    el.querySelector('#activity-more').addEventListener('click', () => load(true));
    load();
  },
  unmount() {
    root = null;
  },
  update(s) {
    if (!root) return;
    const a = s.activity;
    const tbody = root.querySelector('#activity-rows');
    if (tbody.dataset.count !== String(a.items.length) || tbody.dataset.q !== String(query)) {
      tbody.innerHTML = auditRows(a.items, true);
      tbody.dataset.count = String(a.items.length);
      tbody.dataset.q = String(query);
    }
    root.querySelector('#activity-status').textContent = a.loading ? 'Loading…' : a.loaded ? `${a.items.length} records${a.nextCursor ? ' shown, more to load' : ''}` : '';
    root.querySelector('#activity-empty').hidden = !(a.loaded && !a.loading && !a.items.length);
    root.querySelector('#activity-more').hidden = !a.nextCursor;
  },
};
