#!/usr/bin/env node
// driver.js: talks to a running kefu webhook as the WeChat platform would
// (WECHAT.md §7), following transcript files (format: README.md).
//
//   node driver.js [--config cfg.json] transcript.txt...
//
// Config (JSON file, each field overridable by an environment variable):
//   url           KEFU_E2E_URL            webhook URL, e.g. http://127.0.0.1:8080/wechat
//   token         KEFU_E2E_TOKEN          the Token set in the WeChat console
//   aesKey        KEFU_E2E_AES_KEY        the 43-character EncodingAESKey (aes mode)
//   appid         KEFU_E2E_APPID          the AppID (aes mode: inside every ciphertext)
//   gh            KEFU_E2E_GH             the account's original id, gh_…
//   mode          KEFU_E2E_MODE           plain | aes
//   sentURL       KEFU_E2E_SENT_URL       the fake WeChat API's /_sent endpoint
//                                         (needed by "< 客服消息包含:" lines)
//   openidSuffix  KEFU_E2E_OPENID_SUFFIX  appended to every transcript openid
//   timeoutMs     KEFU_E2E_TIMEOUT_MS     per-attempt client timeout (5000, as WeChat)
//   attempts      KEFU_E2E_ATTEMPTS       identical attempts on timeout (4, as WeChat)
//   kfWaitMs      KEFU_E2E_KF_WAIT_MS     how long to wait for a customer-service message (5000)
//
// Prints one JSON line per step on stdout. On the first failed expectation
// it prints "FAIL file:line: …" on stderr and exits 1 (2 for a bad
// config or transcript).
'use strict';

process.noDeprecation = true; // wechat-crypto 0.0.2 uses new Buffer() (DEP0005)

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const WXBizMsgCrypt = require('wechat-crypto');

class Failure extends Error {}
class Usage extends Error {}

// ---------- configuration ----------

function loadConfig(argv) {
  let cfg = {};
  const files = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--config') {
      const f = argv[++i];
      if (!f) throw new Usage('--config needs a file');
      cfg = JSON.parse(fs.readFileSync(f, 'utf8'));
    } else if (argv[i] === '-h' || argv[i] === '--help') {
      throw new Usage('usage: node driver.js [--config cfg.json] transcript.txt...');
    } else {
      files.push(argv[i]);
    }
  }
  const env = {
    url: 'KEFU_E2E_URL', token: 'KEFU_E2E_TOKEN', aesKey: 'KEFU_E2E_AES_KEY', appid: 'KEFU_E2E_APPID',
    gh: 'KEFU_E2E_GH', mode: 'KEFU_E2E_MODE', sentURL: 'KEFU_E2E_SENT_URL',
    openidSuffix: 'KEFU_E2E_OPENID_SUFFIX', timeoutMs: 'KEFU_E2E_TIMEOUT_MS',
    attempts: 'KEFU_E2E_ATTEMPTS', kfWaitMs: 'KEFU_E2E_KF_WAIT_MS',
  };
  for (const [k, v] of Object.entries(env)) {
    if (process.env[v]) cfg[k] = process.env[v];
  }
  if (files.length === 0) throw new Usage('no transcript given');
  return { cfg: normalize(cfg), files };
}

// normalize fills in the defaults, checks the config and prepares the
// crypto for aes mode.
function normalize(cfg) {
  cfg = { ...cfg };
  cfg.mode = cfg.mode || 'plain';
  cfg.gh = cfg.gh || 'gh_e2e00000001';
  cfg.openidSuffix = cfg.openidSuffix || '';
  cfg.timeoutMs = Number(cfg.timeoutMs || 5000);
  cfg.attempts = Number(cfg.attempts || 4);
  cfg.kfWaitMs = Number(cfg.kfWaitMs || 5000);
  if (!cfg.url) throw new Usage('config: url is required');
  if (!cfg.token) throw new Usage('config: token is required');
  if (cfg.mode !== 'plain' && cfg.mode !== 'aes') throw new Usage(`config: mode ${cfg.mode}: want plain or aes`);
  if (cfg.mode === 'aes') {
    if (!cfg.appid || !cfg.aesKey) throw new Usage('config: aes mode needs appid and aesKey');
    cfg.crypt = new WXBizMsgCrypt(cfg.token, cfg.aesKey, cfg.appid); // throws on a bad key
    cfg.key = Buffer.from(cfg.aesKey + '=', 'base64');
  }
  return cfg;
}

