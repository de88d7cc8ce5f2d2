// The Keys page ("API keys" for a project): search, filters, the list with "Load more", and per
// row a Detail link, a copy-prefix button and an options menu (Block/Unblock, Delete). Rows are
// built as one HTML string per page and inserted at once: a thousand keys cost one parse, no
// per-row reflow.

import { api } from '../api.js';
import { state, update, startLoading, pageLoaded, stopLoading } from '../state.js';
import { html, raw, when, initials, copyText } from '../dom.js';
import { flash, showError } from '../ui.js';
import { confirmDialog } from '../dialogs.js';
import { openCreate } from './create.js';
import * as P from '../perms.js';

const PAGE = 100;
const STATUSES = ['Active', 'Disabled', 'Pending', 'Rejected', 'Deleted'];
const COPY_ICON = raw('<span class="icon icon-copy" aria-hidden="true"></span>');
const DOTS_ICON = raw('<span class="icon icon-more" aria-hidden="true"></span>');

let root = null;
let rendered = { query: -1, count: 0, filling: false };
/** Whether a long list is filling in, and which filling (a new list stops the old one). */
let filling = false;
let fillingRun = 0;
/** Rows a new list shows at once (a few screens), then rows a frame while it fills in. */
const FIRST = 50;
const CHUNK = 100;
let searchTimer = null;

const copyHint = (k) =>
  `Copy the prefix ${k.prefix}. Only a hash of each key is stored, so the full key can be copied only while it is shown once, right after it is created or replaced.`;

/** The red dot of a blocked key, next to its avatar. */
export const avatar = (k) => html`<span class="avatar-wrap"><span class="avatar" aria-hidden="true">${initials(k.name)}</span>${
  k.status === 'Disabled' ? html`<span class="dot" role="img" aria-label="Blocked" title="Blocked"></span>` : ''
}</span>`;

export const statusBadge = (s) => html`<span class="status status-${s}">${s}</span>`;

const MENU_LABELS = { block: 'Block', unblock: 'Unblock', delete: 'Delete' };

/** The options button; its menu is built when it is first opened (fewer nodes per row). */
function menu(me, k) {
  const items = [];
  if (P.canBlock(me, k)) items.push('block');
  if (P.canUnblock(me, k)) items.push('unblock');
  if (P.canDelete(me, k)) items.push('delete');
  if (!items.length) return '';
  return html`<div class="menu-wrap"><button type="button" class="icon-button" data-action="menu" data-items="${items.join(' ')}"
    aria-haspopup="menu" aria-expanded="false" aria-label="Options for ${k.name}" title="Options">${DOTS_ICON}</button></div>`;
}

function buildMenu(button) {
  const wrap = button.parentElement;
  let m = wrap.querySelector('.menu');
  if (m) return m;
  const id = `menu-${button.closest('tr').dataset.prefix}`;
  wrap.insertAdjacentHTML('beforeend', String(html`<ul class="menu" role="menu" id="${id}" aria-label="${button.getAttribute('aria-label')}" hidden>${
    button.dataset.items.split(' ').map((a) => html`<li role="none"><button type="button" role="menuitem" data-action="${a}"${a === 'delete' ? raw(' class="danger-text"') : ''}>${MENU_LABELS[a]}</button></li>`)}</ul>`));
  button.setAttribute('aria-controls', id);
  m = wrap.querySelector('.menu');
  return m;
}

/**
 * Appends the rows not yet shown (FIRST of a new list, else CHUNK), and the rest a CHUNK a frame
 * from the state as it is then: a person sees the first rows at once and the page stays responsive while
 * a long list fills in (laying out a thousand table rows at once takes the browser hundreds of
 * milliseconds). `keys-render` measures the first insertion from `t0`, `keys-render-all` the last.
 */
function fillRows(tbody, t0) {
  filling = false;
  if (!root) return;
  const { items } = state.keys;
  const end = Math.min(items.length, rendered.count + (rendered.count ? CHUNK : FIRST));
  tbody.insertAdjacentHTML('beforeend', rowsHtml(items.slice(rendered.count, end), state.me));
  const first = rendered.count === 0 || !rendered.filling;
  rendered = { query: state.keys.query, count: end, filling: end < items.length };
  if (first) performance.measure('keys-render', { start: t0, end: performance.now() });
  // after the next frame has painted these rows: each chunk gets a frame of its own
  if (end < items.length) {
    filling = true;
    const run = fillingRun;
    requestAnimationFrame(() => setTimeout(() => run === fillingRun && fillRows(tbody, t0)));
  } else {
    performance.measure('keys-render-all', { start: t0, end: performance.now() });
  }
}

