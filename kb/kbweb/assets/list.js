// list.js: the article list, with search and filters by status and
// category, sortable columns, pages of 50 articles or more, each article's
// status, versions and whether a draft waits to be published, and the
// publish or archive of the articles ticked, on one page or several.

import { api, notify } from '/panel/assets/api.js';
import { clear, el, fmtTime } from '/panel/assets/dom.js';
import { KIND, STATUS, articleHref, label, pendingBadge, statusBadge } from './labels.js';

/** PAGE_SIZES are how many articles a page of the list may show (size=), the first by default. */
export const PAGE_SIZES = [50, 100, 200, 500];

// COLUMNS are the list's columns: their heading and, for those it can be
// sorted by, the API's sort name and the direction a first click asks.
const COLUMNS = [
  { title: '文章 Article', sort: 'id' },
  { title: '分类 Category', sort: 'category' },
  { title: '类型 Kind' },
  { title: '状态 Status', sort: 'status' },
  { title: '版本 Ver.', sort: 'version', num: true, desc: true },
  { title: '已发布 Published', num: true },
  { title: '最近修改 Updated', sort: 'updated', desc: true },
];

// SORTS are the orders the API knows.
const SORTS = COLUMNS.filter((c) => c.sort).map((c) => c.sort);

// FILTERS are the query parameters that narrow the list.
const FILTERS = ['q', 'status', 'category'];

/** listView renders the articles that match query (q, status, category), ordered by sort, page page. */
export async function listView(view, query) {
  const filters = Object.fromEntries(FILTERS.map((k) => [k, query.get(k) || '']));
  const filtered = FILTERS.some((k) => filters[k]);
  // An unknown order (an old or mistyped address) falls back to the ID's.
  const sort = SORTS.includes((query.get('sort') || '').replace(/^-/, '')) ? query.get('sort') : 'id';
  const page = Math.max(1, parseInt(query.get('page'), 10) || 1);
  const size = PAGE_SIZES.includes(Number(query.get('size'))) ? Number(query.get('size')) : PAGE_SIZES[0];
  const params = new URLSearchParams();
  for (const k of FILTERS) if (filters[k]) params.set(k, filters[k]);
  params.set('sort', sort);
  params.set('limit', size);
  params.set('offset', (page - 1) * size);

  const [{ data: rows, headers }, cats] = await Promise.all([
    api('GET', '/kb/articles?' + params, undefined, { withHeaders: true }),
    api('GET', '/kb/categories', undefined, { quiet: true }).catch(() => []), // the filter offers fewer, the list still shows
  ]);
  const total = Number(headers.get('X-Total-Count')) || rows.length;
  const pending = Number(headers.get('X-Pending-Count')) || 0;
  const pages = Math.max(1, Math.ceil(total / size));
  if (page > pages) { // past the end (articles archived or filtered away): show the last page instead
    location.replace(listHref(query, { page: pages })); // in place, so that Back goes where it went before
    return;
  }
  const categories = cats.map((c) => c.category);
  if (filters.category && !categories.includes(filters.category)) categories.push(filters.category);

  const search = el('input', { type: 'search', id: 'kb-search', name: 'q', value: filters.q, placeholder: '搜索问题、答案、ID、标签… (search)',
    'aria-label': '搜索 Search' });
  const statusSel = el('select', { id: 'kb-status', name: 'status', 'aria-label': '状态 Status' },
    el('option', { value: '' }, '全部状态 (any status)'),
    Object.entries(STATUS).map(([k, v]) => el('option', { value: k, selected: k === filters.status }, v)),
    el('option', { value: 'pending', selected: filters.status === 'pending' }, '待发布 pending (a newer draft waits)'));
  const categorySel = el('select', { id: 'kb-category', name: 'category', 'aria-label': '分类 Category' },
    el('option', { value: '' }, '全部分类 (any category)'),
    categories.map((c) => el('option', { value: c, selected: c === filters.category }, c)));
  // A new filter starts at the first page, in the same order.
  const apply = (ev) => {
    ev?.preventDefault();
    location.hash = listHref(query, { q: search.value.trim(), status: statusSel.value, category: categorySel.value, page: '' });
  };
  statusSel.addEventListener('change', apply);
  categorySel.addEventListener('change', apply);

  const first = (page - 1) * size + 1;
  const shown = `${first}–${first + rows.length - 1}`;
  onScreen = { view, draw: () => listView(view, query) };
  const selection = bulkActions(rows);
  clear(view,
    el('form', { class: 'toolbar', id: 'kb-filter', onsubmit: apply },
      search, statusSel, categorySel,
      el('button', { type: 'submit', class: 'btn' }, '搜索 Search'),
      filtered ? el('a', { href: listHref(query, { q: '', status: '', category: '', page: '' }), class: 'btn btn-link' }, '清除筛选 (clear)') : null,
      el('span', { class: 'spacer' }),
      el('a', { href: '#/new', id: 'kb-new', class: 'btn btn-primary' }, '＋ 新建文章 New article')),
    el('p', { class: 'muted', id: 'kb-count' },
      `共 ${total} 篇${filtered ? '（筛选后）' : ''}` + (pending ? `，${pending} 篇有待发布的修改` : '') +
      (pages > 1 ? `，显示第 ${shown} 篇` : '') +
      ` · ${total} article(s)` + (pending ? `, ${pending} with changes to publish` : '') +
      (pages > 1 ? `, showing ${shown}` : '')),
    selection.needed ? selection.bar : null,
    rows.length ? [table(rows, query, sort, selection), pager(query, page, pages, size, total)]
      : el('div', { class: 'card muted', id: 'kb-empty' }, '没有符合条件的文章。(No articles match.)'));
}

