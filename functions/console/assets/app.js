// The console's entry point: hash routing (#/keys, #/keys/<prefix>, … — prefixes only, never a
// key), the header (who is signed in, what they may do, navigation, Sign out), the message at
// the top of the page, and the current view, all rendered from state.js.

import { state, subscribe, update, sessionKey, forgetKey } from './state.js';
import { api, whenRefused } from './api.js';
import { html, $, keyTypeLabel } from './dom.js';
import { abilities, canSeeApprovals, canSeeActivity, isTeamKey } from './perms.js';
import { navigate, takePendingFlash, signOut } from './ui.js';
import signin from './views/signin.js';
import keys from './views/keys.js';
import detail from './views/detail.js';
import approvals from './views/approvals.js';
import activity from './views/activity.js';
import profile from './views/profile.js';

const VIEWS = { signin, keys, detail, approvals, activity, profile };
const REFUSED = 'Your session has ended: the key was refused (it is unknown, disabled, expired or replaced). Sign in again with a valid key.';

let current = null;

function parse(hash) {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'keys' && parts[1]) return { name: 'detail', params: { prefix: parts[1], tab: parts[2] === 'history' ? 'history' : 'details' } };
  if (parts[0] && VIEWS[parts[0]] && parts[0] !== 'detail') return { name: parts[0], params: {} };
  return { name: state.me ? 'keys' : 'signin', params: {} };
}

let headerShown = null;

function renderHeader() {
  const me = state.me;
  const nav = $('#nav');
  const who = $('#who');
  const sig = JSON.stringify([me, state.route.name]);
  if (sig === headerShown) return; // keeps focus and the open details while nothing changed
  headerShown = sig;
  if (!me) {
    nav.innerHTML = '';
    who.innerHTML = '';
    return;
  }
  const link = (name, href, label) =>
    html`<li><a href="${href}"${state.route.name === name || (name === 'keys' && state.route.name === 'detail') ? html` aria-current="page"` : ''}>${label}</a></li>`;
  nav.innerHTML = String(html`<ul>
    ${link('keys', '#/keys', 'Keys')}
    ${canSeeApprovals(me) ? link('approvals', '#/approvals', 'Approvals') : ''}
    ${canSeeActivity(me) ? link('activity', '#/activity', 'Activity') : ''}
    ${isTeamKey(me) ? link('profile', '#/profile', 'Profile & API Keys') : ''}
  </ul>`);
  const open = who.querySelector('details')?.open ? ' open' : '';
  who.innerHTML = String(html`<details class="whoami"${open ? html` open` : ''}>
      <summary>Signed in as <strong>${me.name}</strong> <span class="mono">${me.prefix}</span></summary>
      <div class="whoami-body">
        <dl class="facts">
          <dt>Name</dt><dd>${me.name}</dd>
          <dt>Prefix</dt><dd class="mono">${me.prefix}</dd>
          <dt>Key</dt><dd>${keyTypeLabel(me.keyType)} <span class="mono">${me.preview || ''}</span></dd>
          <dt>Team</dt><dd>${me.account ? me.account.id : ''}</dd>
          ${me.user ? html`<dt>User</dt><dd>${me.user.id}</dd>` : ''}
          ${me.project ? html`<dt>Project</dt><dd>${me.project.id}</dd>` : ''}
          <dt>Roles</dt><dd>${me.roles && me.roles.length ? me.roles.join(', ') : 'none'}</dd>
          ${me.expiresAt ? html`<dt>Expires</dt><dd>${me.expiresAt}</dd>` : ''}
        </dl>
        <h2 class="small">What you may do</h2>
        <ul class="abilities">${abilities(me).map((a) => html`<li>${a}</li>`)}</ul>
      </div>
    </details>
    <button type="button" class="link-button" id="sign-out">Sign out</button>`);
}

let flashShown = null;

function renderFlash() {
  const box = $('#messages');
  const f = state.flash;
  if (f === flashShown) return;
  flashShown = f;
  if (!f) {
    box.innerHTML = '';
    return;
  }
  const role = f.kind === 'error' ? 'alert' : 'status';
  box.innerHTML = String(html`<div class="msg msg-${f.kind}" role="${role}">
    <p>${f.text}</p>
    ${f.items && f.items.length ? html`<ul>${f.items.map((i) => html`<li>${i}</li>`)}</ul>` : ''}
    <button type="button" class="icon-button" data-dismiss aria-label="Dismiss message">×</button>
  </div>`);
}

function render() {
  renderHeader();
  renderFlash();
  current?.update?.(state);
}

function route() {
  const wanted = parse(location.hash);
  const message = takePendingFlash();
  if (!state.me && wanted.name !== 'signin') {
    sessionStorage.setItem('api-keys-console.after', location.hash.startsWith('#/') ? location.hash : '');
    if (location.hash !== '#/signin') {
      navigate('#/signin', message);
      return;
    }
  }
  if (state.me && wanted.name === 'signin') {
    navigate('#/keys', message);
    return;
  }
  current?.unmount?.();
  const view = VIEWS[wanted.name];
  current = view;
  // A fresh element per page: no listener of the last view survives.
  const root = document.createElement('div');
  root.id = 'view';
  $('#view').replaceWith(root);
  state.route = wanted;
  state.flash = message;
  document.title = `${view.title(state)} · API keys console`;
  view.mount(root, state);
  render();
  const h1 = root.querySelector('h1');
  if (h1 && !message && !root.contains(document.activeElement)) {
    h1.setAttribute('tabindex', '-1');
    h1.focus({ preventScroll: true });
  }
}

async function boot() {
  subscribe(render);
  whenRefused(() => {
    if (!state.me && !sessionKey()) return;
    signOut({ kind: 'error', text: REFUSED });
  });
  document.addEventListener('click', (event) => {
    const t = event.target.closest('#sign-out, [data-dismiss]');
    if (!t) return;
    if (t.id === 'sign-out') signOut({ kind: 'info', text: 'You are signed out. The key was forgotten by this tab.' });
    else update({ flash: null });
  });
  window.addEventListener('hashchange', () => {
    if (location.hash.startsWith('#/') || location.hash === '') route();
  });
  const key = sessionKey();
  if (key) {
    try {
      state.me = await api.me();
    } catch (err) {
      state.me = null;
      if (err.kind !== 'refused') {
        forgetKey();
        navigate('#/signin', { kind: 'error', text: err.text });
        return;
      }
      return; // whenRefused has sent us to sign-in
    }
  }
  route();
}

boot();
