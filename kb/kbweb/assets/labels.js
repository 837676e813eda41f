// labels.js: how the editor names things for people (Chinese first) and
// the small badges that show an article's state.

import { el } from '/panel/assets/dom.js';

/** STATUS names an article's status. */
export const STATUS = { draft: '草稿 draft', published: '已发布 published', archived: '已归档 archived' };

/** KIND names an article's kind. */
export const KIND = { faq: '常见问题 FAQ', boundary: '服务边界 boundary', out_of_scope: '不予回答 out of scope' };

/** DECISION names what the bot would do with a question (POST /kb/test). */
export const DECISION = {
  answer: '回答 answer',
  boundary: '服务边界 boundary',
  urgent: '紧急转人工 urgent',
  answer_handoff: '回答后转人工 answer, then hand off',
  start_flow: '开始自助流程 start a flow',
  fallback: '未能回答 fail',
  user_request: '用户要求人工 user request',
  not_helpful: '用户说没用 not helpful',
  greeting: '问候 greeting',
  thanks: '致谢 thanks',
};

/** FIELD names an article's fields, as diffs and import reports show them. */
export const FIELD = {
  id: 'ID',
  title: '标题 title',
  question: '标准问题 question',
  similar: '相似问题 similar',
  answer: '答案 answer',
  answer_en: '英文答案 answer_en',
  category: '分类 category',
  tags: '标签 tags',
  kind: '类型 kind',
  status: '状态 status',
  handoff: '转人工队列 handoff',
  flow: '自助流程 flow',
};

/** label returns names[key], or key itself when it has no name. */
export function label(names, key) {
  return names[key] || key;
}

/** statusBadge shows a status. */
export function statusBadge(status) {
  return el('span', { class: 'badge badge-' + status, dataset: { status } }, label(STATUS, status));
}

/** pendingBadge shows that a draft newer than the published version waits, or nothing. */
export function pendingBadge(pending) {
  return pending ? el('span', { class: 'badge badge-pending', dataset: { pending: '1' } }, '待发布 pending') : null;
}

/** decisionBadge shows a test console decision. */
export function decisionBadge(kind) {
  const cls = { answer: 'badge-published', boundary: 'badge-info', urgent: 'badge-urgent', fallback: 'badge-pending',
    answer_handoff: 'badge-info' }[kind] || 'badge-draft';
  return el('span', { class: 'badge ' + cls, id: 'test-decision', dataset: { kind } }, label(DECISION, kind));
}

/** articleHref is the editor route of an article. */
export function articleHref(id) {
  return '#/article/' + encodeURIComponent(id);
}
