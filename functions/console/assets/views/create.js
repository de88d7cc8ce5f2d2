// "New API Key": the create dialog, then the new key shown once.

import { api } from '../api.js';
import { html, raw, splitList, fromLocalInput } from '../dom.js';
import { openDialog, showKeyOnce } from '../dialogs.js';
import { showFieldErrors, clearFieldErrors, fieldError } from '../forms.js';
import { flash, busy } from '../ui.js';
import * as P from '../perms.js';

function form(me, project) {
  const admin = P.isAdmin(me);
  const projects = P.memberProjects(me);
  const chosen = projects.includes(project) ? project : projects[0] || '';
  const ownRoles = me.roles || [];
  const pendingNote = !admin && projects.some((p) => P.createsPending(me, p))
    ? html`<p class="hint" id="c-pending-note">A key you create in a project you do not administer is <strong>Pending</strong> until a project admin approves it.</p>`
    : '';
  return html`<form class="dialog-body create-form" novalidate>
    <div class="field" data-field="name"><label for="c-name">Name <span class="req">(required)</span></label>
      <input id="c-name" name="name" required maxlength="100" autocomplete="off" autofocus></div>
    <div class="field" data-field="description"><label for="c-description">Description</label>
      <textarea id="c-description" name="description" maxlength="500" rows="2"></textarea></div>
    ${admin
      ? html`<fieldset class="field" data-field="keyType"><legend>Key type</legend>
          <label class="inline"><input type="radio" name="keyType" value="system" checked> Project key</label>
          <label class="inline"><input type="radio" name="keyType" value="user"> Team key (for one user)</label></fieldset>
        <div class="field" data-field="projectId" data-for="system"><label for="c-project">Project</label>
          <input id="c-project" name="projectId" value="${project}" autocomplete="off" list="c-projects">
          <datalist id="c-projects">${projects.map((p) => html`<option value="${p}"></option>`)}</datalist></div>
        <div class="field" data-field="userId" data-for="user" hidden><label for="c-user">User</label>
          <input id="c-user" name="userId" value="${me.user ? me.user.id : ''}" autocomplete="off"></div>`
      : html`<div class="field" data-field="projectId"><label for="c-project">Project</label>
          <select id="c-project" name="projectId">${projects.map((p) => html`<option value="${p}"${p === chosen ? raw(' selected') : ''}>${p}${P.createsPending(me, p) ? ' (needs approval)' : ''}</option>`)}</select></div>`}
    ${admin
      ? html`<div class="field" data-field="roles"><label for="c-roles">Roles</label>
          <input id="c-roles" name="roles" autocomplete="off" aria-describedby="c-roles-hint" placeholder="project-admin:billing, reader">
          <p class="hint" id="c-roles-hint">Comma-separated, e.g. project-member:billing.</p></div>`
      : ownRoles.length
        ? html`<fieldset class="field" data-field="roles"><legend>Roles <span class="hint">(only roles your key holds)</span></legend>
            ${ownRoles.map((r) => html`<label class="inline"><input type="checkbox" name="roles" value="${r}"> ${r}</label>`)}</fieldset>`
        : ''}
    <div class="field" data-field="labels"><label for="c-labels">Labels</label>
      <input id="c-labels" name="labels" autocomplete="off" aria-describedby="c-labels-hint" placeholder="prod, billing">
      <p class="hint" id="c-labels-hint">Comma-separated.</p></div>
    <div class="field" data-field="webhookUrl"><label for="c-webhook">Webhook URL</label>
      <input id="c-webhook" name="webhookUrl" type="url" inputmode="url" placeholder="https://…" autocomplete="off"></div>
    <div class="field" data-field="expiresAt"><label for="c-expires">Expires on <span class="hint">(optional)</span></label>
      <input id="c-expires" name="expiresAt" type="datetime-local"></div>
    ${admin ? html`<div class="field" data-field="isHighPriority"><label class="inline"><input type="checkbox" name="isHighPriority" id="c-priority"> High priority</label></div>` : ''}
    ${pendingNote}
    <div class="actions"><button type="button" data-close>Cancel</button><button type="submit" class="primary">Create</button></div>
  </form>`;
}