// ---------- transcript ----------

const EXPECT = [
  ['包含', 'contains'],
  ['不含', 'notContains'],
  ['等于', 'equals'],
  ['客服消息包含', 'kfContains'],
];

function parseTranscript(file) {
  const name = path.basename(file);
  const lines = fs.readFileSync(file, 'utf8').split(/\r?\n/);
  const steps = [];
  let openid = '';
  let last = null;
  lines.forEach((raw, i) => {
    const where = `${name}:${i + 1}`;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    let m;
    if ((m = /^user\s*[:：]\s*(\S+)$/.exec(line))) {
      openid = m[1];
      last = null;
    } else if (line.startsWith('>')) {
      if (!openid) throw new Usage(`${where}: a message before any "user:" line`);
      last = { where, line: i + 1, openid, send: parseSend(line.slice(1).trim(), where), expect: [] };
      steps.push(last);
    } else if (/^!\s*retry$/.test(line)) {
      const prev = steps.filter((s) => !s.retryOf).pop();
      if (!prev || prev.openid !== openid) throw new Usage(`${where}: "! retry" with no message before it`);
      last = { where, line: i + 1, openid, retryOf: prev, send: prev.send, expect: [] };
      steps.push(last);
    } else if (line.startsWith('<')) {
      if (!last) throw new Usage(`${where}: an expectation before any message`);
      const body = line.slice(1).trim();
      if (body === '无回复') {
        last.expect.push({ kind: 'none' });
      } else {
        const e = EXPECT.find(([word]) => new RegExp(`^${word}\\s*[:：]`).test(body));
        if (!e) throw new Usage(`${where}: unknown expectation "${body}" (包含: / 不含: / 等于: / 客服消息包含: / 无回复)`);
        const text = body.replace(/^[^:：]+[:：]\s*/, '');
        if (text === '') throw new Usage(`${where}: empty text in "${body}"`);
        last.expect.push({ kind: e[1], text });
      }
    } else {
      throw new Usage(`${where}: cannot read "${line}"`);
    }
  });
  return steps;
}

// parseSend turns what follows ">" into a message description.
function parseSend(s, where) {
  const m = /^\[([^\]]*)\]\s*(.*)$/.exec(s);
  if (!m) {
    if (s === '') throw new Usage(`${where}: empty text message`);
    return { type: 'text', content: s };
  }
  const [tag, ...args] = m[1].trim().split(/\s+/);
  const rest = m[2];
  switch (tag) {
    case 'voice':
      return { type: 'voice', recognition: rest === '' ? null : rest };
    case 'image':
    case 'video':
    case 'shortvideo':
      return { type: tag };
    case 'link':
      return { type: 'link', title: rest || '链接' };
    case 'location':
      return {
        type: 'location',
        lat: args[0] || '39.908823',
        lng: args[1] || '116.397470',
        label: args.slice(2).join(' ') || rest || '北京市东城区东长安街',
      };
    case 'event': {
      if (!args[0]) throw new Usage(`${where}: [event] needs a name, e.g. [event subscribe]`);
      return { type: 'event', event: args[0], key: args.slice(1).join(' ') };
    }
    default:
      throw new Usage(`${where}: unknown tag [${m[1]}] (voice, image, video, shortvideo, link, location, event …)`);
  }
}

// ---------- the platform's side ----------

const sha1 = (s) => crypto.createHash('sha1').update(s).digest('hex');
const signature = (token, ts, nonce) => sha1([token, ts, nonce].sort().join(''));
const digits = (n) => Array.from(crypto.randomBytes(n), (b) => String(b % 10)).join('').replace(/^0/, '1');
const cdata = (s) => `<![CDATA[${String(s).split(']]>').join(']]]]><![CDATA[>')}]]>`;
// MsgId: random 63 bits, so it fits the int64 WeChat SDKs parse it into.
const newMsgID = () => (crypto.randomBytes(8).readBigUInt64BE() >> 1n).toString();
const mediaID = () => crypto.randomBytes(24).toString('base64url');

