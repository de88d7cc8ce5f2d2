// "API key details": every field of the key, the edit form (Save → "The API key has been
// updated."), approve/reject, Replace Key (the new key shown once), Delete, and the History tab.

import { api } from '../api.js';
import { state, update, rememberKey, pageLoaded, stopLoading } from '../state.js';
import { html, raw, when, splitList, fromLocalInput, toLocalInput, keyTypeLabel } from '../dom.js';
import { flash, showError, navigate, busy, signOut } from '../ui.js';
import { confirmDialog, showKeyOnce } from '../dialogs.js';
import { showFieldErrors, clearFieldErrors, fieldError } from '../forms.js';
import { auditRows, auditTable } from '../audit.js';
import { avatar, statusBadge } from './keys.js';
import * as P from '../perms.js';

let root = null;
let shown = null; // "prefix@version" of what the body shows

const yesNo = (b) => (b ? 'Yes' : 'No');
const list = (a) => (a && a.length ? a.join(', ') : html`<span class="muted">none</span>`);
const TRANSITIONS = { Active: ['Active', 'Disabled'], Disabled: ['Disabled', 'Active'], Pending: ['Pending', 'Active', 'Rejected'], Rejected: ['Rejected', 'Active'] };

function rateLimitText(r) {
  if (r === undefined) return null;
  if (!r) return html`<span class="muted">none</span>`;
  return `${r.limit} requests per ${r.periodSeconds} seconds`;
}

function quotaText(q) {
  if (q === undefined) return null;
  if (!q) return html`<span class="muted">none</span>`;
  const refill = q.refill ? `, refilled with ${q.refill.amount} every ${q.refill.interval}` : '';
  return `${q.remaining} remaining${refill}`;
}

function facts(k) {
  const rows = [
    ['Name', k.name],
    ['Prefix', html`<span class="mono">${k.prefix}</span>`],
    ['Preview', html`<span class="mono">${k.preview}</span>`],
    ['Description', k.description || html`<span class="muted">none</span>`],
    ['Type', `${keyTypeLabel(k.keyType)} (${k.keyType})`],
    ['Status', statusBadge(k.status)],
    ['Default', yesNo(k.isDefault)],
    ['High priority', yesNo(k.isHighPriority)],
    ['Roles', list(k.roles)],
    ['Labels', list(k.labels)],
    ['Webhook URL', k.webhookUrl || html`<span class="muted">none</span>`],
    ['Expires', when(k.expiresAt, 'Never')],
    ['Team', k.account ? k.account.id : ''],
    ['User', k.user ? k.user.id : html`<span class="muted">none</span>`],
    ['Project', k.project ? k.project.id : html`<span class="muted">none</span>`],
    ['Created on', when(k.createdAt)],
    ['Created by', k.createdBy],
    ['Updated on', when(k.updatedAt)],
    ['Last active', when(k.lastActiveDateTime, 'Never')],
    ['Submitted jobs', String(k.submittedJobs ?? 0)],
    ['Retrieved', yesNo(k.retrieved)],
    ['Version', String(k.version)],
  ];
  if ('approvedBy' in k) rows.push(['Approved by', k.approvedBy || html`<span class="muted">nobody yet</span>`]);
  if ('rateLimit' in k) rows.push(['Rate limit', rateLimitText(k.rateLimit)]);
  if ('quota' in k) rows.push(['Quota', quotaText(k.quota)]);
  return html`<dl class="facts key-facts">${rows.map(([t, d]) => html`<div><dt>${t}</dt><dd>${d}</dd></div>`)}</dl>`;
}