/** listHref is the list's route with query changed by changes (an empty value removes a parameter). */
function listHref(query, changes) {
  const p = new URLSearchParams(query);
  for (const [k, v] of Object.entries(changes)) {
    if (v === '' || v === null || v === undefined || (k === 'page' && v === 1)) p.delete(k);
    else p.set(k, v);
  }
  const s = p.toString();
  return '#/' + (s ? '?' + s : '');
}

function table(rows, query, sort, selection) {
  const [by, desc] = sort.startsWith('-') ? [sort.slice(1), true] : [sort, false];
  const heading = (c) => {
    if (!c.sort) return el('th', { class: c.num ? 'num' : null }, c.title);
    const current = c.sort === by;
    // A first click on a column sorts it its natural way; a second reverses.
    const next = current ? (desc ? c.sort : '-' + c.sort) : (c.desc ? '-' + c.sort : c.sort);
    return el('th', { class: c.num ? 'num' : null, 'aria-sort': current ? (desc ? 'descending' : 'ascending') : 'none' },
      el('a', { href: listHref(query, { sort: next === 'id' ? '' : next, page: '' }), class: 'sort', dataset: { sort: c.sort },
        title: '点击排序 (sort)' }, c.title, el('span', { class: current ? 'sort-mark' : 'sort-mark muted' }, current ? (desc ? ' ↓' : ' ↑') : ' ↕')));
  };
  return el('div', { class: 'table-wrap' }, el('table', { class: 'table', id: 'kb-list' },
    el('thead', {}, el('tr', {}, el('th', { class: 'pick' }, selection.all), COLUMNS.map(heading))),
    el('tbody', {}, rows.map((a) => row(a, selection.box(a))))));
}

