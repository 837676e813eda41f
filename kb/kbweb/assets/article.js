// article.js: the article editor. Saves send the version the edit started
// from (base_version), so a save that another editor's save overtook is
// refused with a 409 that says who saved what; publish and archive are
// separate, explicit steps.

import { api, notify } from '/panel/assets/api.js';
import { clear, el, field, fmtTime } from '/panel/assets/dom.js';
import { KIND, articleHref, pendingBadge, statusBadge } from './labels.js';
import { guardLeave } from './leave.js';
import { asSeen } from './list.js';

/**
 * editorView edits the article id, or a new one when id is null; query may
 * carry from (an unanswered group the new article answers) and question.
 */
export async function editorView(view, id, query) {
  let data = null;
  const categoryList = api('GET', '/kb/categories', undefined, { quiet: true }).catch(() => []);
  if (id) data = await api('GET', '/kb/articles/' + encodeURIComponent(id));
  const a = data ? data.draft.article : { question: query.get('question') || '', kind: 'faq' };
  const base = data ? data.draft.version : 0;
  const from = id ? '' : query.get('from') || '';

  const f = {
    id: el('input', { id: 'f-id', name: 'id', value: a.id || '', readOnly: !!id, placeholder: '留空则由标准问题生成 (blank: derived)', pattern: '[A-Za-z0-9._-]+' }),
    title: el('input', { id: 'f-title', name: 'title', value: a.title || '' }),
    question: el('input', { id: 'f-question', name: 'question', value: a.question || '', required: true }),
    similar: el('textarea', { id: 'f-similar', name: 'similar', rows: 5, value: (a.similar || []).join('\n') }),
    answer: el('textarea', { id: 'f-answer', name: 'answer', rows: 8, value: a.answer || '', required: true }),
    answer_en: el('textarea', { id: 'f-answer-en', name: 'answer_en', rows: 3, value: a.answer_en || '' }),
    category: el('input', { id: 'f-category', name: 'category', value: a.category || '', list: 'categories' }),
    tags: el('input', { id: 'f-tags', name: 'tags', value: (a.tags || []).join(', ') }),
    kind: el('select', { id: 'f-kind', name: 'kind' },
      Object.entries(KIND).map(([k, v]) => el('option', { value: k, selected: k === (a.kind || 'faq') }, v))),
    handoff: el('input', { id: 'f-handoff', name: 'handoff', value: a.handoff || '', list: 'lanes', pattern: '[a-z0-9_-]*' }),
    flow: el('input', { id: 'f-flow', name: 'flow', value: a.flow || '', list: 'flows', pattern: '[a-z0-9_-]*' }),
    note: el('input', { id: 'f-note', name: 'note', placeholder: '例如：更新了办理时限 (e.g. updated the time limit)' }),
  };
  const categories = el('datalist', { id: 'categories' });
  categoryList.then((list) => {
    for (const c of list) categories.append(el('option', { value: c.category }, `${c.category} (${c.articles})`));
  });
  // The configured lanes and the flows in use: the server refuses others.
  const lanes = el('datalist', { id: 'lanes' });
  const flows = el('datalist', { id: 'flows' });
  api('GET', '/kb/choices', undefined, { quiet: true }).then((c) => {
    for (const l of c.lanes) lanes.append(el('option', { value: l.name }, `${l.title} ${l.name}`));
    for (const x of c.flows) flows.append(el('option', { value: x.name }, `${x.title} ${x.name}`));
  }).catch(() => {});

  const alertBox = el('div', { id: 'editor-alert' });
  const dirtyBadge = el('span', { class: 'badge badge-pending hidden', id: 'editor-dirty' }, '未保存 unsaved');
  let dirty = false;
  guardLeave(() => dirty);
  const form = el('form', { id: 'article-form', class: 'editor-grid', novalidate: true });
  // Unsaved means different from what was loaded: typing a change and
  // taking it back leaves nothing to save. The note alone is no change.
  let loaded = '';
  const content = () => JSON.stringify({ ...body(), note: '' });
  form.addEventListener('input', () => {
    dirty = content() !== loaded;
    dirtyBadge.classList.toggle('hidden', !dirty);
  });

  const body = () => {
    const out = {
      title: f.title.value.trim(),
      question: f.question.value.trim(),
      similar: lines(f.similar.value),
      answer: f.answer.value,
      answer_en: f.answer_en.value,
      category: f.category.value.trim(),
      tags: f.tags.value.split(/[,，、]/).map((s) => s.trim()).filter(Boolean),
      kind: f.kind.value,
      handoff: f.handoff.value.trim(),
      flow: f.flow.value.trim(),
      note: f.note.value.trim(),
    };
    if (f.id.value.trim()) out.id = f.id.value.trim();
    return out;
  };

  loaded = content();
  const rerender = () => editorView(view, id, query);
  const buttons = [];
  // While a save runs the fields take no change (text fields read-only,
  // which keeps the focus; lists disabled): the page is drawn again from
  // what was saved, and a change made meanwhile would be lost.
  const typed = Object.values(f).filter((x) => x.tagName !== 'SELECT' && !x.readOnly);
  const lists = Object.values(f).filter((x) => x.tagName === 'SELECT');
  const busy = (on) => {
    [...buttons, ...lists].forEach((b) => { b.disabled = on; });
    typed.forEach((x) => { x.readOnly = on; });
  };

  async function save(ev) {
    ev.preventDefault();
    clear(alertBox);
    if (!f.question.value.trim() || !f.answer.value.trim()) {
      showAlert(alertBox, 'error', '标准问题和答案不能为空。(The question and the answer are required.)');
      return;
    }
    const caret = caretOf(document.activeElement); // before the buttons are disabled: Save may have it
    busy(true);
    try {
      let resp;
      if (id) {
        // base_status: a save is refused if someone archived the article since.
        resp = await api('PUT', '/kb/articles/' + encodeURIComponent(id),
          { ...body(), base_version: base, base_status: data.head.status }, { quiet: true });
      } else if (from) {
        resp = await api('POST', '/kb/unanswered/' + encodeURIComponent(from) + '/article', body(), { quiet: true });
      } else {
        resp = await api('POST', '/kb/articles', body(), { quiet: true });
      }
      notify(resp.message || '已保存 (saved)', 'ok'); // "unchanged" too: it fades, as news that needs nothing done
      dirty = false;
      if (id) {
        await rerender();
        caret(); // typing goes on where it was
      } else {
        location.hash = articleHref(resp.version.id);
      }
    } catch (e) {
      saveFailed(alertBox, e, rerender, !id);
    } finally {
      busy(false);
    }
  }

  async function setStatus(action) {
    if (dirty) {
      showAlert(alertBox, 'warn', '有未保存的修改：请先保存，再' + (action === 'publish' ? '发布。' : '归档。') +
        ' (Save your changes first.)');
      return;
    }
    if (action === 'archive' && data.head.published_version &&
      !window.confirm('归档后机器人立即不再用这篇文章回答，确定归档吗？(The bot stops answering with it at once. Archive?)')) {
      return;
    }
    const caret = caretOf(document.activeElement);
    busy(true);
    try {
      // The version shown is the one published or archived: a draft saved
      // since by someone else is refused (409), and the page reloads.
      const resp = await api('POST', '/kb/' + action, asSeen([data.head]));
      notify(resp.warning || (action === 'publish'
        ? '已发布：机器人将使用版本 ' + base + ' 作答 (published: the bot answers with version ' + base + ')'
        : '已归档：机器人不再使用此文章 (archived: the bot no longer answers with it)'), resp.warning ? 'info' : 'ok');
      await rerender();
      caret(); // a button now disabled (Publish, once published) cannot take it back
    } catch (e) {
      // shown by api; a newer version is loaded to be looked at
      if (e.code === 'conflict') await rerender();
    } finally {
      busy(false);
    }
  }

  const saveBtn = el('button', { type: 'submit', class: 'btn btn-primary', id: 'btn-save', title: 'Ctrl+S' }, '保存 Save');
  buttons.push(saveBtn);
  let actions = [saveBtn];
  if (id) {
    const head = data.head;
    const publishBtn = el('button', { type: 'button', class: 'btn', id: 'btn-publish', onclick: () => setStatus('publish'),
      disabled: head.status === 'published' && !head.pending }, '发布 Publish');
    const archiveBtn = el('button', { type: 'button', class: 'btn btn-danger', id: 'btn-archive', onclick: () => setStatus('archive'),
      disabled: head.status === 'archived' }, '归档 Archive');
    buttons.push(publishBtn, archiveBtn);
    actions = [saveBtn, publishBtn, archiveBtn];
  }
  form.addEventListener('submit', save);

  clear(form,
    el('div', { class: 'editor-main card' },
      field('标准问题 Standard question', f.question),
      field('相似问题 Similar questions', f.similar, '每行一个：用户可能的其他问法 (one per line)'),
      field('答案 Answer', f.answer, '纯文本，可包含链接 (plain text; links allowed)'),
      field('英文答案 English answer', f.answer_en, '可选：海外用户用英文提问时使用 (optional, for users who ask in English)')),
    // The settings come before the note and the buttons in the page, so
    // that Tab goes through every field before Save, Publish and Archive;
    // the style sheet shows the buttons' card first.
    el('div', { class: 'editor-side' },
      el('div', { class: 'card editor-settings' },
        field('ID', f.id, id ? '创建后不可修改 (fixed once created)' : '字母、数字、- _ . ；留空则由标准问题生成'),
        field('标题 Title', f.title, '给编辑看的简短名称 (a short name for editors)'),
        field('分类 Category', f.category),
        field('标签 Tags', f.tags, '用逗号分隔 (comma-separated)'),
        field('类型 Kind', f.kind, 'boundary：服务范围外的问题，回答去哪里办理；out of scope：不该回答的问题示例，机器人学会拒答类似问题（从不作为答案发送）'),
        field('转人工队列 Handoff lane', f.handoff, '可选：匹配后先回答，再转入该队列 (optional)'),
        field('自助流程 Flow', f.flow, '可选：回答后提供办理，用户回复“办理”即开始，如 bill_export（kefu flows list）'),
        categories, lanes, flows),
      el('div', { class: 'card editor-actions' },
        field('修改说明 Note', f.note, '记录在版本历史中 (kept in the history)'),
        el('div', { class: 'actions' }, actions, dirtyBadge))));

  clear(view,
    el('p', { class: 'crumbs' }, el('a', { href: '#/' }, '← 文章列表 (articles)')),
    el('div', { class: 'editor-head' },
      el('h2', { id: 'editor-title' }, id ? (a.title || a.question) : '新建文章 New article'),
      id ? headInfo(id, data) : (from ? el('p', { class: 'muted' }, '来自未答问题 (from the unanswered queue)') : null)),
    alertBox,
    form);
  // A message above the form, or a title that wraps anew, moves the
  // column; the main column's height bounds it. (One watch at a time: the
  // editor draws itself again into the same view.)
  sideWatch?.disconnect();
  sideWatch = new ResizeObserver(() => (form.isConnected ? fitSide() : sideWatch?.disconnect()));
  for (const node of [...view.children, form.querySelector('.editor-main')]) if (node !== form) sideWatch.observe(node);
}

