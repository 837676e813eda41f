// util.js: labels and time formatting of the agent panel.

import { el } from '/panel/assets/dom.js';

/** RESOLUTIONS are the close codes the API takes, with their labels. */
export const RESOLUTIONS = [
  ['resolved', '已解决 resolved'],
  ['duplicate', '重复 duplicate'],
  ['no_response', '用户无回应 no response'],
  ['spam', '垃圾信息 spam'],
  ['other', '其他 other'],
];

const FROM = { user: '用户', bot: '机器人', agent: '客服', note: '内部备注', system: '系统' };

/** fromLabel names who wrote a transcript message. */
export function fromLabel(from) {
  return FROM[from] || from;
}

const STATUS = { queued: '排队中', assigned: '处理中', closed: '已关闭' };

/** statusLabel names a ticket status. */
export function statusLabel(s) {
  return STATUS[s] ? STATUS[s] + ' ' + s : s;
}

/** hhmm formats a time as 24-hour HH:MM, '—' for none or the zero time. */
export function hhmm(s) {
  if (!s || String(s).startsWith('0001-')) return '—';
  const d = new Date(s);
  if (isNaN(d)) return '—';
  return d.toLocaleTimeString('zh-CN', { hour12: false, hour: '2-digit', minute: '2-digit' });
}

/** clock formats a time as HH:MM when it is today, else M/D HH:MM. */
export function clock(s) {
  const d = new Date(s);
  if (!s || String(s).startsWith('0001-') || isNaN(d)) return '—';
  const today = new Date().toDateString() === d.toDateString();
  return (today ? '' : (d.getMonth() + 1) + '/' + d.getDate() + ' ') + hhmm(s);
}

/** duration formats seconds as m:ss or h:mm:ss. */
export function duration(secs) {
  secs = Math.max(0, Math.floor(secs));
  const h = Math.floor(secs / 3600);
  const m = Math.floor((secs % 3600) / 60);
  const s = String(secs % 60).padStart(2, '0');
  return h > 0 ? h + ':' + String(m).padStart(2, '0') + ':' + s : m + ':' + s;
}

/**
 * slaBadge is a countdown to the ticket's SLA deadline, kept live by
 * tickSLA: "剩 4:59" while there is time, "超时 1:02" in red after (or when
 * the API says the ticket breached).
 */
export function slaBadge(t) {
  const due = t.sla_due_at && !String(t.sla_due_at).startsWith('0001-') ? t.sla_due_at : '';
  const node = el('span', { class: 'sla', dataset: { due, breached: t.breached ? '1' : '' } });
  paintSLA(node, Date.now());
  return node;
}

function paintSLA(node, now) {
  const due = node.dataset.due ? Date.parse(node.dataset.due) : NaN;
  if (isNaN(due)) {
    node.textContent = node.dataset.breached ? '已超时 breached' : '';
    node.classList.toggle('sla-breached', !!node.dataset.breached);
    return;
  }
  const left = (due - now) / 1000;
  const breached = left < 0 || !!node.dataset.breached;
  node.textContent = left >= 0 ? '剩 ' + duration(left) : '超时 ' + duration(-left);
  node.title = 'SLA 截止 ' + clock(node.dataset.due);
  node.classList.toggle('sla-breached', breached);
  node.classList.toggle('sla-soon', !breached && left < 60);
}

/** tickSLA repaints every SLA countdown of the page. */
export function tickSLA() {
  const now = Date.now();
  for (const node of document.querySelectorAll('.sla')) paintSLA(node, now);
}

/**
 * quotaText says what the agent may still send: "剩余 3/5 条，窗口 14:20
 * 关闭", or why nothing can be sent.
 */
export function quotaText(q) {
  if (!q) return '';
  if (q.reason === 'closed') return '48 小时窗口已关闭：用户再发消息之前无法回复 (window closed)';
  if (q.reason === 'exhausted' || q.remaining <= 0) {
    return '本窗口的 ' + q.limit + ' 条已用完：用户再发消息之前无法回复 (quota used up)';
  }
  return '剩余 ' + q.remaining + '/' + q.limit + ' 条，窗口 ' + clock(q.window_closes_at) + ' 关闭';
}

/** debounce returns fn delayed until ms have passed without another call. */
export function debounce(fn, ms) {
  let timer = 0;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
