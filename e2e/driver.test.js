// Unit tests of driver.js against the official vectors in WECHAT.md §1 and §3.
// Run: node --test (in e2e/); e2e_test.go runs them too.
'use strict';

process.noDeprecation = true;

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const d = require('./driver.js');

test('signature: official URL verification and plain POST examples (§1)', () => {
  assert.equal(d.signature('AAAAA', '1714036504', '1514711492'), 'f464b24fc39322e44b38aa78f5edd27bd1441696');
  assert.equal(d.signature('AAAAA', '1714037059', '486452656'), '899cf89e464efb63f54ddac96b0a0a235f53aa78');
  assert.equal(d.signature('spamtest', '1409735669', '1320562132'), '16120ec1b8dbb870f510d87ce6bc2463eae6ca1a');
});

const vectorA = d.normalize({
  url: 'http://unused', token: 'AAAAA', aesKey: 'A'.repeat(43), appid: 'wxba5fad812f8e6fb9', mode: 'aes',
});

test('vector A: msg_signature, decryption and the reply (§3 A)', () => {
  const enc = '+qdx1OKCy+5JPCBFWw70tm0fJGb2Jmeia4FCB7kao+/Q5c/ohsOzQHi8khUOb05JCpj0JB4RvQMkUyus8TPxLKJGQqcvZqzDpVzazhZv6JsXUnnR8XGT740XgXZUXQ7vJVnAG+tE8NUd4yFyjPy7GgiaviNrlCTj+l5kdfMuFUPpRSrfMZuMcp3Fn2Pede2IuQrKEYwKSqFIZoNqJ4M8EajAsjLY2km32IIjdf8YL/P50F7mStwntrA2cPDrM1kb6mOcfBgRtWygb3VIYnSeOBrebufAlr7F9mFUPAJGj04=';
  assert.equal(vectorA.crypt.getSignature('1714112445', '415670741', enc), '046e02f8204d34f8ba5fa3b1db94908f3df2e9b3');
  const { message, id } = vectorA.crypt.decrypt(enc);
  assert.equal(id, 'wxba5fad812f8e6fb9');
  assert.equal(JSON.parse(message).debug_str, 'hello world');
  d.checkPadding(vectorA, enc);

  const reply = 'ELGduP2YcVatjqIS+eZbp80MNLoAUWvzzyJxgGzxZO/5sAvd070Bs6qrLARC9nVHm48Y4hyRbtzve1L32tmxSQ==';
  assert.equal(vectorA.crypt.getSignature('1713424427', '415670741', reply), '1b9339964ed2e271e7c7b6ff2b0ef902fc94dea1');
  d.checkPadding(vectorA, reply);
  assert.equal(vectorA.crypt.decrypt(reply).message, '{"demo_resp":"good luck"}');
});

test('vector B: the official XML text message parses (§3 B)', () => {
  const cfg = d.normalize({
    url: 'http://unused', token: 'spamtest', aesKey: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG', appid: 'wx2c2769f8efd9abc2', mode: 'aes',
  });
  const enc = 'hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE=';
  assert.equal(cfg.crypt.getSignature('1409735669', '1320562132', enc), '5d197aaffba7e9b25a30732f161a50dee96bd5fa');
  const { message, id } = cfg.crypt.decrypt(enc);
  assert.equal(id, 'wx2c2769f8efd9abc2');
  const f = d.fields(d.parseXML(message));
  assert.equal(f.ToUserName, 'gh_10f6c3c3ac5a');
  assert.equal(f.FromUserName, 'oyORnuP8q7ou2gfYjqLzSIWZf0rs');
  assert.equal(f.Content, 'abcdteT');
  assert.equal(f.MsgId, '6054768590064713728');
});

const replyXML = (to, from, content) =>
  `<xml><ToUserName>${d.cdata(to)}</ToUserName><FromUserName>${d.cdata(from)}</FromUserName><CreateTime>1714112445</CreateTime><MsgType><![CDATA[text]]></MsgType><Content>${d.cdata(content)}</Content></xml>`;

function encrypted(cfg, xml, { ts = '1714112445', nonce = '415670741' } = {}) {
  const enc = cfg.crypt.encrypt(xml);
  return `<xml><Encrypt>${d.cdata(enc)}</Encrypt><MsgSignature>${d.cdata(cfg.crypt.getSignature(ts, nonce, enc))}</MsgSignature><TimeStamp>${ts}</TimeStamp><Nonce>${d.cdata(nonce)}</Nonce></xml>`;
}