// Ctrl+S (⌘S) saves the article on screen, wherever the focus is, as in
// any editor, instead of saving the web page.
window.addEventListener('keydown', (ev) => {
  const form = document.getElementById('article-form');
  if (!form || !(ev.ctrlKey || ev.metaKey) || ev.altKey || ev.key.toLowerCase() !== 's') return;
  ev.preventDefault();
  const saveBtn = document.getElementById('btn-save');
  if (saveBtn && !saveBtn.disabled) form.requestSubmit(saveBtn);
});

// The side column stays in view with its own scroll (kb.css). Its top is
// lower at the page's top than once it sticks, so its height follows its
// top: its end, and the last field, are always inside the window. It
// grows no taller than the main column, or than at the page's top, so
// that its growth never lengthens the page it scrolls.
const SIDE_STICKS_AT = 64; // kb.css: .editor-side { top }
function fitSide() {
  const side = document.querySelector('.editor-side');
  const main = document.querySelector('.editor-main');
  if (!side || !main) return;
  const gridTop = side.parentElement.getBoundingClientRect().top; // where the column starts, scrolled
  const fits = (top) => window.innerHeight - top - 16;
  const most = Math.max(main.offsetHeight, fits(gridTop + window.scrollY));
  const height = Math.min(fits(Math.max(gridTop, SIDE_STICKS_AT)), most);
  side.style.setProperty('--side-max', Math.max(200, height) + 'px');
}
let sideWatch = null; // the ResizeObserver of the editor on screen
window.addEventListener('scroll', fitSide, { passive: true });
window.addEventListener('resize', fitSide);