function buildXML(cfg, openid, send, now) {
  const f = [
    `<ToUserName>${cdata(cfg.gh)}</ToUserName>`,
    `<FromUserName>${cdata(openid)}</FromUserName>`,
    `<CreateTime>${now}</CreateTime>`,
  ];
  const type = (t) => f.push(`<MsgType>${cdata(t)}</MsgType>`);
  let msgID = true;
  switch (send.type) {
    case 'text':
      type('text');
      f.push(`<Content>${cdata(send.content)}</Content>`);
      break;
    case 'voice':
      type('voice');
      f.push(`<MediaId>${cdata(mediaID())}</MediaId>`, `<Format>${cdata('amr')}</Format>`);
      if (send.recognition !== null) f.push(`<Recognition>${cdata(send.recognition)}</Recognition>`);
      break;
    case 'image':
      type('image');
      f.push(`<PicUrl>${cdata('http://mmbiz.qpic.cn/mmbiz_jpg/e2e/0')}</PicUrl>`, `<MediaId>${cdata(mediaID())}</MediaId>`);
      break;
    case 'video':
    case 'shortvideo':
      type(send.type);
      f.push(`<MediaId>${cdata(mediaID())}</MediaId>`, `<ThumbMediaId>${cdata(mediaID())}</ThumbMediaId>`);
      break;
    case 'link':
      type('link');
      f.push(`<Title>${cdata(send.title)}</Title>`, `<Description>${cdata('')}</Description>`, `<Url>${cdata('https://example.com/e2e')}</Url>`);
      break;
    case 'location':
      type('location');
      f.push(`<Location_X>${send.lat}</Location_X>`, `<Location_Y>${send.lng}</Location_Y>`, `<Scale>15</Scale>`, `<Label>${cdata(send.label)}</Label>`);
      break;
    case 'event':
      type('event');
      f.push(`<Event>${cdata(send.event)}</Event>`);
      if (send.event === 'subscribe' || send.key !== '') f.push(`<EventKey>${cdata(send.key)}</EventKey>`);
      msgID = false; // events carry no MsgId
      break;
  }
  if (msgID) f.push(`<MsgId>${newMsgID()}</MsgId>`);
  return `<xml>${f.join('')}</xml>`;
}

// buildRequest signs (and in aes mode encrypts) one delivery; a retry
// reuses the returned request unchanged.
function buildRequest(cfg, openid, send) {
  const ts = String(Math.floor(Date.now() / 1000));
  const nonce = digits(10);
  const xml = buildXML(cfg, openid, send, ts);
  const q = new URLSearchParams({ signature: signature(cfg.token, ts, nonce), timestamp: ts, nonce, openid });
  let body = xml;
  if (cfg.mode === 'aes') {
    const enc = cfg.crypt.encrypt(xml);
    q.set('encrypt_type', 'aes');
    q.set('msg_signature', cfg.crypt.getSignature(ts, nonce, enc));
    body = `<xml><ToUserName>${cdata(cfg.gh)}</ToUserName><Encrypt>${cdata(enc)}</Encrypt></xml>`;
  }
  return { url: `${cfg.url}?${q}`, body, xml, nonce };
}

// deliver POSTs like the platform: a 5 s timeout, then the identical
// request again, up to cfg.attempts in all.
async function deliver(cfg, req, where) {
  const errors = [];
  for (let attempt = 1; attempt <= cfg.attempts; attempt++) {
    let resp;
    try {
      resp = await fetch(req.url, {
        method: 'POST',
        headers: { 'Content-Type': 'text/xml; charset=utf-8' },
        body: req.body,
        signal: AbortSignal.timeout(cfg.timeoutMs),
      });
      const text = await resp.text();
      if (resp.status !== 200) {
        throw new Failure(`${where}: HTTP ${resp.status}: ${text.slice(0, 300)}`);
      }
      return { text, attempt };
    } catch (err) {
      if (err instanceof Failure) throw err;
      errors.push(`attempt ${attempt}: ${err.name === 'TimeoutError' ? `no answer within ${cfg.timeoutMs} ms` : err.cause?.code || err.message}`);
    }
  }
  throw new Failure(`${where}: no valid answer after ${cfg.attempts} attempts (${errors.join('; ')}); the user would see 该公众号暂时无法提供服务`);
}

