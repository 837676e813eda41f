// app.js: the knowledge-base editor, one page with hash routes:
//
//   #/                         articles (?q=&status=&category=)
//   #/new                      a new article (?from=<unanswered group>&question=)
//   #/article/{id}             the article editor
//   #/article/{id}/history     versions and diffs (?v=<version>)
//   #/test                     the test console (?q=&against=)
//   #/unanswered               the unanswered queue
//   #/transfer                 import and export
//
// It asks /api/v1/me who is signed in: editors and admins get the editor,
// anyone else a "no permission" message.

import { notify } from '/panel/assets/api.js';
import { clear, el, setActiveNav, shell, signedIn } from '/panel/assets/dom.js';
import { guardLeave, hasUnsaved, mayLeave } from './leave.js';
import { listView } from './list.js';
import { editorView } from './article.js';
import { historyView } from './history.js';
import { consoleView } from './console.js';
import { unansweredView } from './unanswered.js';
import { transferView } from './transfer.js';

const NAV = [
  { href: '#/', id: 'nav-articles', label: '文章 Articles' },
  { href: '#/test', id: 'nav-test', label: '测试台 Test console' },
  { href: '#/unanswered', id: 'nav-unanswered', label: '未答问题 Unanswered' },
  { href: '#/transfer', id: 'nav-transfer', label: '导入导出 Import/Export' },
];

const EDITOR_ROLES = ['editor', 'admin'];

// routes map a path pattern to its nav entry and view.
const routes = [
  [/^\/$/, 'nav-articles', (view, m, q) => listView(view, q)],
  [/^\/new$/, 'nav-articles', (view, m, q) => editorView(view, null, q)],
  [/^\/article\/([^/]+)$/, 'nav-articles', (view, m, q) => editorView(view, decodeURIComponent(m[1]), q)],
  [/^\/article\/([^/]+)\/history$/, 'nav-articles', (view, m, q) => historyView(view, decodeURIComponent(m[1]), q)],
  [/^\/test$/, 'nav-test', (view, m, q) => consoleView(view, q)],
  [/^\/unanswered$/, 'nav-unanswered', (view, m, q) => unansweredView(view, q)],
  [/^\/transfer$/, 'nav-transfer', (view, m, q) => transferView(view, q)],
];

/** parseHash splits location.hash into a path and its query. */
function parseHash() {
  const h = location.hash.replace(/^#/, '') || '/';
  const i = h.indexOf('?');
  return i < 0 ? [h, new URLSearchParams()] : [h.slice(0, i), new URLSearchParams(h.slice(i + 1))];
}

/** route renders the screen the hash names into main, in a fresh view element. */
function route(main) {
  const [path, query] = parseHash();
  guardLeave(() => false);
  // A message about the screen left behind (an error, say) does not
  // belong to the next one.
  if (document.getElementById('notice')?.dataset.kind === 'error') notify('');
  const loading = el('p', { class: 'muted' }, '加载中… (loading)');
  const view = el('div', { class: 'view' }, loading);
  clear(main, view);
  // A new screen starts at its top: kept from a long page before, the
  // scroll would leave its toolbar under the sticky header.
  window.scrollTo(0, 0);
  for (const [re, nav, render] of routes) {
    const m = path.match(re);
    if (!m) continue;
    setActiveNav(nav);
    view.dataset.route = nav;
    // A view that fails has shown its message (api does); leave what it
    // drew, or, if it drew nothing, say so where it would have been.
    render(view, m, query).catch((e) => {
      console.error(e);
      if (!loading.isConnected) return;
      clear(view, el('section', { class: 'card', id: 'view-error' },
        el('h2', {}, e.status === 404 ? '找不到 (not found)' : '无法加载 (could not load)'),
        el('p', {}, e.message || String(e)),
        el('p', {}, el('a', { href: '#/' }, '返回文章列表 (back to the articles)'))));
    });
    return;
  }
  setActiveNav('');
  clear(view, el('section', { class: 'card' },
    el('h2', {}, '找不到这个页面 (not found)'),
    el('p', {}, el('a', { href: '#/' }, '返回文章列表 (back to the articles)'))));
}

async function boot() {
  const account = await signedIn(EDITOR_ROLES, '知识库 Knowledge base', '编辑知识库 (edit the knowledge base)');
  if (!account) return;
  const main = shell({ title: '知识库 Knowledge base', nav: NAV, account });
  // Leaving a screen with unsaved edits asks first; "stay" puts the
  // address back in place (no new history entry, no hashchange) without
  // drawing the screen again.
  // Signing out is leaving too: ask before the session ends.
  document.addEventListener('click', (ev) => {
    if (!ev.target.closest?.('#logout')) return;
    if (mayLeave()) guardLeave(() => false); // asked once: not again as the page unloads
    else ev.stopPropagation();
  }, { capture: true });
  window.addEventListener('hashchange', (ev) => {
    if (!mayLeave()) {
      history.replaceState(history.state, '', ev.oldURL);
      return;
    }
    route(main);
  });
  window.addEventListener('beforeunload', (ev) => {
    if (hasUnsaved()) ev.preventDefault();
  });
  route(main);
}

boot();