function stopFilling() {
  fillingRun += 1;
  filling = false;
}

/** The rows of `items`, as one HTML string (no whitespace between tags: fewer nodes a row). */
export function rowsHtml(items, me) {
  let out = '';
  for (const k of items) {
    out += String(html`<tr data-prefix="${k.prefix}" data-version="${k.version}" class="${k.status === 'Disabled' ? 'is-blocked' : ''}">
      <td data-label="API key"><div class="keycell">${avatar(k)}<div class="keyname"><span class="name">${k.name}</span>
        <span class="preview mono">${k.preview}</span>${k.keyType === 'user' ? html`<span class="tag">Team key</span>` : ''}${
        k.project ? html`<span class="tag">${k.project.id}</span>` : ''}</div></div></td>
      <td data-label="Status">${statusBadge(k.status)}</td>
      <td data-label="Created by">${k.createdBy}</td>
      <td data-label="Created on">${when(k.createdAt, '—', false)}</td>
      <td data-label="Last active">${when(k.lastActiveDateTime, 'Never')}</td>
      <td data-label="Submitted jobs" class="num">${k.submittedJobs ?? 0}</td>
      <td class="row-actions"><a href="#/keys/${encodeURIComponent(k.prefix)}">Detail<span class="sr-only"> of ${k.name}</span></a>
        <button type="button" class="icon-button" data-action="copy" aria-label="Copy prefix of ${k.name}" title="${copyHint(k)}">${COPY_ICON}</button>
        ${menu(me, k)}</td>
    </tr>`).replace(/>\s+</g, '><');
  }
  return out;
}

function defaultProject(me) {
  if (P.isAdmin(me)) return '';
  return P.memberProjects(me)[0] || '';
}

function heading(s) {
  return s.keys.filters.projectId ? 'API keys' : 'Keys';
}

function filtersHtml(me, f) {
  const projects = P.memberProjects(me);
  let project = '';
  if (P.isAdmin(me)) {
    project = html`<div class="field"><label for="f-project">Project</label>
      <input id="f-project" name="projectId" list="f-projects" value="${f.projectId}" placeholder="All projects of the team" autocomplete="off">
      <datalist id="f-projects">${projects.map((p) => html`<option value="${p}"></option>`)}</datalist></div>`;
  } else if (projects.length) {
    project = html`<div class="field"><label for="f-project">Project</label>
      <select id="f-project" name="projectId">${projects.map((p) => html`<option value="${p}"${p === f.projectId ? raw(' selected') : ''}>${p}</option>`)}</select></div>`;
  }
  const type = P.isAdmin(me)
    ? html`<div class="field"><label for="f-type">Type</label><select id="f-type" name="keyType">
        <option value="">All types</option>
        <option value="user"${f.keyType === 'user' ? raw(' selected') : ''}>Team keys</option>
        <option value="system"${f.keyType === 'system' ? raw(' selected') : ''}>Project keys</option></select></div>`
    : '';
  return html`<form class="filters" role="search" aria-label="Find API keys">
    <div class="field grow"><label for="f-search">Search</label>
      <input id="f-search" name="search" type="search" value="${f.search}" placeholder="Key name" autocomplete="off"></div>
    ${project}${type}
    <div class="field"><label for="f-status">Status</label><select id="f-status" name="status">
      <option value="">All statuses</option>
      ${STATUSES.map((s) => html`<option value="${s}"${f.status === s ? raw(' selected') : ''}>${s}</option>`)}</select></div>
  </form>`;
}

export async function load({ more = false } = {}) {
  const s = state.keys;
  const f = s.filters;
  const query = more ? s.query : s.query + 1;
  update((st) => {
    startLoading(st.keys, more);
    st.keys.query = query;
  });
  try {
    const params = { projectId: f.projectId, keyType: f.keyType, status: f.status, search: f.search.trim(), limit: PAGE };
    if (more) params.cursor = s.nextCursor;
    const page = await api.listKeys(params);
    if (state.keys.query !== query) return; // a newer query won
    update((st) => pageLoaded(st.keys, page, more));
  } catch (err) {
    if (state.keys.query !== query) return;
    update((st) => stopLoading(st.keys));
    showError(err);
  }
}

function replaceItem(next) {
  update((st) => {
    st.keys.items = st.keys.items.map((k) => (k.prefix === next.prefix ? next : k));
  });
}

