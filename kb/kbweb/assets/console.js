// console.js: the test console. A question goes to POST /kb/test against
// the published knowledge base (the live bot) or the drafts; it shows what
// the bot would do, the threshold, and the top matches with their scores.

import { api } from '/panel/assets/api.js';
import { clear, el, fmtScore } from '/panel/assets/dom.js';
import { articleHref, decisionBadge } from './labels.js';

/** consoleView renders the console; query may carry q (asked at once) and against. */
export async function consoleView(view, query) {
  const against = query.get('against') === 'draft' ? 'draft' : 'published';
  const question = el('textarea', { id: 'test-question', name: 'question', rows: 2, value: query.get('q') || '',
    placeholder: '输入用户可能会问的问题，例如：账号被冻结了怎么办 (type a question)' });
  const radio = (value, text) => el('label', { class: 'check' },
    el('input', { type: 'radio', name: 'against', value, id: 'test-against-' + value, checked: against === value }), text);
  const result = el('div', { id: 'test-result' });
  const run = async (ev) => {
    ev?.preventDefault();
    const q = question.value.trim();
    if (!q) return;
    const which = form.querySelector('input[name=against]:checked').value;
    // The question stays in the address: a reload, or Back from an
    // article, shows it again.
    history.replaceState(null, '', '#/test?' + new URLSearchParams({ q, against: which }));
    clear(result, el('p', { class: 'muted' }, '测试中… (testing)'));
    try {
      showResult(result, await api('POST', '/kb/test', { question: q, against: which }));
    } catch (e) {
      clear(result);
    }
  };
  const form = el('form', { id: 'test-form', class: 'card', onsubmit: run },
    el('label', { class: 'field' }, el('span', { class: 'field-label' }, '问题 Question'), question),
    el('div', { class: 'toolbar' },
      el('span', { class: 'field-label' }, '测试对象 Against:'),
      radio('published', '已发布（机器人当前的回答）published'),
      radio('draft', '草稿（所有未归档文章的最新版本）drafts'),
      el('span', { class: 'spacer' }),
      el('button', { type: 'submit', class: 'btn btn-primary', id: 'test-run' }, '测试 Test')));
  question.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) run(ev);
  });
  clear(view, el('h2', {}, '测试台 Test console'), form, result);
  if (question.value.trim()) await run();
}

function showResult(box, r) {
  const d = r.decision;
  const facts = [
    // An article with a handoff lane is answered, then the user queued:
    // not the urgent rules' "hand over at once".
    ['决定 Decision', decisionBadge(d.kind === 'urgent' && d.article_id && (d.rule || '').startsWith('kb:') ? 'answer_handoff' : d.kind)],
  ];
  // A score against the threshold means something only for a match in
  // the knowledge base; the urgent rules, flows and small talk have none.
  if (d.article_id) {
    facts.push(['得分 Score', el('span', { id: 'test-score' }, fmtScore(d.score))]);
  }
  facts.push(['阈值 Threshold', el('span', { id: 'test-threshold' }, fmtScore(r.threshold))]);
  if (d.article_id) facts.push(['文章 Article', el('a', { href: articleHref(d.article_id), id: 'test-article' }, d.title || d.article_id)]);
  if (d.lane) {
    facts.push(['队列 Lane', d.lane_unconfigured
      ? `${d.lane}（未配置，将转入默认队列 not configured: the default lane is used）`
      : (d.lane_title ? `${d.lane_title} ${d.lane}` : d.lane)]);
  }
  if (d.flow) {
    facts.push(['自助流程 Flow', d.kind === 'start_flow' ? `${d.flow}（立即开始 starts now）`
      : `${d.flow}（回答后提供办理：用户回复“办理”即开始 offered after the answer）`]);
  }
  if (d.rule) facts.push(['规则 Rule', el('span', { class: 'mono' }, d.rule)]);
  if (d.offer) facts.push(['先提供 Offer', d.offer]);
  clear(box,
    el('section', { class: 'card' },
      el('dl', { class: 'facts' }, facts.map(([k, v]) => [el('dt', {}, k), el('dd', {}, v)])),
      d.answer ? [el('h3', {}, d.kind === 'fallback' ? '最接近的答案（未达阈值，不会发送）' : '机器人的回答 The answer'),
        el('div', { class: 'answer pre', id: 'test-answer' }, d.answer)] : null),
    r.approximate ? el('p', { class: 'alert alert-warn', id: 'test-approximate' },
      '草稿刚有改动，分类器仍在后台训练：新改动的问题暂按相似度计分，几秒后再试可得最终得分。',
      '(The drafts changed moments ago and the classifier is still training: changed questions are scored by similarity for now; try again in a few seconds for the final scores.)') : null,
    el('h3', {}, '最佳匹配 Top matches'),
    r.matches.length ? el('div', { class: 'table-wrap' }, el('table', { class: 'table', id: 'test-matches' },
      el('thead', {}, el('tr', {}, el('th', {}, '#'), el('th', {}, '文章 Article'), el('th', {}, '匹配的问题 Matched question'),
        el('th', {}, '得分 Score'))),
      el('tbody', {}, r.matches.map((m, i) => el('tr', { class: m.score >= r.threshold ? 'above' : null, dataset: { article: m.article_id } },
        el('td', { class: 'num' }, i + 1),
        el('td', {}, el('a', { href: articleHref(m.article_id) }, m.title || m.article_id)),
        el('td', {}, m.question),
        el('td', { class: 'nowrap' }, el('meter', { min: 0, max: 1, low: r.threshold, optimum: 1, value: m.score }), ' ', fmtScore(m.score)))))))
      : el('p', { class: 'muted' }, '没有匹配的文章。(No match.)'));
}
