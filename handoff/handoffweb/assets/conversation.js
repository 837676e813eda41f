// conversation.js: the open ticket of the agent panel — its header, the
// full transcript (user, bot, agent, note and system messages styled
// apart; replies not delivered say why), the user's earlier tickets, the
// reply quota shown before typing, canned replies from the knowledge base
// (searched, then inserted into the reply box for the agent to edit and
// send), and the forms to reply, add an internal note, transfer (to a lane
// or an agent of the directory), release, claim and close.
//
// Everything the user (or anyone) wrote goes into the page as text; the
// case numbers in system lines (what a self-service flow collected) link
// to that case on the cases page.

import { api, notify } from '/panel/assets/api.js';
import { clear, el, fmtTime } from '/panel/assets/dom.js';
import { RESOLUTIONS, debounce, fromLabel, hhmm, quotaText, slaBadge, statusLabel } from './util.js';

const UNDELIVERED = {
  window_closed: '48 小时窗口已关闭 (window closed)',
  quota_exhausted: '本窗口条数已用完 (quota used up)',
  maybe_delivered: '微信未应答，可能已送达 (WeChat did not answer: maybe delivered)',
  wechat_error: '微信拒绝发送 (WeChat refused)',
  not_configured: '未配置微信接口 (WeChat API not configured)',
};

/** Conversation shows one ticket in its container and keeps the forms' text across reloads. */
export class Conversation {
  /**
   * ctx: account (the caller), lanes() (the caller's lanes, for transfer),
   * changed() (called after an action changed the ticket, to reload the lists).
   */
  constructor(container, ctx) {
    this.box = container;
    this.ctx = ctx;
    this.id = '';
    this.ticket = null;
    this.seq = 0;
    this.build();
    this.placeholder();
  }