// ---------- reading replies ----------

// parseXML reads the small XML documents of the protocol: elements,
// text, CDATA, the five entities and numeric references; no attributes
// of interest.
function parseXML(src) {
  let i = 0;
  const fail = (msg) => { throw new Failure(`malformed XML (${msg} at ${i}): ${src.slice(0, 200)}`); };
  const ws = () => { while (i < src.length && /\s/.test(src[i])) i++; };
  const decode = (s) => s.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (_, e) => ({
    lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }[e] ?? String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10))));
  function element() {
    const m = /^<([A-Za-z_][\w.-]*)[^>]*?(\/?)>/.exec(src.slice(i));
    if (!m) fail('expected an element');
    i += m[0].length;
    const node = { name: m[1], text: '', children: [] };
    if (m[2] === '/') return node;
    for (;;) {
      if (i >= src.length) fail(`unclosed <${node.name}>`);
      if (src.startsWith('<![CDATA[', i)) {
        const end = src.indexOf(']]>', i);
        if (end < 0) fail('unclosed CDATA');
        node.text += src.slice(i + 9, end);
        i = end + 3;
      } else if (src.startsWith('</', i)) {
        const close = `</${node.name}>`;
        if (!src.startsWith(close, i)) fail(`expected ${close}`);
        i += close.length;
        return node;
      } else if (src[i] === '<') {
        node.children.push(element());
      } else {
        const end = src.indexOf('<', i);
        node.text += decode(src.slice(i, end < 0 ? src.length : end));
        i = end < 0 ? src.length : end;
      }
    }
  }
  ws();
  if (src.startsWith('<?xml', i)) i = src.indexOf('?>', i) + 2;
  ws();
  const root = element();
  ws();
  if (i !== src.length) fail('trailing data');
  return root;
}

function fields(node) {
  const out = {};
  for (const c of node.children) out[c.name] = c.children.length ? c : c.text;
  return out;
}

// checkPadding checks what wechat-crypto does not: the padding.
function checkPadding(cfg, enc) {
  const d = crypto.createDecipheriv('aes-256-cbc', cfg.key, cfg.key.subarray(0, 16));
  d.setAutoPadding(false);
  const plain = Buffer.concat([d.update(enc, 'base64'), d.final()]);
  const pad = plain[plain.length - 1];
  if (plain.length % 32 !== 0 || pad < 1 || pad > 32 || !plain.subarray(plain.length - pad).every((b) => b === pad)) {
    throw new Failure(`reply ciphertext has bad padding (${pad}); WeChat pads to a multiple of 32`);
  }
}