function editForm(me, k) {
  const guarded = P.canChangeGuarded(me, k);
  const admin = P.isAdmin(me);
  const roleChoices = [...new Set([...(k.roles || []), ...(me.roles || [])])].sort();
  const statuses = TRANSITIONS[k.status] || [k.status];
  const limits = P.canEditLimits(me, k);
  return html`<form id="edit-form" class="card edit-form" novalidate aria-labelledby="edit-title">
    <h2 id="edit-title">Edit</h2>
    <div class="grid">
    <div class="field" data-field="name"><label for="d-name">Name</label>
      <input id="d-name" name="name" value="${k.name}" required maxlength="100" autocomplete="off"></div>
    ${guarded ? html`<div class="field" data-field="status"><label for="d-status">Status</label>
      <select id="d-status" name="status">${statuses.map((s) => html`<option value="${s}"${s === k.status ? raw(' selected') : ''}>${s}</option>`)}</select></div>` : ''}
    <div class="field wide" data-field="description"><label for="d-description">Description</label>
      <textarea id="d-description" name="description" maxlength="500" rows="2">${k.description || ''}</textarea></div>
    <div class="field" data-field="labels"><label for="d-labels">Labels</label>
      <input id="d-labels" name="labels" value="${(k.labels || []).join(', ')}" autocomplete="off" aria-describedby="d-labels-hint">
      <p class="hint" id="d-labels-hint">Comma-separated.</p></div>
    <div class="field" data-field="webhookUrl"><label for="d-webhook">Webhook URL</label>
      <input id="d-webhook" name="webhookUrl" type="url" value="${k.webhookUrl || ''}" autocomplete="off"></div>
    ${guarded
      ? admin
        ? html`<div class="field" data-field="roles"><label for="d-roles">Roles</label>
            <input id="d-roles" name="roles" value="${(k.roles || []).join(', ')}" autocomplete="off" aria-describedby="d-roles-hint">
            <p class="hint" id="d-roles-hint">Comma-separated.</p></div>`
        : html`<fieldset class="field" data-field="roles"><legend>Roles <span class="hint">(you may add only roles your key holds)</span></legend>
            ${roleChoices.map((r) => html`<label class="inline"><input type="checkbox" name="roles" value="${r}"${(k.roles || []).includes(r) ? raw(' checked') : ''}${
              !(k.roles || []).includes(r) && !P.holds(me, r) ? raw(' disabled') : ''}> ${r}</label>`)}</fieldset>`
      : ''}
    ${guarded ? html`<div class="field" data-field="expiresAt"><label for="d-expires">Expires on <span class="hint">(empty: never)</span></label>
      <input id="d-expires" name="expiresAt" type="datetime-local" value="${toLocalInput(k.expiresAt)}"></div>` : ''}
    ${P.canHighPriority(me, k) ? html`<div class="field" data-field="isHighPriority"><label class="inline">
      <input type="checkbox" name="isHighPriority" id="d-priority"${k.isHighPriority ? raw(' checked') : ''}> High priority</label></div>` : ''}
    ${limits && 'rateLimit' in k ? html`<fieldset class="field" data-field="rateLimit"><legend>Rate limit <span class="hint">(both empty: none)</span></legend>
      <label for="d-rl-limit">Requests</label><input id="d-rl-limit" name="rateLimitLimit" type="number" min="1" step="1" value="${k.rateLimit ? k.rateLimit.limit : ''}">
      <label for="d-rl-period">Per seconds</label><input id="d-rl-period" name="rateLimitPeriod" type="number" min="1" step="1" value="${k.rateLimit ? k.rateLimit.periodSeconds : ''}"></fieldset>` : ''}
    ${limits && 'quota' in k ? html`<fieldset class="field" data-field="quota"><legend>Quota <span class="hint">(remaining empty: none)</span></legend>
      <label for="d-q-remaining">Remaining</label><input id="d-q-remaining" name="quotaRemaining" type="number" min="0" step="1" value="${k.quota ? k.quota.remaining : ''}">
      <label for="d-q-amount">Refill amount</label><input id="d-q-amount" name="quotaRefillAmount" type="number" min="1" step="1" value="${k.quota && k.quota.refill ? k.quota.refill.amount : ''}">
      <label for="d-q-interval">Refill every</label><select id="d-q-interval" name="quotaRefillInterval">
        ${['', 'day', 'month'].map((i) => html`<option value="${i}"${(k.quota && k.quota.refill ? k.quota.refill.interval : '') === i ? raw(' selected') : ''}>${i || 'no refill'}</option>`)}</select></fieldset>` : ''}
    </div>
    <div class="actions"><button type="submit" class="primary">Save</button></div>
  </form>`;
}

const same = (a, b) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
const int = (v) => (String(v).trim() === '' ? null : Number(v));

