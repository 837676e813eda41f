// app.js: the cases page of the agents' panel, one page.
//
//   left   the cases, newest first, filtered by status and flow; the
//          search box finds a case by its number (KF…) or lists a user's
//          cases by open_id
//   right  the open case (#/case/{id}): what its flow collected, its
//          status history, and a form to set its status with a note
//
// It asks /api/v1/me who is signed in: agents and admins get the page,
// anyone else a "no permission" message. Every piece of case data is
// user text and goes in through dom.js el, as text.

import { ApiError, api, notify } from '/panel/assets/api.js';
import { clear, el, field, fmtTime, setActiveNav, shell, signedIn } from '/panel/assets/dom.js';

const TITLE = '案件 Cases';
const AGENT_ROLES = ['agent', 'admin'];
const STATUS = {
  submitted: '已提交 Submitted',
  processing: '处理中 Processing',
  resolved: '已解决 Resolved',
  rejected: '已驳回 Rejected',
};
const LIST_LIMIT = 200;
// REFRESH_MS is how often the list refreshes itself while the page is in
// view: cases opened by flows and changed by other agents show up without
// a reload.
const REFRESH_MS = 10000;

// S is the page's state.
const S = {
  status: '',
  flow: '',
  openID: '',
  flows: new Set(), // every flow seen, for the flow filter's suggestions
  list: [],
  open: '', // the ID of the case shown
  loads: 0, // lists asked for: only the latest answer is shown
  shown: '', // the query and answer on screen, to skip a refresh that changed nothing
};

let nodes = {};

async function boot() {
  const account = await signedIn(AGENT_ROLES, TITLE, '查看案件 (see cases)');
  if (!account) return;
  const nav = [
    { href: '/panel/agent', id: 'nav-agent', label: '客服工作台 Agent panel' },
    { href: '/panel/cases', id: 'nav-cases', label: '案件 Cases' },
  ];
  if (account.role === 'admin') nav.push({ href: '/panel/kb', id: 'nav-kb', label: '知识库 Knowledge base' });
  const main = shell({ title: TITLE, nav, account });
  setActiveNav('nav-cases');
  main.classList.add('cases-main');
  layout(main);
  window.addEventListener('hashchange', openFromHash);
  await load();
  openFromHash();
  setInterval(refresh, REFRESH_MS);
  document.addEventListener('visibilitychange', refresh);
}

/** refresh reloads the list quietly, unless the page is hidden. */
function refresh() {
  if (!document.hidden) load({ quiet: true });
}

/** layout builds the list and the detail pane into main. */
function layout(main) {
  nodes = {
    status: el('select', { id: 'cases-status', name: 'status', onchange: apply },
      el('option', { value: '' }, '全部状态 (any status)'),
      Object.entries(STATUS).map(([k, v]) => el('option', { value: k }, v))),
    flow: el('input', { id: 'cases-flow', name: 'flow', list: 'cases-flows', placeholder: '流程 flow，如 fraud_report' }),
    flows: el('datalist', { id: 'cases-flows' }),
    search: el('input', { type: 'search', id: 'cases-search', name: 'q', placeholder: '案件编号 KF… 或 open_id (case number or open_id)' }),
    count: el('p', { id: 'cases-count', class: 'muted' }),
    list: el('div', { id: 'cases-list-box' }),
    detail: el('section', { id: 'case-detail', class: 'card' }),
  };
  clear(main, el('div', { class: 'cases-grid' },
    el('section', { class: 'card' },
      el('div', { class: 'card-head' }, el('h2', {}, '案件 Cases'),
        el('button', { type: 'button', class: 'btn btn-small', id: 'cases-reload', onclick: () => load() }, '刷新 Reload')),
      el('form', { class: 'toolbar', id: 'cases-filter', onsubmit: search },
        nodes.search, nodes.status, nodes.flow, nodes.flows,
        el('button', { type: 'submit', class: 'btn', id: 'cases-apply' }, '查找 Find'),
        el('button', { type: 'button', class: 'btn btn-link', id: 'cases-clear', onclick: clearFilters }, '清除筛选 (clear)')),
      nodes.count,
      nodes.list),
    nodes.detail));
  placeholder();
}