// readReply checks a webhook answer and returns the reply, or null for
// "no reply".
function readReply(cfg, text, openid) {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed === 'success') return null;
  let xml = trimmed;
  const outer = parseXML(trimmed);
  if (outer.name !== 'xml') throw new Failure(`reply root is <${outer.name}>, want <xml>`);
  const of = fields(outer);
  if (cfg.mode === 'aes') {
    for (const k of ['Encrypt', 'MsgSignature', 'TimeStamp', 'Nonce']) {
      if (!of[k]) throw new Failure(`aes mode: the reply has no <${k}>: ${trimmed.slice(0, 300)}`);
    }
    if (!/^\d{10}$/.test(of.TimeStamp)) throw new Failure(`aes reply TimeStamp ${of.TimeStamp}: want 10 digits (seconds)`);
    const want = cfg.crypt.getSignature(of.TimeStamp, of.Nonce, of.Encrypt);
    if (of.MsgSignature !== want) throw new Failure(`aes reply MsgSignature ${of.MsgSignature}, want ${want}`);
    checkPadding(cfg, of.Encrypt);
    const { message, id } = cfg.crypt.decrypt(of.Encrypt);
    if (id !== cfg.appid) throw new Failure(`aes reply was encrypted for appid "${id}", want "${cfg.appid}"`);
    xml = message;
  } else if (of.Encrypt) {
    throw new Failure('plain mode: the reply is encrypted');
  }
  const msg = parseXML(xml);
  if (msg.name !== 'xml') throw new Failure(`reply root is <${msg.name}>, want <xml>`);
  const f = fields(msg);
  if (f.ToUserName !== openid) throw new Failure(`reply ToUserName "${f.ToUserName}", want the user "${openid}"`);
  if (f.FromUserName !== cfg.gh) throw new Failure(`reply FromUserName "${f.FromUserName}", want the account "${cfg.gh}"`);
  if (!/^\d{10}$/.test(String(f.CreateTime))) throw new Failure(`reply CreateTime "${f.CreateTime}": want 10 digits (seconds)`);
  if (!f.MsgType) throw new Failure('reply has no MsgType');
  if (f.MsgType === 'text' && !f.Content) throw new Failure('text reply with empty Content (answer "success" instead)');
  return { msgType: f.MsgType, content: f.MsgType === 'text' ? f.Content : '', xml };
}

// ---------- customer-service messages at the fake API ----------

async function sentTo(cfg, openid, after, waitMs) {
  const q = new URLSearchParams({ openid, after: String(after) });
  if (waitMs > 0) q.set('wait', `${waitMs}ms`);
  const resp = await fetch(`${cfg.sentURL}?${q}`, { signal: AbortSignal.timeout(waitMs + 5000) });
  if (resp.status !== 200) throw new Failure(`${cfg.sentURL}: HTTP ${resp.status}`);
  return resp.json();
}

async function waitKF(cfg, openid, before, text, where) {
  const deadline = Date.now() + cfg.kfWaitMs;
  let seen = before;
  for (;;) {
    const left = deadline - Date.now();
    const msgs = await sentTo(cfg, openid, seen, Math.max(left, 0));
    const fresh = msgs.slice(before);
    const hit = fresh.find((m) => m.text.includes(text));
    if (hit) return fresh.map((m) => m.text);
    if (left <= 0 || msgs.length <= seen) {
      throw new Failure(`${where}: no customer-service message to ${openid} containing "${text}" within ${cfg.kfWaitMs} ms; got ${JSON.stringify(fresh.map((m) => m.text))}`);
    }
    seen = msgs.length;
  }
}

// ---------- checks ----------

function check(step, reply) {
  const got = reply ? reply.content : null;
  const show = got === null ? '(no reply)' : JSON.stringify(got);
  const what = step.send.type === 'text' ? JSON.stringify(step.send.content) : `[${step.send.type}${step.send.event ? ' ' + step.send.event : ''}]`;
  for (const e of step.expect) {
    const fail = (want) => { throw new Failure(`${step.where}: reply to ${what} ${want}; got ${show}`); };
    switch (e.kind) {
      case 'none':
        if (got !== null) fail('should be no reply');
        break;
      case 'contains':
        if (got === null || !got.includes(e.text)) fail(`should contain ${JSON.stringify(e.text)}`);
        break;
      case 'notContains':
        if (got !== null && got.includes(e.text)) fail(`should not contain ${JSON.stringify(e.text)}`);
        break;
      case 'equals':
        if (got !== e.text) fail(`should be ${JSON.stringify(e.text)}`);
        break;
    }
  }
  if (step.retryOf) {
    const before = step.retryOf.reply ? step.retryOf.reply.content : null;
    if (before !== got) {
      throw new Failure(`${step.where}: the retried delivery got ${show}, the first one ${before === null ? '(no reply)' : JSON.stringify(before)}; a retry must get the same answer`);
    }
  }
}

