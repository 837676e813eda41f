// dom.js: builds the DOM of kefu's pages. Every piece of text goes in as
// a text node or an attribute value, never as HTML, so user and editor
// text can never become markup or script.

import { logout, me } from './api.js';

// Properties set as DOM properties rather than attributes.
const PROPS = new Set(['value', 'checked', 'disabled', 'selected', 'readOnly', 'required', 'multiple', 'hidden']);

/**
 * el creates <tag> with props and children. props: class, dataset (an
 * object), on<event> (a function, e.g. onclick), the PROPS above, and any
 * other attribute (null/undefined/false leave it out). children: nodes,
 * strings and numbers (as text), arrays of them; null and false are
 * skipped.
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k.startsWith('on')) {
      // Handlers only as functions: never an attribute of script text.
      if (typeof v === 'function') node.addEventListener(k.slice(2), v);
    } else if (PROPS.has(k)) node[k] = v;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(node, c);
    else if (c instanceof Node) node.append(c);
    else node.append(document.createTextNode(String(c)));
  }
}

/** clear empties node and appends children (as el does). */
export function clear(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

/** fmtTime formats an RFC 3339 time for people (zh-CN, 24 h), '—' for none or the zero time. */
export function fmtTime(s) {
  if (!s || s.startsWith('0001-')) return '—';
  const d = new Date(s);
  if (isNaN(d)) return s;
  return d.toLocaleString('zh-CN', { hour12: false });
}

/** fmtScore formats a match score 0…1 with three decimals. */
export function fmtScore(x) {
  return typeof x === 'number' ? x.toFixed(3) : '—';
}

/**
 * shell builds the page frame in document.body: the top bar with the
 * product name, title, nav links [{href, label, id}] and the account with
 * a sign-out button, the notice bar, and a <main id="main"> it returns.
 */
export function shell({ title, nav = [], account = null }) {
  const user = account
    ? el('span', { class: 'account' },
        el('span', { class: 'account-name', id: 'account-name' }, account.name || account.username),
        el('span', { class: 'muted' }, ' · ' + roleLabel(account.role)),
        el('button', { type: 'button', class: 'btn btn-link', id: 'logout', onclick: () => logout() }, '退出登录'))
    : null;
  const links = nav.map((n) => el('a', { href: n.href, id: n.id, class: 'nav-link', dataset: { nav: n.id || '' } }, n.label));
  const main = el('main', { id: 'main', class: 'main' });
  document.body.replaceChildren(
    el('header', { class: 'topbar' },
      el('span', { class: 'brand' }, 'kefu 客服'),
      el('span', { class: 'app-title' }, title),
      el('nav', { class: 'nav' }, links),
      user),
    el('div', { id: 'notice', class: 'notice hidden', role: 'status', 'aria-live': 'polite' }),
    main);
  return main;
}

/** setActiveNav marks the nav link whose id is id as the current one. */
export function setActiveNav(id) {
  for (const a of document.querySelectorAll('.nav-link')) {
    a.classList.toggle('active', a.dataset.nav === id);
  }
}

const ROLES = { admin: '管理员 admin', editor: '编辑 editor', agent: '客服 agent' };

/** roleLabel names a role for people. */
export function roleLabel(role) {
  return ROLES[role] || role;
}

/** denied replaces main's content with a "no permission" message for account. */
export function denied(main, account, what) {
  clear(main, el('section', { class: 'card denied', id: 'denied' },
    el('h2', {}, '没有权限 (no permission)'),
    el('p', {}, '当前账号 ', el('strong', {}, account.username), '（', roleLabel(account.role), '）无权', what, '。'),
    el('p', { class: 'muted' }, '请联系管理员为你的账号分配相应角色，或换一个账号登录。(Ask an admin for the right role, or sign in with another account.)'),
    el('p', {}, el('button', { type: 'button', class: 'btn', onclick: () => logout() }, '换个账号登录 (sign in as someone else)'))));
}

/**
 * signedIn resolves to the signed-in account when its role is one of roles
 * and it is enabled; otherwise it shows "no permission" (what the page is
 * for) under title and resolves to null. A stranger is sent to sign in.
 */
export async function signedIn(roles, title, what) {
  let account;
  try {
    account = await me();
  } catch {
    return null; // 401 went to the sign-in page; other errors are shown
  }
  if (!roles.includes(account.role) || account.disabled) {
    denied(shell({ title, account }), account, what);
    return null;
  }
  return account;
}

/** field wraps a form control with its label and an optional hint. */
export function field(label, control, hint) {
  return el('label', { class: 'field' },
    el('span', { class: 'field-label' }, label),
    control,
    hint ? el('span', { class: 'hint' }, hint) : null);
}