async function setStatus(k, status, done) {
  try {
    const next = await api.updateKey(k.prefix, { status }, k.version);
    replaceItem(next);
    flash('success', done);
  } catch (err) {
    showError(err);
  }
}

function closeMenus(except = null) {
  for (const m of root?.querySelectorAll('.menu:not([hidden])') || []) {
    if (m === except) continue;
    m.hidden = true;
    m.parentElement.querySelector('[data-action="menu"]').setAttribute('aria-expanded', 'false');
  }
}

function toggleMenu(button) {
  const m = buildMenu(button);
  const open = m.hidden;
  closeMenus(m);
  m.hidden = !open;
  button.setAttribute('aria-expanded', String(open));
  if (open) m.querySelector('[role="menuitem"]')?.focus();
}

async function act(action, button) {
  const row = button.closest('tr');
  const k = state.keys.items.find((i) => i.prefix === row?.dataset.prefix);
  if (action === 'menu') return toggleMenu(button);
  closeMenus();
  if (action === 'create') return create();
  if (action === 'more') return load({ more: true });
  if (!k) return undefined;
  const me = state.me;
  if (action === 'copy') {
    const ok = await copyText(k.prefix);
    return ok
      ? flash('success', `The prefix ${k.prefix} of ${k.name} was copied. The full key is never stored, so it cannot be copied here.`)
      : flash('error', `Copying is blocked in this browser. The prefix is ${k.prefix}.`);
  }
  if (action === 'block') {
    const ok = await confirmDialog({
      title: 'Block API Key',
      text: `Block ${k.name} (${k.preview})? Every call with this key is refused until it is unblocked.`,
      confirmLabel: 'Block',
      danger: true,
    });
    if (ok) await setStatus(k, 'Disabled', `The API key ${k.name} has been blocked.`);
    return undefined;
  }
  if (action === 'unblock') return setStatus(k, 'Active', `The API key ${k.name} has been unblocked.`);
  if (action === 'delete') {
    const ok = await confirmDialog({
      title: 'Delete API Key',
      text: `Delete ${k.name} (${k.preview})? The key is removed and can no longer be used. Any service still using it will stop working.`,
      confirmLabel: 'Delete',
      danger: true,
    });
    if (!ok) return undefined;
    try {
      await api.deleteKey(k.prefix, k.version);
      update((st) => {
        st.keys.items = st.keys.items.filter((i) => i.prefix !== k.prefix);
      });
      if (P.isSelf(me, k)) return undefined; // the session ends (next call is refused)
      flash('success', `The API key ${k.name} has been deleted.`);
    } catch (err) {
      showError(err);
    }
  }
  return undefined;
}

async function create() {
  const created = await openCreate(state.me, { project: state.keys.filters.projectId });
  if (!created) return;
  const f = state.keys.filters;
  const matches = (!f.projectId || (created.project && created.project.id === f.projectId)) && (!f.keyType || f.keyType === created.keyType) && (!f.status || f.status === created.status);
  if (matches && !f.search) {
    update((st) => {
      st.keys.items = [created, ...st.keys.items.filter((k) => k.prefix !== created.prefix)];
      st.keys.query += 1;
    });
  }
}

