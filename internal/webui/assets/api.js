// api.js: the pages' one way to kefu's JSON API under /api/v1.
//
// api() sends the session cookie, adds the X-CSRF-Token header (the
// kefu_csrf cookie) on every write, parses the API's error shape
// {"error":{"code","message"}} into an ApiError and shows its message.
// When the session is gone (401) a read sends the browser to the sign-in
// page; a write stays, so that nothing typed is lost, and says why.

export const LOGIN_PATH = '/panel/login';
const API_BASE = '/api/v1';
const CSRF_COOKIE = 'kefu_csrf';

/** ApiError is a failed API call: HTTP status, the API's code and message, and the whole body. */
export class ApiError extends Error {
  constructor(status, code, message, body) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

/** cookie returns the value of the cookie name, or ''. */
export function cookie(name) {
  for (const part of document.cookie.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return decodeURIComponent(part.slice(i + 1).trim());
  }
  return '';
}

/** loginURL is the sign-in page that comes back to where the browser is now. */
export function loginURL() {
  const here = location.pathname + location.search + location.hash;
  return LOGIN_PATH + '?next=' + encodeURIComponent(here);
}

/**
 * api calls method path (relative to /api/v1) and resolves to the parsed
 * JSON answer (null for an empty one). body is sent as JSON, or as it is
 * when opts.contentType is set (a File, a Blob, a string). Options:
 *   quiet       do not show the error message (the caller does)
 *   noRedirect  do not go to the sign-in page on 401
 *   contentType send body as it is, with this Content-Type
 *   withHeaders resolve to {data, headers}: the answer and its headers
 * It rejects with an ApiError.
 */
export async function api(method, path, body, opts = {}) {
  const headers = { Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (method !== 'GET' && method !== 'HEAD') {
    headers['X-CSRF-Token'] = cookie(CSRF_COOKIE);
  }
  if (body !== undefined) {
    if (opts.contentType) {
      headers['Content-Type'] = opts.contentType;
      init.body = body;
    } else {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
  }
  let resp;
  try {
    resp = await fetch(API_BASE + path, init);
  } catch (e) {
    return fail(new ApiError(0, 'network', '网络错误，请检查连接后重试 (network error: ' + e.message + ')', null), opts);
  }
  const text = await resp.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (resp.ok) return opts.withHeaders ? { data, headers: resp.headers } : data;
  const e = (data && typeof data === 'object' && data.error) || {};
  let msg = e.message || '请求失败 (HTTP ' + resp.status + ')';
  if (resp.status === 401 && !opts.noRedirect) {
    if (method === 'GET' || method === 'HEAD') {
      location.assign(loginURL());
    } else {
      // Leaving now would lose what the user is writing: say so instead.
      msg = '登录已过期：请在新标签页打开 ' + LOGIN_PATH + ' 重新登录，再回到这里重试，本页的修改仍在。' +
        '(Your session ended: sign in again in another tab, then retry here; your edits are still on this page.)';
    }
  }
  return fail(new ApiError(resp.status, e.code || 'http_' + resp.status, msg, data), opts);
}

function fail(err, opts) {
  if (!opts.quiet) notify(err.message, 'error');
  throw err;
}

let noticeTimer = 0;

// roomMade is the notice bar the page keeps room for (the page frame draws
// its own, or notify does).
let roomMade = null;

/**
 * makeRoom keeps room below the page for the notice bar, as tall as it is
 * (hidden: none), so that the page's end (a pager, the last buttons) can
 * be scrolled out from under it.
 */
function makeRoom(bar) {
  if (roomMade === bar) return;
  roomMade = bar;
  new ResizeObserver(() => {
    const room = bar.offsetHeight && getComputedStyle(bar).position === 'fixed' ? bar.offsetHeight + 28 : 0;
    document.body.style.setProperty('--notice-room', room + 'px');
  }).observe(bar);
}

/**
 * notify shows msg in the page's notice bar (#notice): kind 'ok' (fades
 * after a while), 'error' or 'info'. An empty msg hides the bar. The bar
 * lets clicks through to the page, except on its close button.
 */
export function notify(msg, kind = 'info') {
  let bar = document.getElementById('notice');
  if (!bar) {
    bar = document.createElement('div');
    bar.id = 'notice';
    bar.setAttribute('role', 'status');
    bar.setAttribute('aria-live', 'polite');
    document.body.append(bar);
  }
  makeRoom(bar);
  clearTimeout(noticeTimer);
  const close = document.createElement('button');
  close.type = 'button';
  close.className = 'notice-close';
  close.title = '关闭 (close)';
  close.textContent = '×';
  close.addEventListener('click', () => notify(''));
  const text = document.createElement('span');
  text.className = 'notice-text';
  text.textContent = msg;
  bar.replaceChildren(text, close);
  bar.className = msg ? 'notice notice-' + kind : 'notice hidden';
  bar.dataset.kind = msg ? kind : '';
  if (msg && kind === 'ok') noticeTimer = setTimeout(() => notify(''), 8000);
}

let meCache = null;

/** me resolves to the signed-in account ({id,username,name,role,…}), asked once per page. */
export function me() {
  if (!meCache) meCache = api('GET', '/me');
  return meCache;
}

/** logout ends the session and goes to the sign-in page. */
export async function logout() {
  try {
    await api('POST', '/logout', undefined, { quiet: true, noRedirect: true });
  } finally {
    location.assign(LOGIN_PATH);
  }
}