/** The fields that changed, as a PATCH body; and client-side errors. */
function changes(me, k, f) {
  const d = new FormData(f);
  const b = {};
  const errors = [];
  const name = String(d.get('name') || '').trim();
  if (!name) errors.push(fieldError('name', 'Enter a name.'));
  if (name !== k.name) b.name = name;
  const description = String(d.get('description') || '').trim();
  if (description !== (k.description || '')) b.description = description || null;
  const labels = splitList(d.get('labels'));
  if (!same(labels, k.labels || [])) b.labels = labels;
  const webhook = String(d.get('webhookUrl') || '').trim();
  if (webhook && !/^https:\/\/\S+$/i.test(webhook)) errors.push(fieldError('webhookUrl', 'Must be an https:// URL.'));
  if (webhook !== (k.webhookUrl || '')) b.webhookUrl = webhook || null;
  if (f.querySelector('[name="status"]')) {
    const status = String(d.get('status'));
    if (status !== k.status) b.status = status;
  }
  const rolesInput = f.querySelector('[name="roles"]');
  if (rolesInput) {
    const roles = rolesInput.type === 'checkbox' ? d.getAll('roles').map(String) : splitList(d.get('roles'));
    if (!same([...roles].sort(), [...(k.roles || [])].sort())) b.roles = roles;
  }
  if (f.querySelector('[name="expiresAt"]')) {
    const raw = d.get('expiresAt');
    const expires = fromLocalInput(raw);
    if (expires === undefined) errors.push(fieldError('expiresAt', 'Not a date and time.'));
    else if (toLocalInput(k.expiresAt) !== String(raw || '')) b.expiresAt = expires;
  }
  if (f.querySelector('[name="isHighPriority"]')) {
    const hp = Boolean(d.get('isHighPriority'));
    if (hp !== Boolean(k.isHighPriority)) b.isHighPriority = hp;
  }
  if (f.querySelector('[name="rateLimitLimit"]')) {
    const limit = int(d.get('rateLimitLimit'));
    const period = int(d.get('rateLimitPeriod'));
    const next = limit === null && period === null ? null : { limit, periodSeconds: period };
    if (next && (limit === null || period === null)) errors.push(fieldError('rateLimit', 'Give both the number of requests and the period, or neither.'));
    if (!same(next, k.rateLimit)) b.rateLimit = next;
  }
  if (f.querySelector('[name="quotaRemaining"]')) {
    const remaining = int(d.get('quotaRemaining'));
    const amount = int(d.get('quotaRefillAmount'));
    const interval = String(d.get('quotaRefillInterval') || '');
    const refill = amount === null && !interval ? null : { amount, interval };
    if (refill && (amount === null || !interval)) errors.push(fieldError('quota', 'A refill needs an amount and an interval.'));
    const next = remaining === null ? null : { remaining, refill };
    if (!same(next, k.quota)) b.quota = next;
  }
  return { body: b, errors };
}

function body(me, k) {
  const approve = P.canApprove(me, k);
  const reject = P.canReject(me, k);
  return html`<div class="key-head card">${avatar(k)}
      <div><p class="key-title">${k.name}</p><p class="mono muted">${k.preview}</p></div>
      <div class="key-head-status">${statusBadge(k.status)}</div></div>
    ${approve || reject ? html`<div class="card approval"><p>${k.status === 'Pending' ? 'This key is waiting for approval.' : 'This key was rejected.'}</p>
      <div class="actions">${approve ? html`<button type="button" class="primary" data-action="approve">Approve</button>` : ''}
      ${reject ? html`<button type="button" class="danger" data-action="reject">Reject</button>` : ''}</div></div>` : ''}
    <section class="card" aria-labelledby="facts-title"><h2 id="facts-title">Details</h2>${facts(k)}</section>
    ${P.canUpdate(me, k) ? editForm(me, k) : ''}
    ${P.canReplace(me, k) ? html`<section class="card danger-zone" aria-labelledby="replace-title">
      <h2 id="replace-title">Replace key</h2>
      <p>This is a permanent action: the key gets a new secret and the current one stops working, at once or
        after the grace period you give. The new key is shown only once, so you will need to save it.</p>
      <form id="replace-form" novalidate><div class="field" data-field="gracePeriodSeconds"><label for="d-grace">Grace period in seconds <span class="hint">(optional, 0–86400: how long the current key keeps working)</span></label>
        <input id="d-grace" name="gracePeriodSeconds" type="number" min="0" max="86400" step="1" inputmode="numeric"></div>
        <button type="submit" class="danger">Replace Key</button></form></section>` : ''}
    ${P.canDelete(me, k) ? html`<section class="card danger-zone" aria-labelledby="delete-title">
      <h2 id="delete-title">Delete key</h2>
      <p>The key is removed and can no longer be used. Any service still using it will stop working, so update those services first.</p>
      <button type="button" class="danger" data-action="delete">Delete</button></section>` : ''}`;
}

