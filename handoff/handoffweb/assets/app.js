// app.js: the agent panel, one page.
//
//   left     the caller's lanes (waiting, breached, SLA), 接下一个 claim-next,
//            and 我的会话, the sessions assigned to the caller
//   middle   the queue of the chosen lane, each ticket with its SLA countdown
//   right    the open ticket's conversation (conversation.js), #/ticket/{id}
//
// The lists follow the SSE stream /api/v1/events: new tickets, claims,
// transfers and closes reload them, a new user message reloads the open
// conversation, and resync reloads everything. New work shows in the title
// ("(3) kefu 客服工作台") and, when switched on, as a short beep.
//
// It asks /api/v1/me who is signed in: agents and admins get the panel,
// anyone else a "no permission" message.

import { api, me, notify } from '/panel/assets/api.js';
import { clear, el, shell, signedIn } from '/panel/assets/dom.js';
import { Conversation } from './conversation.js';
import { hhmm, slaBadge, tickSLA } from './util.js';

const TITLE = 'kefu 客服工作台';
const AGENT_ROLES = ['agent', 'admin'];
const EVENT_TYPES = ['ticket_created', 'ticket_merged', 'merge_undone', 'message', 'claimed', 'released', 'transferred',
  'note', 'closed', 'breached', 'resync'];
const SOUND_KEY = 'kefu.agent.sound';

// S is the page's state.
const S = {
  account: null,
  lanes: [],
  lane: '',
  queue: [],
  mine: [],
  unread: new Set(), // tickets of mine with user messages not seen yet
  badge: 0,
  conv: null,
  live: null,
};

let nodes = {};

async function boot() {
  const account = await signedIn(AGENT_ROLES, '客服工作台 Agent panel', '接待用户 (serve tickets)');
  if (!account) return;
  S.account = account;
  const main = shell({ title: '客服工作台 Agent panel', account,
    nav: [{ href: '/panel/cases', id: 'nav-cases', label: '案件 Cases' },
      ...(account.role === 'admin' ? [{ href: '/panel/kb', id: 'nav-kb', label: '知识库 Knowledge base' }] : [])] });
  main.classList.add('agent-main');
  layout(main);
  S.conv = new Conversation(nodes.conv, {
    account,
    lanes: () => S.lanes,
    changed: () => refresh(),
  });
  window.addEventListener('hashchange', openFromHash);
  document.addEventListener('visibilitychange', () => { if (!document.hidden) setBadge(0); });
  document.addEventListener('pointerdown', () => { setBadge(0); audioContext(); });
  setInterval(tickSLA, 1000);
  await refresh();
  openFromHash();
  connectLive();
}

/** layout builds the three columns into main. */
function layout(main) {
  const sound = el('input', { type: 'checkbox', id: 'sound', checked: localStorage.getItem(SOUND_KEY) !== 'off',
    onchange: (e) => localStorage.setItem(SOUND_KEY, e.target.checked ? 'on' : 'off') });
  nodes = {
    lanes: el('ul', { id: 'lanes', class: 'lanes' }),
    claimMsg: el('p', { id: 'claim-msg', class: 'hint', role: 'status' }),
    mine: el('ul', { id: 'mine', class: 'tickets' }),
    mineCount: el('span', { id: 'mine-count', class: 'muted' }),
    queue: el('ul', { id: 'queue', class: 'tickets' }),
    queueTitle: el('span', { id: 'queue-title' }),
    live: el('span', { id: 'live-status', class: 'live live-connecting' }, '连接中 connecting'),
    conv: el('section', { id: 'conv', class: 'col col-conv' }),
  };
  clear(main, el('div', { class: 'agent-grid' },
    el('section', { class: 'col col-side' },
      el('div', { class: 'card' },
        el('div', { class: 'card-head' }, el('h2', {}, '队列 Lanes'), nodes.live),
        nodes.lanes,
        el('button', { type: 'button', class: 'btn btn-primary wide', id: 'claim-next', onclick: claimNext }, '接下一个 Claim next'),
        nodes.claimMsg,
        el('label', { class: 'check hint' }, sound, '新会话提示音 sound for new work')),
      el('div', { class: 'card' },
        el('div', { class: 'card-head' }, el('h2', {}, '我的会话 My sessions'), nodes.mineCount),
        nodes.mine)),
    el('section', { class: 'col col-queue' },
      el('div', { class: 'card' },
        el('div', { class: 'card-head' }, el('h2', {}, '排队 Queue'), nodes.queueTitle),
        nodes.queue)),
    nodes.conv));
}

