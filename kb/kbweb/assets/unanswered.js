// unanswered.js: the unanswered queue. Questions the bot failed or handed
// off, grouped, most asked first; each group can become a similar question
// of an article (of an out_of_scope one: the bot learns to refuse questions
// like it), start a new article, or be dismissed.

import { api, notify } from '/panel/assets/api.js';
import { clear, el, fmtScore, fmtTime } from '/panel/assets/dom.js';
import { KIND, articleHref } from './labels.js';

/** unansweredView renders the queue. */
export async function unansweredView(view) {
  const groups = await api('GET', '/kb/unanswered');
  let articles = null; // loaded when a picker first opens
  const list = el('div', { id: 'ua-list' });
  const doneBox = el('div', { id: 'ua-done' });
  const count = el('p', { class: 'muted', id: 'ua-count' });
  const recount = () => {
    const n = list.querySelectorAll('.ua-group').length;
    count.textContent = n ? `共 ${n} 组问题，最常问的在前 (${n} group(s), most asked first)` : '';
    if (!n) clear(list, el('div', { class: 'card muted', id: 'ua-empty' }, '暂无未答问题。(Nothing unanswered.)'));
  };

  for (const g of groups) {
    const card = el('section', { class: 'card ua-group', dataset: { id: g.id } });
    const picker = el('div', { class: 'ua-picker hidden' });
    const done = (msg, ...extra) => {
      card.remove();
      notify(msg, 'ok');
      recount();
      if (extra.length) doneBox.prepend(el('div', { class: 'alert alert-ok' }, msg, ' ', extra));
    };

    const openPicker = async () => {
      if (!picker.classList.contains('hidden')) {
        picker.classList.add('hidden');
        return;
      }
      articles ??= (await api('GET', '/kb/articles')).filter((a) => a.status !== 'archived');
      // Nothing is chosen for the editor: the closest article scored below
      // the threshold, and one click must not add the question to it.
      const select = el('select', { class: 'ua-article', 'aria-label': '加到文章 Article' },
        el('option', { value: '' }, '选择文章… (choose an article)'),
        articles.map((a) => el('option', { value: a.id },
          (a.title || a.question) + ' — ' + a.id + (a.kind === 'out_of_scope' ? '（' + KIND.out_of_scope + '）' : ''))));
      const filter = el('input', { type: 'search', class: 'ua-filter', placeholder: '筛选文章 (filter)', 'aria-label': '筛选文章 (filter the articles)' });
      filter.addEventListener('input', () => {
        const q = filter.value.trim().toLowerCase();
        for (const o of select.options) o.hidden = !!o.value && !!q && !o.textContent.toLowerCase().includes(q);
      });
      const text = el('input', { class: 'ua-text', value: g.text, 'aria-label': '相似问题 Similar question' });
      const add = el('button', { type: 'submit', class: 'btn btn-primary btn-small ua-add' }, '添加 Add');
      const addIt = async (ev) => {
        ev.preventDefault();
        if (!select.value) {
          notify('请选择文章 (choose an article)', 'error');
          return;
        }
        add.disabled = true;
        try {
          const resp = await api('POST', '/kb/unanswered/' + encodeURIComponent(g.id) + '/resolve',
            { article_id: select.value, text: text.value.trim() });
          done(`已把“${text.value.trim()}”加为相似问题（版本 ${resp.version.version}）。${resp.message}`,
            el('a', { href: articleHref(select.value) }, '打开文章并发布 (open and publish)'));
        } catch {
          add.disabled = false;
        }
      };
      clear(picker, el('form', { onsubmit: addIt },
        el('label', { class: 'field' }, el('span', { class: 'field-label' }, '加到文章 Article'), filter, select),
        el('label', { class: 'field' }, el('span', { class: 'field-label' }, '相似问题 Similar question'), text),
        el('div', { class: 'actions' }, add,
          el('button', { type: 'button', class: 'btn btn-small', onclick: () => picker.classList.add('hidden') }, '取消 Cancel'))));
      picker.classList.remove('hidden');
    };

    const dismiss = async (ev) => {
      ev.target.disabled = true;
      try {
        await api('POST', '/kb/unanswered/' + encodeURIComponent(g.id) + '/dismiss');
        done(`已忽略“${g.text}” (dismissed)`);
      } catch {
        ev.target.disabled = false;
      }
    };

    const more = g.distinct - g.samples.length;
    clear(card,
      el('div', { class: 'ua-head' },
        el('strong', { class: 'ua-text-main' }, g.text),
        el('span', { class: 'badge badge-pending' }, `${g.count} 次`),
        g.failed ? el('span', { class: 'badge badge-draft' }, `未答 ${g.failed}`) : null,
        g.handoff ? el('span', { class: 'badge badge-urgent' }, `转人工 ${g.handoff}`) : null),
      el('div', { class: 'muted' }, `首次 first ${fmtTime(g.first_seen)} · 最近 last ${fmtTime(g.last_seen)}`),
      g.samples.length > 1 || more > 0 ? el('ul', { class: 'ua-samples' },
        g.samples.map((s) => el('li', {}, s)),
        more > 0 ? el('li', { class: 'muted' }, `另有 ${more} 种问法 (${more} more)`) : null) : null,
      g.candidate ? el('div', { class: 'muted' }, '最接近的文章 Closest: ',
        el('a', { href: articleHref(g.candidate.article_id) }, g.candidate.title || g.candidate.article_id),
        `（得分 ${fmtScore(g.candidate.score)}，未达阈值）`) : null,
      el('div', { class: 'actions' },
        el('button', { type: 'button', class: 'btn btn-small ua-resolve', onclick: openPicker }, '加为相似问题… Add to article'),
        el('a', { class: 'btn btn-small ua-new', href: '#/new?' + new URLSearchParams({ from: g.id, question: g.text }) }, '新建文章 New article'),
        el('button', { type: 'button', class: 'btn btn-small btn-danger ua-dismiss', onclick: dismiss }, '忽略 Dismiss')),
      picker);
    list.append(card);
  }
  clear(view,
    el('h2', {}, '未答问题 Unanswered questions'),
    el('p', { class: 'muted' }, '机器人没能回答或转了人工的问题，按相似度分组。把它们加到文章里，知识库就会越来越好。'),
    count, doneBox, list);
  recount();
}
