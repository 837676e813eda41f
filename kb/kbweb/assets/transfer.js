// transfer.js: export the knowledge base as JSON or CSV, and import a
// file: a dry run first reports what it would add, change and leave, the
// rows it rejects with their numbers and reasons, and what publishing
// would publish and archive; then apply.

import { api, notify } from '/panel/assets/api.js';
import { clear, el, field } from '/panel/assets/dom.js';
import { FIELD, articleHref, label } from './labels.js';
import { showAlert } from './article.js';
import { changeList } from './history.js';

/** transferView renders the import and export screen. */
export async function transferView(view) {
  const file = el('input', { type: 'file', id: 'import-file', accept: '.json,.csv,application/json,text/csv' });
  const format = el('select', { id: 'import-format' },
    el('option', { value: '' }, '按扩展名 (by extension)'),
    el('option', { value: 'json' }, 'JSON'),
    el('option', { value: 'csv' }, 'CSV'));
  const dry = el('button', { type: 'submit', class: 'btn btn-primary', id: 'btn-dry-run' }, '试运行 Dry run');
  const report = el('div', { id: 'import-report' });

  const formatOf = (f) => format.value || (/\.csv$/i.test(f.name) ? 'csv' : 'json');
  // The file is read once, at the dry run: what is applied is what was
  // reviewed, even if the file on disk is edited in between.
  const sender = (f, bytes) => (flags) => api('POST', '/kb/import?' + new URLSearchParams({ format: formatOf(f), ...flags }), bytes,
    { contentType: 'application/octet-stream', quiet: true });

  async function dryRun(ev) {
    ev.preventDefault();
    const f = file.files[0];
    if (!f) {
      notify('请先选择文件 (choose a file)', 'error');
      return;
    }
    dry.disabled = true;
    clear(report, el('p', { class: 'muted' }, '正在检查… (checking)'));
    let plan;
    let problem = '';
    let send;
    try {
      send = sender(f, await f.arrayBuffer());
    } catch (e) {
      dry.disabled = false;
      clear(report);
      showAlert(report, 'error', '无法读取文件，请重新选择 (the file cannot be read: choose it again): ' + e.message);
      return;
    }
    try {
      plan = await send({ dry_run: '1' });
    } catch (e) {
      if (e.code !== 'rejected' || !e.body || !e.body.plan) {
        clear(report);
        showAlert(report, 'error', e.message);
        return;
      }
      plan = e.body.plan; // rows were rejected: the plan is beside the error
      problem = `有 ${plan.rejected.length} 行无法导入（见下表的行号和原因）：修正文件后重新试运行，或勾选“跳过被拒绝的行”只导入有效行。` +
        `(${plan.rejected.length} row(s) rejected, see below: fix the file and try again, or import the valid rows only.)`;
    } finally {
      dry.disabled = false;
    }
    showPlan(report, plan, problem, f, send);
  }

  clear(view,
    el('h2', {}, '导入导出 Import / Export'),
    el('div', { class: 'transfer-grid' },
      el('form', { class: 'card', id: 'import-form', onsubmit: dryRun },
        el('h3', {}, '导入 Import'),
        el('p', { class: 'muted' }, '先试运行：查看将新增、修改、不变和被拒绝的行（带行号和原因），确认后再应用。',
          'CSV 至少需要 question 和 answer 两列。(Dry run first: see what the file adds, changes and rejects; then apply.)'),
        el('div', { class: 'row' }, field('文件 File (.json / .csv)', file), field('格式 Format', format)),
        el('div', { class: 'actions' }, dry)),
      el('section', { class: 'card', id: 'export' },
        el('h3', {}, '导出 Export'),
        el('p', { class: 'muted' }, '所有文章的最新版本（含状态）。JSON 无损，可原样导入；CSV 便于用表格软件编辑，',
          '相似问题和标签用 “|” 分隔（内容中的 | 写作 \\|）。'),
        el('div', { class: 'actions' },
          el('a', { class: 'btn', id: 'export-json', href: '/api/v1/kb/export?format=json', download: 'kefu-kb.json' }, '下载 JSON'),
          el('a', { class: 'btn', id: 'export-csv', href: '/api/v1/kb/export?format=csv', download: 'kefu-kb.csv' }, '下载 CSV')))),
    report);
}

// PLAN_KINDS are the lists of a plan, one per kind of row, and their names.
const PLAN_KINDS = [['added', '新增 added'], ['changed', '修改 changed'], ['unchanged', '不变 unchanged'], ['rejected', '拒绝 rejected']];

/** rowStates maps each row of plan to what the plan says of it: its kind, the version compared with, the changes or the reason. */
function rowStates(plan) {
  const states = new Map();
  for (const [k] of PLAN_KINDS) {
    for (const r of plan[k]) states.set(r.row, JSON.stringify([k, r.base ?? 0, r.changes || [], r.reason || '']));
  }
  return states;
}

/**
 * showPlan renders a dry run's plan with the form that applies it;
 * publishing stays ticked if it was. prev, if given, is the report this
 * one replaces: the rows it says otherwise of are marked.
 */