function onKey(event) {
  const item = event.target.closest('[role="menuitem"]');
  if (item) {
    const items = Array.from(item.closest('.menu').querySelectorAll('[role="menuitem"]'));
    const i = items.indexOf(item);
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      items[(i + (event.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length].focus();
    } else if (event.key === 'Escape' || event.key === 'Tab') {
      const button = item.closest('.menu-wrap').querySelector('[data-action="menu"]');
      closeMenus();
      if (event.key === 'Escape') {
        event.preventDefault();
        button.focus();
      }
    }
  }
}

export default {
  title: (s) => heading(s),
  mount(el, s) {
    root = el;
    rendered = { query: -1, count: 0, filling: false };
    const me = s.me;
    if (!s.keys.loaded && !s.keys.loading) s.keys.filters.projectId = s.keys.filters.projectId || defaultProject(me);
    el.innerHTML = String(html`<section class="page keys-page">
      <div class="page-head">
        <div><h1 id="keys-title">${heading(s)}</h1><p class="subtitle" id="keys-scope"></p></div>
        ${P.canCreate(me) ? html`<button type="button" class="primary" data-action="create">Create API Key</button>` : ''}
      </div>
      ${filtersHtml(me, s.keys.filters)}
      <p class="count" id="keys-count" aria-live="polite"></p>
      <div class="table-wrap">
        <table class="keys keys-list" aria-labelledby="keys-title">
          <colgroup><col class="c-key"><col class="c-status"><col class="c-by"><col class="c-on"><col class="c-active"><col class="c-jobs"><col class="c-actions"></colgroup>
          <thead><tr><th scope="col">API key</th><th scope="col">Status</th><th scope="col">Created by</th>
            <th scope="col">Created on</th><th scope="col">Last active</th><th scope="col" class="num">Submitted jobs</th>
            <th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
          <tbody id="keys-rows"></tbody>
        </table>
      </div>
      <div id="keys-empty" class="empty" hidden></div>
      <div class="more"><button type="button" data-action="more" id="keys-more" hidden>Load more</button></div>
    </section>`);
    el.addEventListener('click', (event) => {
      const b = event.target.closest('[data-action]');
      if (b && el.contains(b)) act(b.dataset.action, b);
      else if (!event.target.closest('.menu-wrap')) closeMenus();
    });
    el.addEventListener('keydown', onKey);
    const form = el.querySelector('.filters');
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      clearTimeout(searchTimer);
      load();
    });
    form.addEventListener('input', (event) => {
      const f = state.keys.filters;
      f[event.target.name] = event.target.value;
      clearTimeout(searchTimer);
      searchTimer = setTimeout(() => load(), event.target.name === 'search' || event.target.name === 'projectId' && event.target.tagName === 'INPUT' ? 300 : 0);
    });
    document.addEventListener('click', outside);
    load();
  },
  unmount() {
    stopFilling();
    document.removeEventListener('click', outside);
    clearTimeout(searchTimer);
    root = null;
  },
  update(s) {
    if (!root) return;
    const k = s.keys;
    const me = s.me;
    const tbody = root.querySelector('#keys-rows');
    if (rendered.query !== k.query || k.items.length < rendered.count) {
      stopFilling();
      tbody.textContent = '';
      rendered = { query: k.query, count: 0, filling: false };
      fillRows(tbody, performance.now());
    } else if (k.items.length > rendered.count) {
      if (!filling) fillRows(tbody, performance.now());
    } else {
      // same rows, some changed (block, unblock): redraw only those
      for (const item of k.items) {
        const tr = tbody.querySelector(`tr[data-prefix="${CSS.escape(item.prefix)}"]`);
        if (tr && tr.dataset.version !== String(item.version)) {
          const tmp = document.createElement('tbody');
          tmp.innerHTML = rowsHtml([item], me);
          const fresh = tmp.firstElementChild;
          const focusedAction = tr.contains(document.activeElement) ? document.activeElement.dataset.action : null;
          tr.replaceWith(fresh);
          if (focusedAction) fresh.querySelector(`[data-action="${focusedAction}"]`)?.focus();
        }
      }
    }
    root.querySelector('#keys-title').textContent = heading(s);
    const f = k.filters;
    root.querySelector('#keys-scope').textContent = f.projectId
      ? `Project ${f.projectId}`
      : P.isAdmin(me)
        ? `All keys of team ${me.account.id}`
        : P.memberProjects(me).length
          ? ''
          : 'Your own team key';
    root.querySelector('.table-wrap').hidden = k.loaded && !k.items.length;
    root.querySelector('#keys-count').textContent = k.loading
      ? 'Loading…'
      : k.loaded
        ? `${k.items.length} ${k.items.length === 1 ? 'key' : 'keys'}${k.nextCursor ? ' shown, more to load' : ''}`
        : '';
    root.querySelector('.keys-page').setAttribute('aria-busy', String(k.loading));
    const more = root.querySelector('#keys-more');
    more.hidden = !k.nextCursor;
    more.disabled = k.loading;
    const empty = root.querySelector('#keys-empty');
    empty.hidden = !(k.loaded && !k.loading && !k.items.length);
    if (!empty.hidden) {
      const filtered = f.search || f.status || f.keyType;
      const text = filtered
        ? 'No API key matches these filters.'
        : f.projectId
          ? 'No API key has been created on this project.'
          : 'No API key has been created on this team.';
      const can = P.canCreate(me) && (P.isAdmin(me) || !f.projectId || P.memberProjects(me).includes(f.projectId));
      empty.innerHTML = String(html`<p>${text}</p>${!filtered && can ? html`<button type="button" class="primary" data-action="create">Create an API key</button>` : ''}`);
    }
  },
};

function outside(event) {
  if (root && !event.target.closest('.menu-wrap')) closeMenus();
}
