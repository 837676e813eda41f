// history.js: an article's versions (who, when, why), the diff between a
// version and the one before it, field by field, and rollback: a new
// version with an old version's content, published as a separate step.

import { api, notify } from '/panel/assets/api.js';
import { clear, el, fmtTime } from '/panel/assets/dom.js';
import { FIELD, articleHref, label } from './labels.js';
import { showAlert } from './article.js';

/** historyView shows the versions of article id; query v selects the version whose diff is shown. */
export async function historyView(view, id, query) {
  const path = '/kb/articles/' + encodeURIComponent(id);
  const [hist, data] = await Promise.all([api('GET', path + '/versions'), api('GET', path)]);
  const selected = Number(query.get('v')) || hist.latest;
  const versions = [...hist.versions].sort((x, y) => y.version - x.version);
  const result = el('div', { id: 'rollback-result' });
  const diffBox = el('section', { class: 'card diff', id: 'diff' }, el('p', { class: 'muted' }, '加载中… (loading)'));

  async function rollback(n) {
    try {
      const resp = await api('POST', path + '/rollback', { version: n });
      const v = resp.version.version;
      const publish = el('button', { type: 'button', class: 'btn btn-primary', id: 'btn-publish-rollback' }, `发布版本 ${v} Publish`);
      publish.addEventListener('click', async () => {
        publish.disabled = true;
        try {
          await api('POST', '/kb/publish', { ids: [id], versions: { [id]: v } });
          notify(`已发布版本 ${v}：机器人将使用版本 ${n} 的内容 (published)`, 'ok');
          const target = articleHref(id) + '/history?v=' + v;
          if (location.hash === target) await historyView(view, id, new URLSearchParams({ v: String(v) }));
          else location.hash = target;
        } catch (e) {
          // Saved over since: show the history as it is now.
          if (e.code === 'conflict') await historyView(view, id, new URLSearchParams());
          else publish.disabled = false;
        }
      });
      // Show the new version's diff; the rollback message stays above it.
      await historyView(view, id, new URLSearchParams({ v: String(v) }));
      if (resp.unchanged) {
        showAlert(view.querySelector('#rollback-result'), 'info',
          `当前版本 ${v} 的内容已与版本 ${n} 相同，未生成新版本。(version ${v} already has version ${n}'s content: nothing to do)`);
        return;
      }
      showAlert(view.querySelector('#rollback-result'), 'ok',
        `已回滚：新版本 ${v} 的内容与版本 ${n} 相同。${resp.message} (rolled back: version ${v} has version ${n}'s content)`, publish);
    } catch {
      // shown by api
    }
  }

  const rows = versions.map((v) => el('tr', { dataset: { version: v.version }, class: v.version === selected ? 'selected' : null },
    el('td', { class: 'num' }, 'v' + v.version),
    el('td', {}, v.author),
    el('td', { class: 'nowrap' }, fmtTime(v.at)),
    el('td', { class: 'pre' }, v.note || '—'),
    el('td', {}, v.published ? el('span', { class: 'badge badge-published' }, '已发布 published') : null,
      v.version === hist.latest ? el('span', { class: 'badge badge-info' }, '最新 latest') : null),
    el('td', { class: 'nowrap' },
      el('a', { href: articleHref(id) + '/history?v=' + v.version, class: 'btn btn-small', dataset: { action: 'diff' },
        title: 'What this version changed' }, '差异'),
      ' ',
      v.version === hist.latest ? null : el('button', { type: 'button', class: 'btn btn-small', dataset: { action: 'rollback' },
        title: 'Roll back to this version', onclick: () => rollback(v.version) }, '回滚到此版本'))));

  clear(view,
    el('p', { class: 'crumbs' }, el('a', { href: '#/' }, '← 文章列表 (articles)'), ' / ',
      el('a', { href: articleHref(id) }, data.head.title || data.head.question)),
    el('h2', {}, '版本历史 History'),
    result,
    el('div', { class: 'history-grid' },
      el('div', { class: 'table-wrap' }, el('table', { class: 'table', id: 'history-list' },
        el('thead', {}, el('tr', {}, el('th', {}, '版本'), el('th', {}, '作者 Who'), el('th', {}, '时间 When'),
          el('th', {}, '说明 Note'), el('th', {}, ''), el('th', {}, ''))),
        el('tbody', {}, rows)),
        statusLog(hist.events || [])),
      diffBox));

  await showDiff(diffBox, path, selected);
}

/** statusLog lists who published or archived the article, which version and when, newest first. */
function statusLog(events) {
  if (!events.length) return null;
  const what = (e) => e.action === 'publish'
    ? `发布版本 ${e.version} (published v${e.version})`
    : (e.version ? `归档，下线版本 ${e.version} (archived, v${e.version} taken out)` : '归档 (archived)');
  return el('section', { class: 'card', id: 'status-log' },
    el('h3', {}, '发布与归档记录 Publish log'),
    el('ul', { class: 'status-log' }, [...events].reverse().map((e) =>
      el('li', { dataset: { action: e.action } }, el('span', { class: 'nowrap muted' }, fmtTime(e.at)), ' ', e.by, '：', what(e)))));
}

/** showDiff shows what version n changed from the one before; version 1 shows its content. */
async function showDiff(box, path, n) {
  if (n <= 1) {
    const v = await api('GET', path + '/versions/1');
    const a = v.article;
    const changes = Object.keys(FIELD).filter((k) => k !== 'status' && !empty(a[k])).map((k) =>
      Array.isArray(a[k]) ? { field: k, added: a[k] } : { field: k, new: String(a[k]) });
    clear(box, el('h3', {}, '版本 1：初始内容 (version 1: the first content)'), changeList(changes));
    return;
  }
  const d = await api('GET', `${path}/diff?from=${n - 1}&to=${n}`);
  clear(box,
    el('h3', {}, `版本 ${d.to} 与版本 ${d.from} 的差异 (version ${d.to} against ${d.from})`),
    d.changes.length ? changeList(d.changes) : el('p', { class: 'muted' }, '内容没有变化。(No change.)'));
}

function empty(x) {
  return x === undefined || x === null || x === '' || (Array.isArray(x) && x.length === 0);
}

/** changeList renders changes [{field, old, new, added, removed}]. */
export function changeList(changes) {
  return el('dl', { class: 'changes' }, changes.map((c) => [
    el('dt', { dataset: { field: c.field } }, label(FIELD, c.field)),
    el('dd', {},
      c.old !== undefined ? el('div', { class: 'del pre' }, el('span', { class: 'sign' }, '−'), c.old) : null,
      c.new !== undefined ? el('div', { class: 'ins pre' }, el('span', { class: 'sign' }, '+'), c.new) : null,
      (c.removed || []).map((s) => el('div', { class: 'del pre item' }, el('span', { class: 'sign' }, '−'), s)),
      (c.added || []).map((s) => el('div', { class: 'ins pre item' }, el('span', { class: 'sign' }, '+'), s))),
  ]));
}