function placeholder() {
  clear(nodes.detail, el('p', { class: 'muted', id: 'case-none' }, '选择左侧的案件查看详情。(Choose a case to see it.)'));
}

/** apply reads the filters into S and reloads the list. */
function apply(ev) {
  ev?.preventDefault();
  S.status = nodes.status.value;
  S.flow = nodes.flow.value.trim();
  return load();
}

/**
 * search finds what the search box holds: a case number opens that case
 * (the API reads it in any case or width), anything else lists the cases
 * of that open_id.
 */
async function search(ev) {
  ev.preventDefault();
  const q = nodes.search.value.trim();
  if (/^[kｋ][fｆ]/i.test(q)) {
    try {
      const c = await api('GET', '/cases/' + encodeURIComponent(q), undefined, { quiet: true });
      location.hash = '#/case/' + encodeURIComponent(c.id);
      return;
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 404) {
        notify(e.message, 'error');
        return;
      }
      notify('没有这个案件编号：' + q + ' (no case has this number)', 'error');
      return;
    }
  }
  S.openID = q;
  await apply();
}

function clearFilters() {
  nodes.search.value = '';
  nodes.status.value = '';
  nodes.flow.value = '';
  S.openID = '';
  apply();
}

/**
 * load fetches the list for the filters and renders it when it changed;
 * quiet leaves failures unannounced (a refresh retries anyway).
 */
async function load({ quiet = false } = {}) {
  const p = new URLSearchParams({ limit: String(LIST_LIMIT) });
  if (S.status) p.set('status', S.status);
  if (S.flow) p.set('flow', S.flow);
  if (S.openID) p.set('open_id', S.openID);
  const seq = ++S.loads;
  let list;
  try {
    list = (await api('GET', '/cases?' + p, undefined, { quiet })) || [];
  } catch {
    return; // shown by api() unless quiet
  }
  if (seq !== S.loads) return; // the filters changed meanwhile
  const shown = p + JSON.stringify(list);
  if (shown === S.shown) return;
  S.shown = shown;
  S.list = list;
  for (const c of S.list) S.flows.add(c.flow);
  renderList();
  markOpen();
}

function renderList() {
  clear(nodes.flows, [...S.flows].sort().map((f) => el('option', { value: f })));
  const filtered = S.status || S.flow || S.openID;
  clear(nodes.count, `共 ${S.list.length} 件${filtered ? '（筛选后）' : ''} · ${S.list.length} case(s)` +
    (S.openID ? ' · open_id = ' + S.openID : ''));
  if (!S.list.length) {
    clear(nodes.list, el('p', { class: 'muted', id: 'cases-empty' }, '没有符合条件的案件。(No cases match.)'));
    return;
  }
  clear(nodes.list, el('div', { class: 'table-wrap' }, el('table', { class: 'table', id: 'cases-list' },
    el('thead', {}, el('tr', {},
      el('th', {}, '编号 Number'), el('th', {}, '事项 Flow'), el('th', {}, '状态 Status'),
      el('th', {}, '用户 User'), el('th', {}, '更新 Updated'))),
    el('tbody', {}, S.list.map(row)))));
}

function row(c) {
  return el('tr', {
    class: 'case-row' + (c.id === S.open ? ' open' : ''),
    dataset: { id: c.id },
    onclick: () => { location.hash = '#/case/' + encodeURIComponent(c.id); },
  },
  el('td', {}, el('a', { href: '#/case/' + encodeURIComponent(c.id), class: 'case-id mono' }, c.id)),
  el('td', {}, c.title || c.flow, c.title && c.title !== c.flow ? el('div', { class: 'muted mono' }, c.flow) : null),
  el('td', {}, statusBadge(c.status)),
  el('td', { class: 'mono' }, c.open_id),
  el('td', { class: 'nowrap' }, fmtTime(c.updated_at)));
}

function statusBadge(status) {
  return el('span', { class: 'badge badge-' + (STATUS[status] ? status : 'info'), dataset: { status } }, STATUS[status] || status);
}