let refreshing = null;
let again = false;

/** refresh reloads the lanes, the chosen lane's queue and my sessions; calls made while one runs coalesce into one more. */
async function refresh() {
  if (refreshing) {
    again = true;
    return refreshing;
  }
  refreshing = (async () => {
    do {
      again = false;
      try {
        await load();
      } catch (e) {
        console.warn('refresh', e);
      }
    } while (again);
  })();
  try {
    await refreshing;
  } finally {
    refreshing = null;
  }
}

async function load() {
  S.lanes = (await api('GET', '/lanes')) || [];
  if (!S.lanes.some((l) => l.name === S.lane)) S.lane = S.lanes.length ? S.lanes[0].name : '';
  const [queue, mine] = await Promise.all([
    S.lane ? api('GET', '/tickets?status=queued&lane=' + encodeURIComponent(S.lane)) : Promise.resolve([]),
    api('GET', '/tickets?status=assigned&mine=1'),
  ]);
  S.queue = queue || [];
  S.mine = mine || [];
  for (const id of [...S.unread]) if (!S.mine.some((t) => t.id === id)) S.unread.delete(id);
  render();
}

function laneTitle(l) {
  return l.title ? l.title + (l.title_en ? ' ' + l.title_en : '') : l.name;
}

function render() {
  clear(nodes.lanes, S.lanes.length ? S.lanes.map((l) => el('li', {
    class: 'lane' + (l.name === S.lane ? ' active' : '') + (l.breached ? ' lane-breached' : ''),
    dataset: { lane: l.name },
    onclick: () => { S.lane = l.name; refresh(); },
  },
  el('span', { class: 'lane-name' }, laneTitle(l)),
  el('span', { class: 'lane-counts' },
    el('span', { class: 'lane-waiting', title: '等待中 waiting' }, '等待 ', el('strong', {}, l.waiting)),
    l.breached ? el('span', { class: 'lane-breached-count', title: '已超时 breached' }, ' · 超时 ', el('strong', {}, l.breached)) : null),
  el('span', { class: 'lane-sla hint' }, 'SLA ' + (l.sla || l.sla_seconds + 's')))) :
    el('li', { class: 'muted' }, '你的账号还没有分配队列 (no lanes: ask an admin)'));
  const lane = S.lanes.find((l) => l.name === S.lane);
  nodes.queueTitle.textContent = lane ? laneTitle(lane) + ' · ' + S.queue.length : '';
  nodes.queue.dataset.lane = S.lane;
  clear(nodes.queue, S.queue.length ? S.queue.map((t) => ticketItem(t, true)) :
    el('li', { class: 'empty muted', id: 'queue-empty' }, '没有等待中的会话 (nobody waiting)'));
  nodes.mineCount.textContent = S.mine.length + (S.account.capacity ? ' / ' + S.account.capacity : '');
  clear(nodes.mine, S.mine.length ? S.mine.map((t) => ticketItem(t, false)) :
    el('li', { class: 'empty muted', id: 'mine-empty' }, '暂无进行中的会话 (none)'));
  markOpen();
}

/** ticketItem is one ticket of a list; queued ones have a claim button. */
function ticketItem(t, queued) {
  return el('li', {
    class: 'ticket' + (t.breached ? ' breached' : '') + (S.unread.has(t.id) ? ' unread' : ''),
    dataset: { id: t.id, status: t.status },
    onclick: () => { location.hash = '#/ticket/' + encodeURIComponent(t.id); },
  },
  el('div', { class: 'ticket-head' },
    el('strong', { class: 'ticket-id mono' }, t.id),
    slaBadge(t)),
  el('div', { class: 'ticket-meta hint' },
    el('span', { class: 'mono' }, shortID(t.open_id)),
    ' · ', t.reason || '',
    t.merged ? ' · 追加 ' + t.merged : '',
    ' · ', hhmm(t.created_at)),
  queued ? el('button', { type: 'button', class: 'btn btn-small claim', onclick: (e) => { e.stopPropagation(); claim(t.id); } }, '认领 Claim') : null,
  S.unread.has(t.id) ? el('span', { class: 'unread-dot', title: '新消息 new message' }, '新') : null);
}

function shortID(s) {
  return s && s.length > 14 ? s.slice(0, 6) + '…' + s.slice(-6) : s || '';
}