  /** build makes the view's parts once; the text typed in the forms survives every reload. */
  build() {
    const n = this.n = {};
    n.head = el('div', { id: 'conv-head', class: 'conv-head' });
    n.transcript = el('ol', { id: 'transcript', class: 'transcript' });
    n.earlier = el('div', { id: 'earlier', class: 'earlier' });
    n.quota = el('p', { id: 'quota', class: 'quota' });
    n.replyText = el('textarea', { id: 'reply-text', rows: 3, maxlength: 2000, placeholder: '回复用户… (reply to the user; Ctrl+Enter sends)',
      onkeydown: (e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); this.reply(); } } });
    n.replyResult = el('p', { id: 'reply-result', class: 'reply-result', role: 'status' });
    n.replySend = el('button', { type: 'submit', class: 'btn btn-primary', id: 'reply-send' }, '发送 Send');
    n.cannedQuery = el('input', { id: 'canned-q', type: 'search', class: 'canned-q', maxlength: 100,
      placeholder: '搜索知识库… (search the knowledge base)', oninput: debounce(() => this.searchCanned(), 250),
      onfocus: () => { if (!this.cannedLoaded) this.searchCanned(); },
      onkeydown: (e) => { if (e.key === 'Enter') { e.preventDefault(); this.searchCanned(); } } });
    n.cannedList = el('ul', { id: 'canned-list', class: 'canned-list' });
    n.canned = el('details', { id: 'canned', class: 'canned' },
      el('summary', {}, '快捷回复 Canned replies'), n.cannedQuery, n.cannedList);
    n.reply = el('form', { id: 'reply-form', class: 'conv-form', onsubmit: (e) => { e.preventDefault(); this.reply(); } },
      n.quota, n.canned, n.replyText, el('div', { class: 'form-row' }, n.replySend, n.replyResult));
    n.noteText = el('textarea', { id: 'note-text', rows: 2, maxlength: 2000, placeholder: '内部备注，用户看不到 (internal note; users never see it)' });
    n.note = el('form', { id: 'note-form', class: 'conv-form note-form', onsubmit: (e) => { e.preventDefault(); this.addNote(); } },
      n.noteText, el('div', { class: 'form-row' }, el('button', { type: 'submit', class: 'btn', id: 'note-send' }, '添加备注 Add note')));
    n.transferLane = el('select', { id: 'transfer-lane' });
    n.transferAgent = el('select', { id: 'transfer-agent' });
    n.resolution = el('select', { id: 'close-resolution' }, RESOLUTIONS.map(([v, label]) => el('option', { value: v }, label)));
    n.actions = el('div', { id: 'conv-actions', class: 'conv-actions' },
      el('span', { class: 'action-group' },
        el('span', { class: 'field-label' }, '转接 Transfer'), n.transferLane, n.transferAgent,
        el('button', { type: 'button', class: 'btn', id: 'transfer-send', onclick: () => this.transfer() }, '转接')),
      el('span', { class: 'action-group' },
        el('button', { type: 'button', class: 'btn', id: 'release', onclick: () => this.act('release', undefined, '已放回队列 (released)') }, '放回队列 Release')),
      el('span', { class: 'action-group' },
        el('span', { class: 'field-label' }, '结束 Close'), n.resolution,
        el('button', { type: 'button', class: 'btn btn-danger', id: 'close-send', onclick: () => this.close() }, '结束会话')));
    n.work = el('div', { id: 'conv-work', class: 'conv-work' }, n.reply, n.note, n.actions);
    n.card = el('div', { class: 'card conv-card' }, n.head,
      el('div', { class: 'conv-body' }, n.transcript, n.earlier), n.work);
  }

  placeholder(msg) {
    this.box.dataset.id = '';
    clear(this.box, el('div', { class: 'card conv-empty', id: 'conv-empty' },
      el('p', { class: 'muted' }, msg || '选择左侧的会话，或点击“接下一个”。(Pick a ticket, or claim the next one.)')));
  }

  /** show opens ticket id ('' closes the view). */
  async show(id) {
    if (id !== this.id) {
      this.n.replyText.value = '';
      this.n.noteText.value = '';
      this.n.replyResult.textContent = '';
      this.n.transferAgent.value = '';
      this.loadDirectory();
    }
    this.id = id;
    this.ticket = null;
    if (!id) {
      this.placeholder();
      return;
    }
    clear(this.box, el('p', { class: 'muted' }, '加载中… (loading)'));
    await this.reload();
  }

  /** reload fetches the open ticket again and redraws it; answers that arrive late are dropped. */
  async reload() {
    if (!this.id) return;
    const id = this.id;
    const seq = ++this.seq;
    let t;
    try {
      t = await api('GET', '/tickets/' + encodeURIComponent(id), undefined, { quiet: true });
    } catch (e) {
      if (seq !== this.seq || id !== this.id) return;
      this.ticket = null;
      this.placeholder((e.status === 403 || e.status === 404 ? '这个会话已不在你的队列中。' : '') + e.message);
      return;
    }
    if (seq !== this.seq || id !== this.id) return;
    this.ticket = t;
    this.draw(t);
  }

  draw(t) {
    const n = this.n;
    const mine = t.agent_id === this.ctx.account.id;
    const admin = this.ctx.account.role === 'admin';
    this.box.dataset.id = t.id;
    this.box.dataset.status = t.status;
    clear(n.head,
      el('div', { class: 'conv-title' },
        el('h2', { id: 'conv-ticket' }, t.id),
        el('span', { class: 'status status-' + t.status, id: 'conv-status' }, statusLabel(t.status)),
        t.status === 'queued' ? slaBadge(t) : null,
        t.status === 'queued' ? el('button', { type: 'button', class: 'btn btn-primary btn-small', id: 'conv-claim',
          onclick: () => this.act('claim', undefined, '已认领 (claimed)') }, '认领 Claim') : null),
      el('div', { class: 'hint' },
        '用户 ', el('span', { class: 'mono', id: 'conv-openid' }, t.open_id),
        ' · 队列 ', t.lane, ' · 原因 ', (t.reasons && t.reasons.length ? t.reasons.join(', ') : t.reason || '—'),
        t.position ? ' · 排第 ' + t.position + ' 位' : '',
        t.agent_id ? ' · 客服 ' + (mine ? '我' : t.agent_id) : '',
        t.split_from ? [' · 拆分自 ', el('a', { href: '#/ticket/' + encodeURIComponent(t.split_from), class: 'mono', id: 'conv-split-from' }, t.split_from)] : '',
        ' · 创建于 ', fmtTime(t.created_at)));
    const stick = n.transcript.scrollHeight - n.transcript.scrollTop - n.transcript.clientHeight < 40;
    // Each merge's audit line (its system line in the transcript) gets its undo button, for whoever may work the ticket.
    const canWork = t.status === 'queued' || (t.status === 'assigned' && (mine || admin));
    const merges = new Map((t.merges || []).map((m) => [m.line, m]));
    clear(n.transcript, (t.messages || []).map((m, i) => {
      const item = msgItem(m);
      const mg = merges.get(i);
      if (mg) item.append(this.mergeAudit(mg, canWork));
      return item;
    }));
    if (!(t.messages || []).length) n.transcript.append(el('li', { class: 'muted' }, '（没有消息）'));
    clear(n.earlier, el('h3', {}, '历史工单 Earlier tickets'),
      (t.earlier || []).length ? el('ul', { class: 'earlier-list' }, t.earlier.map((e) => el('li', {},
        el('a', { href: '#/ticket/' + encodeURIComponent(e.id), class: 'mono' }, e.id), ' ',
        el('span', { class: 'hint' }, statusLabel(e.status), ' · ', e.reason || '', ' · ', fmtTime(e.created_at))))) :
        el('p', { class: 'hint' }, '这是该用户的第一个工单 (none)'));
    this.drawQuota(t.quota);
    // The forms: replies belong to the agent holding the ticket (or an admin).
    const canReply = t.status === 'assigned' && (mine || admin);
    n.reply.hidden = !canReply;
    n.note.hidden = t.status === 'closed';
    n.actions.hidden = t.status === 'closed';
    n.actions.querySelector('#release').hidden = t.status !== 'assigned';
    const lanes = this.ctx.lanes();
    const chosen = n.transferLane.value;
    clear(n.transferLane, el('option', { value: '' }, '转到队列… (to lane)'),
      lanes.filter((l) => l.name !== t.lane).map((l) => el('option', { value: l.name }, l.title || l.name)));
    n.transferLane.value = chosen;
    this.drawDirectory();
    if (n.card.parentNode !== this.box) clear(this.box, n.card);
    if (stick || !this.drawn || this.drawn !== t.id) n.transcript.scrollTop = n.transcript.scrollHeight;
    this.drawn = t.id;
  }

  /** mergeAudit is what a merge's audit line shows: its undo button, or who undid it and where its part went. */
  mergeAudit(m, canWork) {
    if (m.undone_at) {
      return el('div', { class: 'merge-audit hint', dataset: { merge: m.n } }, '已撤销 (undone) → ',
        el('a', { href: '#/ticket/' + encodeURIComponent(m.split_to), class: 'mono' }, m.split_to));
    }
    if (!canWork) return el('span', { hidden: true });
    return el('div', { class: 'merge-audit', dataset: { merge: m.n } },
      el('button', { type: 'button', class: 'btn btn-small merge-undo', title: '把这次合并拆成单独的工单 (split this merge back out into its own ticket)',
        onclick: () => this.undoMerge(m) }, '撤销合并 Undo merge'));
  }

  /** undoMerge splits merge m back out of the open ticket. */
  async undoMerge(m) {
    if (!this.id) return;
    try {
      const r = await api('POST', '/tickets/' + encodeURIComponent(this.id) + '/merges/' + m.n + '/undo');
      notify('已拆分为工单 ' + r.split.id + ' (split out)', 'ok');
    } catch {
      // api showed why
    }
    this.ctx.changed();
    await this.reload();
  }

  /** loadDirectory fetches the agents a ticket may go to (quietly: the lane dropdown still works without). */
  async loadDirectory() {
    try {
      this.directory = (await api('GET', '/agents/directory', undefined, { quiet: true })) || [];
    } catch {
      this.directory = [];
    }
    this.drawDirectory();
  }

  /** drawDirectory fills the agent dropdown: online agents first, each with a dot for its presence. */
  drawDirectory() {
    const sel = this.n.transferAgent;
    const chosen = sel.value;
    const me = this.ctx.account.id;
    const holder = this.ticket ? this.ticket.agent_id : '';
    const agents = (this.directory || []).filter((a) => a.id !== holder)
      .sort((a, b) => Number(b.online) - Number(a.online) || a.name.localeCompare(b.name, 'zh-CN'));
    clear(sel, el('option', { value: '' }, '或转给客服… (or to an agent)'),
      agents.map((a) => el('option', { value: a.id, dataset: { online: a.online ? '1' : '' },
        title: (a.online ? '在线 online' : '离线 offline') + (a.lanes.length ? ' · ' + a.lanes.join(', ') : '') },
      (a.online ? '● ' : '○ ') + a.name + (a.id === me ? '（我）' : ''))));
    sel.value = agents.some((a) => a.id === chosen) ? chosen : '';
  }

  /** searchCanned lists the knowledge-base articles matching the search box; late answers are dropped. */
  async searchCanned() {
    const n = this.n;
    const q = n.cannedQuery.value.trim();
    const seq = this.cannedSeq = (this.cannedSeq || 0) + 1;
    let found;
    try {
      found = (await api('GET', '/canned?q=' + encodeURIComponent(q), undefined, { quiet: true })) || [];
    } catch (e) {
      if (seq === this.cannedSeq) clear(n.cannedList, el('li', { class: 'hint' }, e.message));
      return;
    }
    if (seq !== this.cannedSeq) return;
    this.cannedLoaded = true;
    clear(n.cannedList, found.length ? found.map((a) => el('li', { class: 'canned-item', dataset: { id: a.article_id } },
      el('div', { class: 'canned-head' },
        el('strong', {}, a.title || a.question),
        el('button', { type: 'button', class: 'btn btn-small canned-use', onclick: () => this.insert(a.answer) }, '插入 Insert'),
        a.answer_en ? el('button', { type: 'button', class: 'btn btn-small canned-use-en', onclick: () => this.insert(a.answer_en) }, 'EN') : null),
      el('div', { class: 'hint canned-q-text' }, a.question),
      el('div', { class: 'canned-answer pre' }, a.answer))) :
      el('li', { class: 'hint', id: 'canned-none' }, '没有匹配的文章 (no matching article)'));
  }

  /** insert puts text into the reply box at the cursor (replacing the selection); the agent edits and sends it. */
  insert(text) {
    const box = this.n.replyText;
    const start = box.selectionStart ?? box.value.length;
    const end = box.selectionEnd ?? box.value.length;
    box.setRangeText(text, start, end, 'end');
    box.focus();
  }

  drawQuota(q) {
    const n = this.n;
    n.quota.textContent = quotaText(q);
    n.quota.className = 'quota' + (q && (q.reason !== 'open' || q.remaining <= 0) ? ' quota-none' : '');
    n.quota.dataset.remaining = q ? q.remaining : '';
  }

  /** reply sends the reply box to the user and says whether it arrived. */
  async reply() {
    const n = this.n;
    const text = n.replyText.value.trim();
    if (!text || !this.id) return;
    n.replySend.disabled = true;
    try {
      const r = await api('POST', '/tickets/' + encodeURIComponent(this.id) + '/messages', { text }, { quiet: true });
      n.replyText.value = '';
      this.result('已送达 delivered', 'ok');
      if (r && r.quota) this.drawQuota(r.quota);
    } catch (e) {
      const b = e.body && typeof e.body === 'object' ? e.body : {};
      if (b.quota) this.drawQuota(b.quota);
      const why = UNDELIVERED[e.code] || '';
      this.result((b.message ? '未送达 not delivered：' : '发送失败：') + e.message + (why && !e.message.includes(why) ? '（' + why + '）' : ''), 'error');
    } finally {
      n.replySend.disabled = false;
    }
    await this.reload();
  }

  result(text, kind) {
    this.n.replyResult.textContent = text;
    this.n.replyResult.className = 'reply-result result-' + kind;
    this.n.replyResult.dataset.kind = kind;
  }

  async addNote() {
    const text = this.n.noteText.value.trim();
    if (!text || !this.id) return;
    try {
      await api('POST', '/tickets/' + encodeURIComponent(this.id) + '/notes', { text });
      this.n.noteText.value = '';
    } catch {
      return; // api showed why
    }
    await this.reload();
  }

  async transfer() {
    const lane = this.n.transferLane.value;
    const agent = this.n.transferAgent.value;
    if (!lane && !agent) {
      notify('请选择队列或客服 (pick a lane or an agent)', 'error');
      return;
    }
    await this.act('transfer', lane ? { lane } : { agent_id: agent }, '已转接 (transferred)');
  }

  async close() {
    await this.act('close', { resolution: this.n.resolution.value }, '会话已结束 (closed)');
  }

  /** act posts action on the open ticket, then reloads it and the lists. */
  async act(action, body, done) {
    if (!this.id) return;
    try {
      await api('POST', '/tickets/' + encodeURIComponent(this.id) + '/' + action, body);
      notify(done, 'ok');
    } catch {
      // api showed why
    }
    this.ctx.changed();
    await this.reload();
  }
}

