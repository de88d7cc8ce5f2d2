// The console's one state module: what is shown is rendered from `state`, and `update` is the
// only way it changes. The signed-in key itself is kept apart, in this tab's sessionStorage
// only (never local storage, a cookie, a URL or a log): `sessionKey` / `rememberKey` / `forgetKey`.

const SLOT = 'api-keys-console.key';

export const state = {
  /** GET /me of the signed-in key, or null. */
  me: null,
  /** { name, params } of the hash route. */
  route: { name: 'signin', params: {} },
  /** The message at the top of the page: { kind: 'success'|'error'|'info', text, items? }. */
  flash: null,
  /** Keys page. */
  keys: { filters: { projectId: '', keyType: '', status: '', search: '' }, items: [], nextCursor: null, loading: false, loaded: false, query: 0 },
  /** Detail page. */
  detail: { prefix: null, key: null, loading: false, history: { items: [], nextCursor: null, loading: false, loaded: false } },
  approvals: { items: [], loading: false, loaded: false, cursors: {} },
  activity: { filters: { projectId: '', actor: '', action: '', since: '', until: '' }, items: [], nextCursor: null, loading: false, loaded: false },
  profile: { key: null, loading: false },
};

const listeners = new Set();

export function subscribe(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Applies `change(state)` (or merges an object) and re-renders. */
export function update(change) {
  if (typeof change === 'function') change(state);
  else Object.assign(state, change);
  for (const fn of listeners) fn(state);
}

/** Marks a paged list (`keys`, `activity`) as loading; a new query (not "load more") empties it. */
export function startLoading(list, more) {
  list.loading = true;
  if (!more) {
    list.items = [];
    list.nextCursor = null;
    list.loaded = false;
  }
}

/** Adds a page of a paged list's answer (or, for a new query, replaces the list with it). */
export function pageLoaded(list, page, more) {
  list.items = more ? list.items.concat(page.items) : page.items;
  list.nextCursor = page.nextCursor || null;
  stopLoading(list);
}

/** Ends a paged list's loading, with or without a page. */
export function stopLoading(list) {
  list.loading = false;
  list.loaded = true;
}

export function sessionKey() {
  try {
    return sessionStorage.getItem(SLOT);
  } catch {
    return null;
  }
}

export function rememberKey(key) {
  sessionStorage.setItem(SLOT, key);
}

export function forgetKey() {
  try {
    sessionStorage.removeItem(SLOT);
  } catch {
    /* storage disabled: nothing was kept */
  }
}

/** Forgets everything the signed-in key loaded. */
export function resetData() {
  state.me = null;
  state.keys = { filters: { projectId: '', keyType: '', status: '', search: '' }, items: [], nextCursor: null, loading: false, loaded: false, query: 0 };
  state.detail = { prefix: null, key: null, loading: false, history: { items: [], nextCursor: null, loading: false, loaded: false } };
  state.approvals = { items: [], loading: false, loaded: false, cursors: {} };
  state.activity = { filters: { projectId: '', actor: '', action: '', since: '', until: '' }, items: [], nextCursor: null, loading: false, loaded: false };
  state.profile = { key: null, loading: false };
}