/** openFromHash shows the case #/case/{id} names, or the placeholder. */
async function openFromHash() {
  const m = location.hash.match(/^#\/case\/([^/?]+)$/);
  if (!m) {
    S.open = '';
    placeholder();
    markOpen();
    return;
  }
  const id = decodeURIComponent(m[1]);
  try {
    const c = await api('GET', '/cases/' + encodeURIComponent(id));
    renderDetail(c);
  } catch {
    S.open = '';
    placeholder();
  }
  markOpen();
}

function markOpen() {
  for (const tr of nodes.list.querySelectorAll('.case-row')) tr.classList.toggle('open', tr.dataset.id === S.open);
}

function renderDetail(c) {
  S.open = c.id;
  const facts = [
    ['用户 User', el('span', { class: 'mono', id: 'case-openid' }, c.open_id)],
    ['流程 Flow', el('span', { class: 'mono', id: 'case-flow' }, c.flow)],
    ['工单 Ticket', c.ticket_id ? el('a', { href: '/panel/agent#/ticket/' + encodeURIComponent(c.ticket_id), id: 'case-ticket', class: 'mono' }, c.ticket_id) : '—'],
    ['业务单号 External ref.', c.external_id ? el('span', { class: 'mono', id: 'case-external' }, c.external_id) : '—'],
    ['提交 Submitted', fmtTime(c.created_at)],
    ['更新 Updated', fmtTime(c.updated_at)],
  ];
  const fields = c.fields || [];
  const history = c.history || [];
  const to = el('select', { id: 'status-to', name: 'status' },
    Object.entries(STATUS).map(([k, v]) => el('option', { value: k, selected: k === c.status }, v)));
  const note = el('textarea', { id: 'status-note', name: 'note', rows: 3, maxlength: 2000,
    placeholder: '备注（给同事和用户看的处理说明）(note: what was done, for colleagues and the user)' });
  const result = el('p', { id: 'status-result', class: 'hint', role: 'status' });
  const save = el('button', { type: 'submit', class: 'btn btn-primary', id: 'status-save' }, '保存 Save');
  const submit = async (ev) => {
    ev.preventDefault();
    if (to.value === c.status && !note.value.trim()) {
      result.textContent = '状态未变，请写备注 (same status: write a note to add one)';
      return;
    }
    save.disabled = true;
    try {
      const updated = await api('POST', '/cases/' + encodeURIComponent(c.id) + '/status', { status: to.value, note: note.value });
      renderDetail(updated);
      notify('已保存 (saved): ' + updated.id + ' → ' + (STATUS[updated.status] || updated.status), 'ok');
      await load();
      markOpen();
    } catch (e) {
      result.textContent = e.message;
      result.dataset.kind = 'error';
    } finally {
      save.disabled = false;
    }
  };
  clear(nodes.detail,
    el('div', { class: 'card-head' },
      el('h2', { id: 'case-id', class: 'mono' }, c.id),
      el('span', { id: 'case-status' }, statusBadge(c.status))),
    el('p', { id: 'case-title' }, c.title || c.flow),
    el('dl', { class: 'facts' }, facts.map(([k, v]) => [el('dt', {}, k), el('dd', {}, v)])),
    el('h3', {}, '提交的信息 Fields'),
    fields.length
      ? el('div', { class: 'table-wrap' }, el('table', { class: 'table', id: 'case-fields' },
        el('tbody', {}, fields.map((f) => el('tr', { dataset: { name: f.name } },
          el('th', {}, f.label || f.name),
          el('td', { class: 'field-value' }, f.value))))))
      : el('p', { class: 'muted', id: 'case-fields-empty' }, '没有信息。(No fields.)'),
    el('h3', {}, '处理记录 History'),
    el('ol', { class: 'history', id: 'case-history' }, history.map((h) => el('li', { class: 'change', dataset: { status: h.status } },
      el('div', {}, statusBadge(h.status), ' ', el('span', { class: 'change-by' }, h.by), ' ',
        el('span', { class: 'muted' }, fmtTime(h.at))),
      h.note ? el('div', { class: 'change-note' }, h.note) : null))),
    el('h3', {}, '更新状态 Set status'),
    el('form', { class: 'status-form', id: 'status-form', onsubmit: submit },
      field('新状态 New status', to),
      field('备注 Note', note, '状态不变时，填写备注即追加一条记录。(Same status with a note adds the note.)'),
      save, result));
}

boot();