/** msgItem is one message of the transcript. */
function msgItem(m) {
  const undelivered = m.from === 'agent' && m.delivery && m.delivery !== 'delivered';
  let text = m.text;
  if (!text) text = m.media ? '[' + (m.kind || '媒体') + '] ' + m.media : m.kind ? '[' + m.kind + ']' : '';
  return el('li', { class: 'msg msg-' + m.from + (undelivered ? ' msg-undelivered' : ''), dataset: { from: m.from, delivery: m.delivery || '' } },
    el('div', { class: 'msg-meta' },
      el('span', { class: 'msg-from' }, fromLabel(m.from)),
      ' ', el('span', { class: 'hint', title: fmtTime(m.at) }, hhmm(m.at)),
      undelivered ? el('span', { class: 'msg-delivery' },
        m.delivery === 'maybe_delivered' ? ' 可能已送达 maybe delivered' : ' 未送达 not delivered',
        m.delivery_error ? '：' + (UNDELIVERED[m.delivery_error] || m.delivery_error) : '') : null),
    el('div', { class: 'msg-text pre' }, m.from === 'system' ? caseLinks(text) : text));
}

// CASE_ID matches a case number (cases.NewID: KF, the date, four letters of an unambiguous alphabet).
const CASE_ID = /KF\d{8}-[2-9A-HJ-NP-Z]{4}/g;

/**
 * caseLinks splits a system line into text and links to the cases page for
 * each case number in it (案件号：KF…), so the agent opens the case in one
 * click. Everything stays text nodes; the links' text is the number.
 */
function caseLinks(text) {
  const parts = [];
  let last = 0;
  for (const m of text.matchAll(CASE_ID)) {
    if (m.index > last) parts.push(text.slice(last, m.index));
    parts.push(el('a', { href: '/panel/cases#/case/' + encodeURIComponent(m[0]), class: 'mono case-link', dataset: { case: m[0] } }, m[0]));
    last = m.index + m[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return parts;
}