function body(me, data) {
  const admin = P.isAdmin(me);
  const b = { name: String(data.get('name') || '').trim() };
  const description = String(data.get('description') || '').trim();
  if (description) b.description = description;
  const type = admin ? data.get('keyType') : 'system';
  if (type === 'user') {
    b.keyType = 'user';
    const user = String(data.get('userId') || '').trim();
    if (user) b.userId = user;
  } else {
    b.keyType = 'system';
    b.projectId = String(data.get('projectId') || '').trim();
  }
  const roles = admin ? splitList(data.get('roles')) : data.getAll('roles').map(String);
  if (roles.length) b.roles = roles;
  const labels = splitList(data.get('labels'));
  if (labels.length) b.labels = labels;
  const webhook = String(data.get('webhookUrl') || '').trim();
  if (webhook) b.webhookUrl = webhook;
  const expires = fromLocalInput(data.get('expiresAt'));
  if (expires) b.expiresAt = expires;
  if (admin && data.get('isHighPriority')) b.isHighPriority = true;
  return b;
}

function check(b) {
  const errors = [];
  if (!b.name) errors.push(fieldError('name', 'Enter a name.'));
  else if (b.name.length > 100) errors.push(fieldError('name', 'At most 100 characters.'));
  if (b.keyType === 'system' && !b.projectId) errors.push(fieldError('projectId', 'Choose the project.'));
  if (b.webhookUrl && !/^https:\/\/[^\s]+$/i.test(b.webhookUrl)) errors.push(fieldError('webhookUrl', 'Must be an https:// URL.'));
  return errors;
}

/** Opens "New API Key"; resolves to the created key (without its token) or null. */
export async function openCreate(me, { project = '' } = {}) {
  const created = await openDialog({
    title: 'New API Key',
    body: form(me, project),
    setup(dialog, close) {
      const f = dialog.querySelector('form');
      f.addEventListener('change', (event) => {
        if (event.target.name !== 'keyType') return;
        for (const el of f.querySelectorAll('[data-for]')) el.hidden = el.dataset.for !== event.target.value;
      });
      f.addEventListener('submit', async (event) => {
        event.preventDefault();
        const b = body(me, new FormData(f));
        const errors = check(b);
        if (errors.length) {
          showFieldErrors(f, errors);
          return;
        }
        clearFieldErrors(f);
        await busy(f, async () => {
          try {
            close(await api.createKey(b));
          } catch (err) {
            const unmatched = err.fields && err.fields.length ? showFieldErrors(f, err.fields) : [];
            let box = f.querySelector('.form-error');
            if (!box) {
              box = document.createElement('div');
              box.className = 'form-error';
              box.setAttribute('role', 'alert');
              f.querySelector('.actions').before(box);
            }
            box.innerHTML = String(html`<p>${err.text || String(err)}</p>${unmatched.length ? html`<ul>${unmatched.map((e) => html`<li>${e.field}: ${e.message}</li>`)}</ul>` : ''}`);
          }
        });
      });
    },
  });
  if (!created) return null;
  const { key: token, ...key } = created;
  const pending = key.status === 'Pending';
  flash(
    'success',
    pending
      ? `The API key ${key.name} has been created. It is Pending until a project admin approves it.`
      : `The API key ${key.name} has been created.`,
  );
  await showKeyOnce({
    title: 'Your new API key',
    intro: `The key of ${key.name} (${key.keyType === 'user' ? 'team key' : `project ${key.project ? key.project.id : ''}`}, ${key.status}). After this only a short preview, ${key.preview}, is ever shown.`,
    token,
  });
  return key;
}