async function loadKey(prefix) {
  update((s) => {
    s.detail.loading = true;
  });
  try {
    const key = await api.getKey(prefix);
    update((s) => {
      if (s.detail.prefix === prefix) s.detail.key = key;
      s.detail.loading = false;
    });
  } catch (err) {
    update((s) => {
      s.detail.loading = false;
      s.detail.error = err.text || String(err);
    });
    showError(err);
  }
}

async function loadHistory(more = false) {
  const prefix = state.detail.prefix;
  const h = state.detail.history;
  update((s) => {
    s.detail.history.loading = true;
  });
  try {
    const page = await api.keyAudit(prefix, { limit: 50, cursor: more ? h.nextCursor : undefined });
    update((s) => pageLoaded(s.detail.history, page, more));
  } catch (err) {
    update((s) => {
      stopLoading(s.detail.history);
      s.detail.history.error = true;
    });
    showError(err);
  }
}

function setKey(next) {
  update((s) => {
    s.detail.key = next;
    s.keys.items = s.keys.items.map((k) => (k.prefix === next.prefix ? next : k));
  });
}

async function save(form) {
  const me = state.me;
  const k = state.detail.key;
  const { body: b, errors } = changes(me, k, form);
  if (errors.length) {
    showFieldErrors(form, errors);
    flash('error', 'Some fields are not valid: correct them and try again. Nothing was saved.');
    return;
  }
  clearFieldErrors(form);
  if (!Object.keys(b).length) {
    flash('info', 'Nothing to save: no field was changed.');
    return;
  }
  await busy(form, async () => {
    try {
      setKey(await api.updateKey(k.prefix, b, k.version));
      flash('success', 'The API key has been updated.');
    } catch (err) {
      showError(err, form);
    }
  });
}

async function setStatus(status, done) {
  const k = state.detail.key;
  try {
    setKey(await api.updateKey(k.prefix, { status }, k.version));
    flash('success', done);
  } catch (err) {
    showError(err);
  }
}

/** Replace Key, for the detail page and the profile page. */
export async function replaceFlow(k, form, onReplaced) {
  const me = state.me;
  const graceText = String(new FormData(form).get('gracePeriodSeconds') || '').trim();
  const grace = graceText === '' ? null : Number(graceText);
  if (grace !== null && !(Number.isInteger(grace) && grace >= 0 && grace <= 86400)) {
    showFieldErrors(form, [fieldError('gracePeriodSeconds', 'A whole number of seconds from 0 to 86400.')]);
    return;
  }
  clearFieldErrors(form);
  const ok = await confirmDialog({
    title: 'Replace API Key',
    text: `Replace ${k.name} (${k.preview})? This is a permanent action: ${grace ? `the current key keeps working for ${grace} seconds, then stops` : 'the current key stops working at once'}, and the new key is shown only once.`,
    confirmLabel: 'Replace Key',
    danger: true,
  });
  if (!ok) return;
  let replaced;
  try {
    replaced = await api.replaceKey(k.prefix, grace === null ? {} : { gracePeriodSeconds: grace }, k.version);
  } catch (err) {
    showError(err, form);
    return;
  }
  const { key: token, ...next } = replaced;
  const self = P.isSelf(me, k);
  if (self) rememberKey(token); // this tab goes on with the new key
  onReplaced(next);
  flash('success', `The key ${next.name} has been replaced.${self ? ' You are now signed in with the new key.' : ''} The old key ${grace ? `stops working in ${grace} seconds` : 'no longer works'}.`);
  await showKeyOnce({ title: 'Your new API key', intro: `The new secret of ${next.name}. Update every service that uses this key.`, token });
}

