// list.js: the article list, with search and filters by status and
// category, each article's status, versions and whether a draft waits to
// be published.

import { api } from '/panel/assets/api.js';
import { clear, el, fmtTime } from '/panel/assets/dom.js';
import { KIND, STATUS, articleHref, label, pendingBadge, statusBadge } from './labels.js';

/** listView renders the articles that match query (q, status, category). */
export async function listView(view, query) {
  const q = query.get('q') || '';
  const status = query.get('status') || '';
  const category = query.get('category') || '';
  const filtered = q || status || category;
  const params = new URLSearchParams();
  for (const [k, v] of [['q', q], ['status', status], ['category', category]]) if (v) params.set(k, v);

  const [all, list] = await Promise.all([
    api('GET', '/kb/articles'),
    filtered ? api('GET', '/kb/articles?' + params) : null,
  ]);
  const rows = list || all;
  const categories = [...new Set(all.map((a) => a.category).filter(Boolean))].sort();
  if (category && !categories.includes(category)) categories.push(category);

  const search = el('input', { type: 'search', id: 'kb-search', name: 'q', value: q, placeholder: '搜索问题、答案、ID、标签… (search)',
    'aria-label': '搜索 Search' });
  const statusSel = el('select', { id: 'kb-status', name: 'status', 'aria-label': '状态 Status' },
    el('option', { value: '' }, '全部状态 (any status)'),
    Object.entries(STATUS).map(([k, v]) => el('option', { value: k, selected: k === status }, v)),
    el('option', { value: 'pending', selected: status === 'pending' }, '待发布 pending (a newer draft waits)'));
  const categorySel = el('select', { id: 'kb-category', name: 'category', 'aria-label': '分类 Category' },
    el('option', { value: '' }, '全部分类 (any category)'),
    categories.map((c) => el('option', { value: c, selected: c === category }, c)));
  const apply = (ev) => {
    ev?.preventDefault();
    const p = new URLSearchParams();
    if (search.value.trim()) p.set('q', search.value.trim());
    if (statusSel.value) p.set('status', statusSel.value);
    if (categorySel.value) p.set('category', categorySel.value);
    location.hash = '#/' + (p.size ? '?' + p : '');
  };
  statusSel.addEventListener('change', apply);
  categorySel.addEventListener('change', apply);

  const pending = rows.filter((a) => a.pending).length;
  clear(view,
    el('form', { class: 'toolbar', id: 'kb-filter', onsubmit: apply },
      search, statusSel, categorySel,
      el('button', { type: 'submit', class: 'btn' }, '搜索 Search'),
      filtered ? el('a', { href: '#/', class: 'btn btn-link' }, '清除筛选 (clear)') : null,
      el('span', { class: 'spacer' }),
      el('a', { href: '#/new', id: 'kb-new', class: 'btn btn-primary' }, '＋ 新建文章 New article')),
    el('p', { class: 'muted', id: 'kb-count' },
      `共 ${rows.length} 篇${filtered ? '（筛选后）' : ''}` + (pending ? `，${pending} 篇有待发布的修改` : '') +
      ` · ${rows.length} article(s)` + (pending ? `, ${pending} with changes to publish` : '')),
    rows.length ? table(rows) : el('div', { class: 'card muted', id: 'kb-empty' }, '没有符合条件的文章。(No articles match.)'));
}

function table(rows) {
  return el('div', { class: 'table-wrap' }, el('table', { class: 'table', id: 'kb-list' },
    el('thead', {}, el('tr', {},
      el('th', {}, '文章 Article'), el('th', {}, '分类 Category'), el('th', {}, '类型 Kind'),
      el('th', {}, '状态 Status'), el('th', { class: 'num' }, '版本 Ver.'), el('th', { class: 'num' }, '已发布 Published'),
      el('th', {}, '最近修改 Updated'))),
    el('tbody', {}, rows.map(row))));
}

function row(a) {
  return el('tr', { dataset: { id: a.id } },
    el('td', { class: 'article-cell' },
      el('a', { href: articleHref(a.id), class: 'article-title' }, a.title || a.question),
      a.title ? el('div', { class: 'article-question' }, a.question) : null,
      el('div', { class: 'muted mono' }, a.id),
      a.tags.length ? el('div', {}, a.tags.map((t) => el('span', { class: 'tag' }, t))) : null),
    el('td', {}, a.category || '—'),
    el('td', { class: 'nowrap' }, label(KIND, a.kind), a.handoff ? el('div', { class: 'muted' }, '→ ' + a.handoff) : null),
    el('td', { class: 'nowrap' }, statusBadge(a.status), ' ', pendingBadge(a.pending)),
    el('td', { class: 'num', dataset: { field: 'version' } }, a.version),
    el('td', { class: 'num', dataset: { field: 'published_version' } }, a.published_version || '—'),
    el('td', { class: 'nowrap' }, a.updated_by, el('div', { class: 'muted' }, fmtTime(a.updated_at))));
}