function row(a, box) {
  return el('tr', { dataset: { id: a.id }, class: box.checked ? 'picked' : null },
    el('td', { class: 'pick' }, box),
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

/**
 * asSeen is the body of a publish or an archive of articles (summaries:
 * id, version, status) as the page showed them: one saved, published or
 * archived since is refused (409) and nothing changes.
 */
export function asSeen(articles) {
  return {
    ids: articles.map((a) => a.id),
    versions: Object.fromEntries(articles.map((a) => [a.id, a.version])),
    statuses: Object.fromEntries(articles.map((a) => [a.id, a.status])),
  };
}

/** pager links the pages of a list of total articles, size a page, and chooses the size: more a page, more to tick at once. */
function pager(query, page, pages, size, total) {
  if (total <= PAGE_SIZES[0]) return null;
  const link = (to, text, id) => to < 1 || to > pages
    ? el('span', { class: 'btn btn-link', 'aria-disabled': 'true', id }, text)
    : el('a', { href: listHref(query, { page: to }), class: 'btn btn-link', id }, text);
  const sizes = el('select', { id: 'kb-size', 'aria-label': '每页篇数 Articles a page' },
    PAGE_SIZES.map((n) => el('option', { value: n, selected: n === size }, `每页 ${n} 篇 (${n} a page)`)));
  sizes.addEventListener('change', () => {
    const n = Number(sizes.value);
    location.hash = listHref(query, { size: n === PAGE_SIZES[0] ? '' : n, page: '' });
  });
  return el('nav', { class: 'pager', id: 'kb-pager', 'aria-label': '分页 Pages' },
    pages > 1 ? [
      link(page - 1, '‹ 上一页 Previous', 'kb-prev'),
      el('span', { class: 'muted', id: 'kb-page' }, `第 ${page} / ${pages} 页 (page ${page} of ${pages})`),
      link(page + 1, '下一页 Next ›', 'kb-next'),
    ] : null,
    sizes);
}

// picked is the list's selection: id → the article as the list showed it
// when ticked. It lasts while the editor moves between the list's pages,
// orders and filters, and beyond, until a publish or archive of it.
const picked = new Map();

// unticked are the articles taken out of the selection since the list was
// last drawn, because they changed after they were ticked: the next
// drawing says so.
const unticked = new Set();

// busy says a publish or archive of the selection is under way: until it
// ends the selection is locked, on whatever page of the list is shown.
let busy = false;

// onScreen is the list last drawn: its view and how to draw it again.
let onScreen = null;

/** redraw draws the list on screen again, if the list is on screen. */
async function redraw() {
  if (onScreen?.view.isConnected) await onScreen.draw();
}

/** sameAsSeen reports whether article a is still as the list showed it (was). */
function sameAsSeen(was, a) {
  return was.version === a.version && was.status === a.status && was.published_version === a.published_version;
}

/**
 * bulkActions returns the list's selection: a check box per row (box(a)), one
 * for the whole page (all), and the bar that publishes or archives the
 * articles ticked, on this page and others, as the list showed them: an
 * article saved, published or archived since is refused (409), taken out
 * of the selection, and the list reloads. A ticked article the page now
 * shows changed is taken out too, so that nothing goes live unreviewed.
 */
function bulkActions(rows) {
  // (While a publish runs, what it changes is not someone else's change.)
  for (const a of busy ? [] : rows) {
    const was = picked.get(a.id);
    if (was && !sameAsSeen(was, a)) {
      picked.delete(a.id);
      unticked.add(a.id);
    }
  }
  const count = el('span', { id: 'kb-picked' });
  const clearBtn = el('button', { type: 'button', class: 'btn btn-link', id: 'kb-pick-none' }, '清除选择 Clear');
  const publishBtn = el('button', { type: 'button', class: 'btn', id: 'kb-publish-picked' }, '发布所选 Publish');
  const archiveBtn = el('button', { type: 'button', class: 'btn btn-danger', id: 'kb-archive-picked' }, '归档所选 Archive');
  const all = el('input', { type: 'checkbox', id: 'kb-pick-all', 'aria-label': '全选本页 Select the page' });
  const dropped = [...unticked];
  unticked.clear();
  const droppedNote = dropped.length ? el('span', { class: 'unticked', id: 'kb-unticked', role: 'status', title: dropped.join(', ') },
    `${dropped.length} 篇勾选后已被修改，已取消勾选，请重新查看：${dropped.join('、')}` +
    ` (${dropped.length} changed since ticked, so unticked: review them again)`) : null;

  // changes: the ticked articles action changes. Publishing what is live
  // with nothing waiting, or archiving what is archived, would be a no-op.
  const changes = (action) => [...picked.values()].filter((a) => action === 'publish'
    ? a.status !== 'published' || a.pending : a.status !== 'archived');
  const onPage = (a) => picked.has(a.id);
  const update = () => {
    const here = rows.filter(onPage).length;
    const elsewhere = picked.size - here;
    count.textContent = `已选 ${picked.size} 篇` + (elsewhere ? `（${elsewhere} 篇在其他页或筛选外）` : '') +
      ` (${picked.size} selected` + (elsewhere ? `, ${elsewhere} not shown here` : '') + ')';
    clearBtn.classList.toggle('hidden', !picked.size);
    clearBtn.disabled = all.disabled = busy;
    for (const b of boxes.values()) b.disabled = busy;
    publishBtn.disabled = busy || !changes('publish').length;
    archiveBtn.disabled = busy || !changes('archive').length;
    all.checked = here === rows.length;
    all.indeterminate = here > 0 && here < rows.length;
  };
  // tick ticks or unticks the box b of article a.
  const tick = (b, a, on) => {
    b.checked = on;
    b.closest('tr')?.classList.toggle('picked', on);
    if (on) picked.set(a.id, a);
    else picked.delete(a.id);
  };
  const boxes = new Map(rows.map((a) => {
    const b = el('input', { type: 'checkbox', class: 'kb-pick', value: a.id, checked: picked.has(a.id),
      'aria-label': '选择 Select ' + a.id });
    b.addEventListener('change', () => {
      tick(b, a, b.checked);
      update();
    });
    return [a.id, b];
  }));
  all.addEventListener('change', () => {
    for (const a of rows) tick(boxes.get(a.id), a, all.checked);
    update();
  });
  clearBtn.addEventListener('click', () => {
    picked.clear();
    for (const a of rows) tick(boxes.get(a.id), a, false);
    update();
    all.focus(); // the button hides: the focus stays in the list
  });

  const run = async (action) => {
    // Only the articles the action changes: the rest would be no-ops.
    const list = changes(action);
    const skipped = picked.size - list.length;
    const others = skipped ? `（所选的另 ${skipped} 篇已是该状态，不变）` : '';
    const othersEN = skipped ? ` (${skipped} more selected are so already)` : '';
    const live = list.filter((a) => a.published_version).length;
    if (action === 'archive' && live &&
      !window.confirm(`其中 ${live} 篇已发布，归档后机器人立即不再用它们回答，确定归档这 ${list.length} 篇吗？${others}` +
        `(${live} of them are live: the bot stops answering with them at once. Archive ${list.length}?${othersEN})`)) {
      return;
    }
    const archived = list.filter((a) => a.status === 'archived').length;
    if (action === 'publish' && archived &&
      !window.confirm(`其中 ${archived} 篇已归档，发布后机器人将用它们回答，确定发布这 ${list.length} 篇吗？${others}` +
        `(${archived} of them are archived: the bot will answer with them. Publish ${list.length}?${othersEN})`)) {
      return;
    }
    const done = [...picked.keys()]; // sent, or so already
    busy = true;
    update();
    let reload = true;
    try {
      const resp = await api('POST', '/kb/' + action, asSeen(list));
      for (const id of done) picked.delete(id);
      notify(resp.warning || (action === 'publish'
        ? `已发布 ${list.length} 篇，机器人即刻使用${others} (published ${list.length}: the bot answers with them now${othersEN})`
        : `已归档 ${list.length} 篇，机器人不再使用${others} (archived ${list.length}: the bot no longer answers with them${othersEN})`),
      resp.warning ? 'info' : 'ok');
    } catch (e) {
      // Shown by api. On a conflict the articles that moved on leave the
      // selection, and the list shows what they are now.
      // Another failure (the network, a session ended) leaves the list as
      // it is: a reload could lose the selection to the sign-in page.
      if (e.code === 'conflict') {
        for (const id of e.body?.stale || [e.body?.current?.id]) if (picked.delete(id)) unticked.add(id);
      } else {
        reload = false;
      }
    } finally {
      busy = false;
    }
    if (reload) await redraw().catch(() => {}); // a failed load has said so
    // Unlock the bar on screen: drawn again, or, if that failed or was not
    // tried, the one that was.
    if (onScreen?.view.isConnected) onScreen.update?.();
    // The buttons were locked: keep the focus in the list.
    if (document.activeElement === document.body) document.getElementById('kb-pick-all')?.focus();
  };
  publishBtn.addEventListener('click', () => run('publish'));
  archiveBtn.addEventListener('click', () => run('archive'));
  update();
  if (onScreen) onScreen.update = update;
  const bar = el('div', { class: 'toolbar bulk', id: 'kb-bulk' }, count, clearBtn, publishBtn, archiveBtn, droppedNote);
  // The bar shows, on an empty page too, while it has something to say.
  return { all, box: (a) => boxes.get(a.id), bar, needed: rows.length > 0 || picked.size > 0 || dropped.length > 0 };
}