test('readReply: aes round trip and its checks', () => {
  const cfg = { ...vectorA, gh: 'gh_97417a04a28d' };
  const text = '人工客服请在公众号菜单进入 ]]> <&>';
  const got = d.readReply(cfg, encrypted(cfg, replyXML('o_user', cfg.gh, text)), 'o_user');
  assert.equal(got.content, text);
  assert.equal(got.msgType, 'text');

  assert.equal(d.readReply(cfg, 'success', 'o_user'), null);
  assert.equal(d.readReply(cfg, '', 'o_user'), null);
  assert.throws(() => d.readReply(cfg, replyXML('o_user', cfg.gh, 'x'), 'o_user'), /no <Encrypt>/);
  assert.throws(() => d.readReply(cfg, encrypted(cfg, replyXML('o_other', cfg.gh, 'x')), 'o_user'), /ToUserName/);
  assert.throws(() => d.readReply(cfg, encrypted(cfg, replyXML('o_user', cfg.gh, 'x'), { ts: '1714112445000' }), 'o_user'), /10 digits/);
  const forged = encrypted(cfg, replyXML('o_user', cfg.gh, 'x')).replace(/<MsgSignature>.*<\/MsgSignature>/, '<MsgSignature>0</MsgSignature>');
  assert.throws(() => d.readReply(cfg, forged, 'o_user'), /MsgSignature/);
  const other = { ...d.normalize({ url: 'u', token: 'AAAAA', aesKey: 'A'.repeat(43), appid: 'wxother', mode: 'aes' }), gh: cfg.gh };
  assert.throws(() => d.readReply(cfg, encrypted(other, replyXML('o_user', cfg.gh, 'x')), 'o_user'), /appid "wxother"/);
});

test('readReply: plain mode', () => {
  const cfg = d.normalize({ url: 'u', token: 't', gh: 'gh_1' });
  assert.equal(d.readReply(cfg, replyXML('o', 'gh_1', '你好 &amp;'), 'o').content, '你好 &amp;');
  assert.equal(d.readReply(cfg, '<xml><ToUserName>o</ToUserName><FromUserName>gh_1</FromUserName><CreateTime>1714112445</CreateTime><MsgType>text</MsgType><Content>a &lt;b&gt; &#20320;</Content></xml>', 'o').content, 'a <b> 你');
  assert.throws(() => d.readReply(cfg, replyXML('o', 'gh_1', ''), 'o'), /empty Content/);
  assert.throws(() => d.readReply(cfg, '{"reply":"json"}', 'o'), /malformed XML/);
});

test('buildRequest: signed like the platform, events without MsgId', () => {
  const cfg = { ...vectorA, gh: 'gh_97417a04a28d' };
  const req = d.buildRequest(cfg, 'o_user', { type: 'text', content: 'a]]>b' });
  const q = new URL(req.url).searchParams;
  assert.equal(q.get('signature'), d.signature('AAAAA', q.get('timestamp'), q.get('nonce')));
  assert.equal(q.get('encrypt_type'), 'aes');
  assert.match(q.get('timestamp'), /^\d{10}$/);
  const enc = d.fields(d.parseXML(req.body)).Encrypt;
  assert.equal(q.get('msg_signature'), cfg.crypt.getSignature(q.get('timestamp'), q.get('nonce'), enc));
  const f = d.fields(d.parseXML(cfg.crypt.decrypt(enc).message));
  assert.equal(f.Content, 'a]]>b');
  assert.equal(f.FromUserName, 'o_user');
  assert.match(f.MsgId, /^\d+$/);
  assert.ok(BigInt(f.MsgId) < 2n ** 63n);

  const ev = d.fields(d.parseXML(d.buildXML(cfg, 'o', { type: 'event', event: 'subscribe', key: '' }, '1')));
  assert.equal(ev.Event, 'subscribe');
  assert.equal(ev.EventKey, '');
  assert.equal(ev.MsgId, undefined);
  const voice = d.fields(d.parseXML(d.buildXML(cfg, 'o', { type: 'voice', recognition: null }, '1')));
  assert.equal(voice.Recognition, undefined);
  assert.equal(voice.Format, 'amr');
});

test('parseTranscript: the shipped transcripts', () => {
  for (const f of ['faq.txt', 'handoff.txt']) {
    const steps = d.parseTranscript(path.join(__dirname, 'testdata', f));
    assert.ok(steps.length >= 2, f);
    for (const s of steps) assert.ok(s.expect.length > 0, `${f}:${s.line} has no expectation`);
  }
  const faq = d.parseTranscript(path.join(__dirname, 'testdata', 'faq.txt'));
  const retry = faq.find((s) => s.retryOf);
  assert.equal(retry.send.type, 'voice');
});