function markOpen() {
  for (const li of document.querySelectorAll('.ticket')) li.classList.toggle('open', li.dataset.id === S.conv?.id);
}

/** claim takes ticket id and opens it. */
async function claim(id) {
  try {
    const t = await api('POST', '/tickets/' + encodeURIComponent(id) + '/claim', undefined, { quiet: true });
    nodes.claimMsg.textContent = '';
    notify('已认领 ' + t.id + ' (claimed)', 'ok');
    open(t.id);
  } catch (e) {
    claimFailed(e);
  }
  refresh();
}

/** claimNext takes the first waiting ticket of the caller's lanes and opens it. */
async function claimNext() {
  try {
    const t = await api('POST', '/tickets/claim-next', undefined, { quiet: true });
    nodes.claimMsg.textContent = '';
    notify('已接入 ' + t.id + ' (claimed)', 'ok');
    open(t.id);
  } catch (e) {
    claimFailed(e);
  }
  refresh();
}

function claimFailed(e) {
  const msg = e.status === 404 && e.code === 'empty' ? '没有等待中的会话 (nobody is waiting)' : e.message;
  nodes.claimMsg.textContent = msg;
  nodes.claimMsg.dataset.code = e.code || '';
  notify(msg, e.status === 404 ? 'info' : 'error');
}

function open(id) {
  const h = '#/ticket/' + encodeURIComponent(id);
  if (location.hash === h) S.conv.show(id);
  else location.hash = h;
}

/** openFromHash shows the ticket #/ticket/{id} names, or nothing. */
function openFromHash() {
  const m = location.hash.match(/^#\/ticket\/([^/?]+)$/);
  const id = m ? decodeURIComponent(m[1]) : '';
  if (id) S.unread.delete(id);
  S.conv.show(id).finally(markOpen);
}

// ---------- live events ----------

function connectLive() {
  const es = new EventSource('/api/v1/events');
  S.live = es;
  let opened = false;
  es.addEventListener('open', () => {
    setLive('live', '实时 live');
    if (opened) refresh(); // a reconnect: the server says resync when it missed events
    opened = true;
  });
  es.addEventListener('error', () => {
    if (es.readyState === EventSource.CLOSED) {
      // Refused (signed out, or the server went away): try again later.
      setLive('closed', '已断开 offline');
      setTimeout(() => { me().then(() => connectLive()).catch(() => {}); }, 5000);
    } else {
      setLive('connecting', '重连中 reconnecting');
    }
  });
  for (const type of EVENT_TYPES) {
    es.addEventListener(type, (e) => {
      let ev;
      try {
        ev = JSON.parse(e.data);
      } catch {
        return;
      }
      onEvent(ev);
    });
  }
}

function setLive(kind, text) {
  nodes.live.className = 'live live-' + kind;
  nodes.live.textContent = text;
}

function onEvent(ev) {
  if (ev.type === 'resync') {
    refresh();
    S.conv.reload();
    return;
  }
  const isOpen = ev.ticket_id && ev.ticket_id === S.conv.id;
  if (isOpen) S.conv.reload();
  switch (ev.type) {
    case 'message':
    case 'note':
      if (ev.type === 'message' && ev.from === 'user' && S.mine.some((t) => t.id === ev.ticket_id)) {
        if (!isOpen) {
          S.unread.add(ev.ticket_id);
          render();
        }
        if (!isOpen || document.hidden) newWork();
      }
      return;
    case 'ticket_created':
      newWork();
      break;
    case 'transferred':
      if (ev.agent_id === S.account.id) newWork();
      break;
  }
  refresh();
}

// ---------- new work: title badge and beep ----------

function newWork() {
  setBadge(S.badge + 1);
  beep();
}

function setBadge(n) {
  S.badge = n;
  document.title = n > 0 ? '(' + n + ') ' + TITLE : TITLE;
}

let audio = null;

/** audioContext makes the WebAudio context on the first click (browsers allow sound only after one). */
function audioContext() {
  if (audio || !window.AudioContext) return;
  try {
    audio = new AudioContext();
  } catch {
    audio = null;
  }
}

/** beep plays a short tone, when the sound is on and the page was clicked once. */
function beep() {
  if (!audio || !document.getElementById('sound')?.checked) return;
  try {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.value = 0.05;
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.15);
  } catch {
    // no sound, no harm
  }
}

boot();