async function remove() {
  const me = state.me;
  const k = state.detail.key;
  const ok = await confirmDialog({
    title: 'Delete API Key',
    text: `Delete ${k.name} (${k.preview})? The key is removed and can no longer be used. Any service still using it will stop working.`,
    confirmLabel: 'Delete',
    danger: true,
  });
  if (!ok) return;
  try {
    await api.deleteKey(k.prefix, k.version);
  } catch (err) {
    showError(err);
    return;
  }
  update((s) => {
    s.keys.items = s.keys.items.filter((i) => i.prefix !== k.prefix);
  });
  if (P.isSelf(me, k)) {
    signOut({ kind: 'info', text: `Your key ${k.name} was deleted, so you are signed out.` });
    return;
  }
  navigate('#/keys', { kind: 'success', text: `The API key ${k.name} has been deleted.` });
}

function renderHistory(s) {
  const h = s.detail.history;
  const tbody = root.querySelector('#history-rows');
  if (!tbody) return;
  if (tbody.dataset.count !== String(h.items.length)) {
    tbody.innerHTML = auditRows(h.items, false);
    tbody.dataset.count = String(h.items.length);
  }
  root.querySelector('#history-empty').hidden = !(h.loaded && !h.loading && !h.items.length && !h.error);
  root.querySelector('#history-more').hidden = !h.nextCursor;
  root.querySelector('#history-status').textContent = h.loading ? 'Loading…' : '';
}

export default {
  title: () => 'API key details',
  mount(el, s) {
    root = el;
    shown = null;
    const { prefix, tab } = s.route.params;
    if (s.detail.prefix !== prefix) s.detail.key = null;
    s.detail.prefix = prefix;
    s.detail.error = null;
    s.detail.history = { items: [], nextCursor: null, loading: false, loaded: false };
    const href = `#/keys/${encodeURIComponent(prefix)}`;
    el.innerHTML = String(html`<section class="page detail-page">
      <p class="breadcrumb"><a href="#/keys">← Keys</a></p>
      <h1>API key details</h1>
      <nav class="tabs" aria-label="Key sections">
        <a href="${href}"${tab === 'details' ? raw(' aria-current="page"') : ''}>Details</a>
        <a href="${href}/history"${tab === 'history' ? raw(' aria-current="page"') : ''}>History</a>
      </nav>
      ${tab === 'history'
        ? html`<section aria-labelledby="history-title"><h2 id="history-title">History</h2>
            <p class="subtitle" id="history-key"></p><p id="history-status" aria-live="polite"></p>
            ${auditTable('history-rows', false, 'History of this key, newest first')}
            <p id="history-empty" class="empty" hidden>No activity recorded for this key yet.</p>
            <div class="more"><button type="button" id="history-more" data-action="history-more" hidden>Load more</button></div></section>`
        : html`<div id="detail-body" aria-live="polite"><p>Loading…</p></div>`}
    </section>`);
    el.addEventListener('click', (event) => {
      const b = event.target.closest('[data-action]');
      if (!b) return;
      const a = b.dataset.action;
      if (a === 'approve') setStatus('Active', `The API key ${state.detail.key.name} has been approved.`);
      else if (a === 'reject') setStatus('Rejected', `The API key ${state.detail.key.name} has been rejected.`);
      else if (a === 'delete') remove();
      else if (a === 'history-more') loadHistory(true);
    });
    el.addEventListener('submit', (event) => {
      event.preventDefault();
      if (event.target.id === 'edit-form') save(event.target);
      else if (event.target.id === 'replace-form') replaceFlow(state.detail.key, event.target, setKey);
    });
    loadKey(prefix);
    if (tab === 'history') loadHistory();
  },
  unmount() {
    root = null;
  },
  update(s) {
    if (!root) return;
    const k = s.detail.key;
    if (s.route.params.tab === 'history') {
      const sub = root.querySelector('#history-key');
      if (k && sub) sub.textContent = `${k.name} (${k.preview})`;
      renderHistory(s);
      return;
    }
    const box = root.querySelector('#detail-body');
    if (!k) {
      if (s.detail.error && shown !== 'error') {
        shown = 'error';
        box.innerHTML = String(html`<p>This key could not be loaded. <a href="#/keys">Back to the keys</a></p>`);
      }
      return;
    }
    const mark = JSON.stringify(k);
    if (shown === mark) return;
    shown = mark;
    box.innerHTML = String(body(s.me, k));
  },
};