async function verifyURL(cfg, file) {
  const ts = String(Math.floor(Date.now() / 1000));
  const nonce = digits(10);
  const echostr = digits(19);
  const good = new URLSearchParams({ signature: signature(cfg.token, ts, nonce), timestamp: ts, nonce, echostr });
  let resp = await fetch(`${cfg.url}?${good}`, { signal: AbortSignal.timeout(cfg.timeoutMs) });
  let body = await resp.text();
  if (resp.status !== 200 || body !== echostr) {
    throw new Failure(`${file}: URL verification: HTTP ${resp.status} ${JSON.stringify(body.slice(0, 100))}, want 200 and exactly the echostr ${echostr}`);
  }
  const bad = new URLSearchParams(good);
  bad.set('signature', sha1('forged'));
  resp = await fetch(`${cfg.url}?${bad}`, { signal: AbortSignal.timeout(cfg.timeoutMs) });
  body = await resp.text();
  if (resp.status < 400 || resp.status > 499 || body.includes(echostr)) {
    throw new Failure(`${file}: URL verification with a forged signature: HTTP ${resp.status} ${JSON.stringify(body.slice(0, 100))}, want 401/403 without the echostr`);
  }
  out({ file, check: 'url_verification', ok: true });

  // A forged POST must be refused and processed as nothing.
  const req = buildRequest(cfg, 'o_e2e_forger', { type: 'text', content: '伪造的消息' });
  const forged = new URL(req.url);
  forged.searchParams.set(cfg.mode === 'aes' ? 'msg_signature' : 'signature', sha1('forged'));
  resp = await fetch(forged, { method: 'POST', headers: { 'Content-Type': 'text/xml' }, body: req.body, signal: AbortSignal.timeout(cfg.timeoutMs) });
  await resp.text();
  if (resp.status < 400 || resp.status > 499) {
    throw new Failure(`${file}: POST with a forged ${cfg.mode === 'aes' ? 'msg_signature' : 'signature'}: HTTP ${resp.status}, want 401/403`);
  }
  out({ file, check: 'forged_post', ok: true, status: resp.status });
}

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

async function runFile(cfg, file) {
  const steps = parseTranscript(file);
  const name = path.basename(file);
  await verifyURL(cfg, name);
  for (const step of steps) {
    const openid = step.openid + cfg.openidSuffix;
    const wantKF = step.expect.filter((e) => e.kind === 'kfContains');
    if (wantKF.length && !cfg.sentURL) throw new Usage(`${step.where}: "客服消息包含" needs sentURL in the config`);
    const before = wantKF.length ? (await sentTo(cfg, openid, 0, 0)).length : 0;

    step.req = step.retryOf ? step.retryOf.req : buildRequest(cfg, openid, step.send);
    const started = Date.now();
    const { text, attempt } = await deliver(cfg, step.req, step.where);
    const ms = Date.now() - started;
    let reply;
    try {
      reply = readReply(cfg, text, openid);
    } catch (err) {
      if (err instanceof Failure) err.message = `${step.where}: ${err.message}`;
      throw err;
    }
    step.reply = reply;
    check(step, reply);
    const line = {
      file: name, line: step.line, mode: cfg.mode, openid,
      send: step.send.type === 'text' ? step.send.content : step.send,
      retry: step.retryOf ? true : undefined,
      reply: reply ? reply.content : null,
      msg_type: reply ? reply.msgType : undefined,
      attempts: attempt, ms,
    };
    for (const e of wantKF) {
      line.kf = await waitKF(cfg, openid, before, e.text, step.where);
    }
    out(line);
  }
}

async function main() {
  const { cfg, files } = loadConfig(process.argv.slice(2));
  for (const f of files) {
    parseTranscript(f); // refuse a bad transcript before sending anything
  }
  for (const f of files) {
    await runFile(cfg, f);
  }
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err) => {
      if (err instanceof Failure) {
        process.stderr.write(`FAIL ${err.message}\n`);
        process.exit(1);
      }
      process.stderr.write(`driver: ${err instanceof Usage ? err.message : err.stack || err}\n`);
      process.exit(2);
    },
  );
}

// For driver.test.js.
module.exports = { Failure, Usage, normalize, signature, cdata, buildXML, buildRequest, parseXML, fields, parseTranscript, readReply, checkPadding, check };
