// login.js: the sign-in page. Posts the username and password to
// /api/v1/login (which sets the session and CSRF cookies), then goes to
// ?next= when it is a page of this site, else to /panel.

import { api, notify } from './api.js';

const DEFAULT_NEXT = '/panel';

/** nextURL returns ?next= when it is a path of this origin under /panel, else DEFAULT_NEXT. */
function nextURL() {
  const next = new URLSearchParams(location.search).get('next') || '';
  if (!next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return DEFAULT_NEXT;
  let u;
  try {
    u = new URL(next, location.origin);
  } catch {
    return DEFAULT_NEXT;
  }
  if (u.origin !== location.origin || !u.pathname.startsWith('/panel') || u.pathname === '/panel/login') return DEFAULT_NEXT;
  return u.pathname + u.search + u.hash;
}

// SIGN_IN_ERRORS say why a sign-in failed, by the API's error code.
const SIGN_IN_ERRORS = {
  invalid_credentials: '用户名或密码错误 (wrong username or password)',
  account_disabled: '该账号已停用，请联系管理员 (this account is disabled: ask an admin)',
};

async function signIn(ev) {
  ev.preventDefault();
  const form = ev.target;
  const button = document.getElementById('login-submit');
  button.disabled = true;
  notify('正在登录… (signing in)');
  try {
    await api('POST', '/login', {
      username: form.username.value.trim(),
      password: form.password.value,
    }, { noRedirect: true, quiet: true });
    location.assign(nextURL());
  } catch (e) {
    // The API's own words where the page has none of its own (too many
    // attempts says when to come back).
    notify(SIGN_IN_ERRORS[e.code] || e.message, 'error');
    form.password.select();
  } finally {
    button.disabled = false;
  }
}

document.getElementById('login-form').addEventListener('submit', signIn);