/** caretOf returns what puts the focus and the caret back where they are in node, once the page is drawn again. */
function caretOf(node) {
  const fid = node?.id;
  const [start, end] = [node?.selectionStart, node?.selectionEnd];
  return () => {
    const again = fid && document.getElementById(fid);
    if (!again) return;
    again.focus({ preventScroll: true });
    if (typeof start === 'number' && typeof again.setSelectionRange === 'function') again.setSelectionRange(start, end);
  };
}

/** headInfo shows an article's state and links to its history and the test console. */
function headInfo(id, data) {
  const h = data.head;
  return el('div', { class: 'head-info', id: 'editor-state' },
    statusBadge(h.status), ' ', pendingBadge(h.pending),
    el('span', { class: 'muted' },
      ` 当前版本 v${h.version}` + (h.published_version ? ` · 已发布 v${h.published_version}` : h.status === 'archived' ? '' : ' · 尚未发布') +
      ` · ${h.updated_by} 于 ${fmtTime(h.updated_at)} 保存` +
      // Who last published or archived it: an article not live now was last archived.
      (h.status_by ? ` · ${h.status_by} 于 ${fmtTime(h.status_at)}${h.published_version ? '发布' : '归档'}` : '')),
    el('a', { href: articleHref(id) + '/history', class: 'btn btn-small', id: 'link-history' }, '历史 History'),
    el('a', { href: '#/test?q=' + encodeURIComponent(data.draft.article.question) + '&against=draft', class: 'btn btn-small' }, '测试 Test'));
}

/**
 * saveFailed shows why a save failed; a conflict offers to load the latest
 * version, or, for a new article whose ID exists, to open that article.
 */
function saveFailed(box, e, reload, isNew) {
  const existing = e.body && e.body.current && e.body.current.id;
  if (e.status === 409 && isNew && existing) {
    showAlert(box, 'error', e.message,
      el('div', {}, el('a', { class: 'btn btn-small', id: 'btn-open-existing', href: articleHref(existing) },
        '打开已有的文章 (open the existing article)')));
    return;
  }
  if (e.status === 409) {
    showAlert(box, 'error', e.message,
      el('div', {}, el('button', { type: 'button', class: 'btn btn-small', id: 'btn-reload', onclick: () => reload() },
        '载入最新版本（你的修改将丢失，请先复制）(load the latest; copy your edits first)')));
    return;
  }
  showAlert(box, 'error', e.message);
}

/** showAlert puts an inline message in box. */
export function showAlert(box, kind, msg, ...extra) {
  clear(box, el('div', { class: 'alert alert-' + kind, role: 'alert' }, el('div', { class: 'alert-text' }, msg), extra));
}

function lines(s) {
  return s.split('\n').map((x) => x.trim()).filter(Boolean);
}
