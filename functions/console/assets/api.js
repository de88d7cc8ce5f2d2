// Every HTTP call of the console goes through `call`: the signed-in key as a Bearer token, JSON
// in and out, and every failure turned into an ApiError with a message a person can act on and
// the per-field errors of an RFC 9457 problem ({type, title, status, detail, requestId, errors}).

import { sessionKey } from './state.js';

export class ApiError extends Error {
  /**
   * kind: refused (the key itself was refused: sign in again) | forbidden | invalid | notFound |
   * conflict | stale | tooLarge | unavailable | server | network | unexpected
   */
  constructor({ kind, status = 0, title = '', detail = '', fields = [], requestId = '', retryAfter = null }) {
    super(detail || title || kind);
    this.kind = kind;
    this.status = status;
    this.title = title;
    this.detail = detail;
    /** [{ field, message }] from the problem's `errors`. */
    this.fields = fields;
    this.requestId = requestId;
    this.retryAfter = retryAfter;
  }

  /** What to tell a person. */
  get text() {
    const id = this.requestId ? ` (request id ${this.requestId})` : '';
    switch (this.kind) {
      case 'refused':
        return 'The key was refused: it is unknown, disabled, expired or replaced. Sign in with a valid key.';
      case 'forbidden':
        return `Not allowed: ${this.detail || 'your key may not do this.'}`;
      case 'invalid':
        return this.fields.length
          ? 'Some fields are not valid: correct them and try again. Nothing was saved.'
          : `The request was not accepted: ${this.detail || this.title}`;
      case 'notFound':
        return 'Not found: this key does not exist in your team, or it was deleted.';
      case 'conflict':
        return `Conflict: ${this.detail || 'the change clashes with the key as it is now.'}`;
      case 'stale':
        return 'Someone changed this key since you opened it, so nothing was saved. Reload it and make your change again.';
      case 'tooLarge':
        return 'The request is too large. Nothing was saved.';
      case 'unavailable': {
        const wait = this.retryAfter ? ` Try again in ${this.retryAfter} seconds.` : ' Try again in a moment.';
        return `The key store is unavailable right now, so nothing was changed.${wait}${id}`;
      }
      case 'server':
        return `The service failed to answer (HTTP ${this.status}). Nothing may have been changed: reload and try again.${id}`;
      case 'network':
        return 'The service could not be reached. Check your connection and try again.';
      default:
        return `Unexpected answer (HTTP ${this.status}): ${this.detail || this.title || 'no detail'}${id}`;
    }
  }
}

let onRefused = () => {};
/** What to do when a later call shows the session's key is no longer accepted. */
export function whenRefused(fn) {
  onRefused = fn;
}

function query(params) {
  if (!params) return '';
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

async function send(method, path, { params, body, version, key }) {
  const headers = { Accept: 'application/json, application/problem+json', Authorization: `Bearer ${key}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (version !== undefined && version !== null) headers['If-Match'] = `"${version}"`;
  let res;
  try {
    res = await fetch(path + query(params), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
    });
  } catch {
    throw new ApiError({ kind: 'network' });
  }
  const type = res.headers.get('content-type') || '';
  let data = null;
  try {
    const text = await res.text();
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (res.ok) return { res, data };
  throw toError(res, data, type);
}

function toError(res, data, type) {
  const status = res.status;
  const problem = type.includes('application/problem+json') || Boolean(data && typeof data === 'object' && 'title' in data && 'status' in data);
  const p = problem && data ? data : {};
  const base = {
    status,
    title: p.title || '',
    detail: p.detail || (data && typeof data.message === 'string' ? data.message : ''),
    requestId: p.requestId || res.headers.get('x-request-id') || '',
    fields: Array.isArray(p.errors) ? p.errors.filter((e) => e && typeof e.field === 'string') : [],
  };
  let kind = 'unexpected';
  if (status === 401) kind = 'refused';
  // API Gateway's own refusal ({"message":"Forbidden"}) is about the key, not the action.
  else if (status === 403) kind = problem ? 'forbidden' : 'refused';
  else if (status === 400 || status === 422) kind = 'invalid';
  else if (status === 404) kind = 'notFound';
  else if (status === 409) kind = 'conflict';
  else if (status === 412) kind = 'stale';
  else if (status === 413) kind = 'tooLarge';
  else if (status === 503) kind = 'unavailable';
  else if (status >= 500) kind = 'server';
  const retry = Number.parseInt(res.headers.get('retry-after') || '', 10);
  return new ApiError({ ...base, kind, retryAfter: Number.isFinite(retry) ? retry : null });
}

/**
 * method path { params, body, version (If-Match), key (sign-in only) } → the JSON answer
 * (null for 204). Throws ApiError. A refused key ends the session through `whenRefused`.
 */
export async function call(method, path, options = {}) {
  const key = options.key ?? sessionKey();
  if (!key) {
    const err = new ApiError({ kind: 'refused', status: 401 });
    if (!options.key) onRefused(err);
    throw err;
  }
  try {
    return (await send(method, path, { ...options, key })).data;
  } catch (err) {
    if (!(err instanceof ApiError) || options.key) throw err;
    if (err.kind === 'forbidden' && path !== '/me') {
      // Not allowed, or no longer signed in? Ask who the key is.
      try {
        await send('GET', '/me', { key });
      } catch (again) {
        if (again instanceof ApiError && (again.status === 401 || again.status === 403)) {
          const ended = new ApiError({ kind: 'refused', status: again.status });
          onRefused(ended);
          throw ended;
        }
      }
    }
    if (err.kind === 'refused') onRefused(err);
    throw err;
  }
}

export const api = {
  me: (key) => call('GET', '/me', key ? { key } : {}),
  listKeys: (params) => call('GET', '/keys', { params }),
  getKey: (prefix) => call('GET', `/keys/${encodeURIComponent(prefix)}`),
  createKey: (body) => call('POST', '/keys', { body }),
  updateKey: (prefix, body, version) => call('PATCH', `/keys/${encodeURIComponent(prefix)}`, { body, version }),
  replaceKey: (prefix, body, version) => call('POST', `/keys/${encodeURIComponent(prefix)}/replace`, { body, version }),
  deleteKey: (prefix, version) => call('DELETE', `/keys/${encodeURIComponent(prefix)}`, { version }),
  keyAudit: (prefix, params) => call('GET', `/keys/${encodeURIComponent(prefix)}/audit`, { params }),
  audit: (params) => call('GET', '/audit', { params }),
};