function showPlan(box, plan, problem, f, send, publishTicked = false, prev = null) {
  const n = (k) => plan[k].length;
  const before = prev && rowStates(prev);
  const moved = new Set(before ? [...rowStates(plan)].filter(([row, st]) => before.get(row) !== st).map(([row]) => row) : []);
  const rowCell = (row) => moved.has(row)
    ? el('span', { dataset: { moved: '1' } }, row, el('span', { class: 'badge badge-pending', title: '与上次试运行的报告不同 (not as the last report said)' }, '新 new'))
    : row;
  const publish = el('input', { type: 'checkbox', id: 'import-publish', checked: publishTicked });
  const allow = el('input', { type: 'checkbox', id: 'import-allow-rejected' });
  const apply = el('button', { type: 'button', class: 'btn btn-primary', id: 'btn-apply', disabled: n('rejected') > 0 },
    '应用导入 Apply');
  allow.addEventListener('change', () => { apply.disabled = n('rejected') > 0 && !allow.checked; });
  const result = el('div', { id: 'import-result' });
  apply.addEventListener('click', async () => {
    apply.disabled = true;
    const flags = { expect: plan.token }; // refused if anything reported here changed meanwhile
    if (publish.checked) flags.publish = '1';
    if (allow.checked) flags.allow_rejected = '1';
    try {
      const r = (await send(flags)).result;
      showAlert(result, 'ok', `已导入：保存了 ${r.saved.length} 篇的新版本，发布 ${r.published.length} 篇，归档 ${r.archived.length} 篇。` +
        `(imported: ${r.saved.length} saved, ${r.published.length} published, ${r.archived.length} archived)`);
      notify('导入完成 (imported)', 'ok');
    } catch (e) {
      const fresh = e.body && e.body.plan;
      if (e.code === 'conflict' && fresh && !fresh.result) {
        showPlan(box, fresh, e.message, f, send, publish.checked, plan); // changed since the dry run: review the new report
        return;
      }
      showAlert(result, 'error', e.message);
      apply.disabled = e.code === 'conflict'; // stopped midway: only a new dry run tells what is left
    }
  });

  clear(box, el('section', { class: 'card', id: 'import-plan' },
    el('h3', {}, '试运行结果 Dry-run report：', f.name),
    el('div', { class: 'plan-counts' }, PLAN_KINDS.map(([k, t]) =>
      el('div', { class: 'plan-count plan-' + k, dataset: { kind: k } }, el('strong', {}, n(k)), el('span', {}, t)))),
    problem ? el('div', { class: 'alert alert-error' }, problem, prev ? movedNote(moved) : null) : null,
    n('rejected') ? planTable('被拒绝的行 Rejected rows', 'plan-rejected', ['行 Row', 'ID', '原因 Reason'],
      plan.rejected.map((r) => [rowCell(r.row), r.id || '—', r.reason])) : null,
    n('added') ? planTable('新增 Added', 'plan-added', ['行 Row', 'ID', '标准问题 Question'],
      plan.added.map((r) => [rowCell(r.row), r.id, r.question])) : null,
    n('changed') ? planTable('修改 Changed', 'plan-changed', ['行 Row', 'ID', '改动 Changes (现在 − / 导入后 +)'],
      plan.changed.map((r) => [rowCell(r.row), el('a', { href: articleHref(r.id) }, r.id),
        el('details', {}, el('summary', {}, (r.changes || []).map((c) => label(FIELD, c.field)).join('、')),
          changeList(r.changes || []))])) : null,
    n('unchanged') ? el('details', {}, el('summary', {}, `不变的 ${n('unchanged')} 行 (unchanged rows)`),
      el('p', { class: 'muted' }, plan.unchanged.map((r) => `${r.row}: ${r.id}` + (moved.has(r.row) ? '（新 new）' : '')).join(' · '))) : null,
    el('div', { class: 'apply' },
      el('label', { class: 'check' }, publish, '按文件中的状态发布/归档 (apply the file\'s statuses: publish, archive)'),
      el('p', { class: 'muted', id: 'plan-statuses' }, statusNote(plan)),
      n('rejected') ? el('label', { class: 'check' }, allow, '跳过被拒绝的行，只导入有效行 (import the valid rows only)') : null,
      apply),
    result));
}

/**
 * movedNote says which rows a new report says otherwise of than the one
 * reviewed; when none, the change is in what the report does not show row
 * by row: whether the file's articles are published or archived.
 */
function movedNote(moved) {
  const rows = [...moved].sort((a, b) => a - b);
  return el('div', { id: 'plan-moved' }, rows.length
    ? `与上次的报告相比，这些行有变：${rows.join('、')}（标为“新”）。(rows not as the last report said, marked new: ${rows.join(', ')})`
    : '各行与上次的报告相同：变的是文件中文章的发布或归档状态（有人发布或归档了它们），请看下方勾选发布后的结果。' +
      '(every row is as the last report said: what changed is whether the file\'s articles are published or archived; see what publishing would do below)');
}

/** statusNote says what ticking "publish" would publish and archive. */
function statusNote(plan) {
  const pub = plan.publish || [];
  const arc = plan.archive || [];
  if (!pub.length && !arc.length) return '勾选后不会发布或归档任何文章。(publishing changes no status)';
  const list = (ids) => ids.length ? ids.join('、') : '—';
  return `勾选后：发布 ${pub.length} 篇（${list(pub)}），归档 ${arc.length} 篇（${list(arc)}）。` +
    `(ticked: ${pub.length} published, ${arc.length} archived)`;
}

function planTable(title, id, head, rows) {
  return [el('h3', {}, title), el('div', { class: 'table-wrap' }, el('table', { class: 'table', id },
    el('thead', {}, el('tr', {}, head.map((h, i) => el('th', { class: i === 0 ? 'num row-no' : null }, h)))),
    el('tbody', {}, rows.map((cells) => el('tr', {}, cells.map((c, i) => el('td', { class: i === 0 ? 'num' : null }, c)))))))];
}
