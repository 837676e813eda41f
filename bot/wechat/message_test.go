package wechat

import (
	"bytes"
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/kefuhq/kefu/bot"
)

func mustRead(tb testing.TB, name string) []byte {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// diffInbound describes how got differs from want, or returns "".
func diffInbound(got, want bot.Inbound) string {
	var b strings.Builder
	check := func(field, g, w string) {
		if g != w {
			b.WriteString(field + ": got " + strconvQuote(g) + ", want " + strconvQuote(w) + "\n")
		}
	}
	check("OpenID", got.OpenID, want.OpenID)
	check("AccountID", got.AccountID, want.AccountID)
	check("Kind", string(got.Kind), string(want.Kind))
	check("MsgID", got.MsgID, want.MsgID)
	check("CreateTime", got.CreateTime.UTC().String(), want.CreateTime.UTC().String())
	check("Text", got.Text, want.Text)
	check("Event", got.Event, want.Event)
	check("EventKey", got.EventKey, want.EventKey)
	check("MediaID", got.MediaID, want.MediaID)
	check("URL", got.URL, want.URL)
	check("Title", got.Title, want.Title)
	check("Label", got.Label, want.Label)
	check("Latitude", got.Latitude, want.Latitude)
	check("Longitude", got.Longitude, want.Longitude)
	return b.String()
}

func strconvQuote(s string) string { return "\"" + s + "\"" }

func TestParseMessage(t *testing.T) {
	const (
		user = "oKefuTestUser0000000000000A"
		gh   = "gh_kefu00000001"
	)
	at := func(sec int64) time.Time { return time.Unix(sec, 0) }
	tests := []struct {
		name string
		file string
		want bot.Inbound
	}{
		{"Text", "text.xml", bot.Inbound{OpenID: user, AccountID: gh, Kind: bot.KindText, MsgID: "24542164416934421",
			CreateTime: at(1714036504), Text: "怎么联系人工客服？"}},
		{"TextFromArticleWithSplitCDATA", "text_article.xml", bot.Inbound{OpenID: user, AccountID: gh, Kind: bot.KindText,
			MsgID: "18446744073709551615", CreateTime: at(1714036505), Text: "文章里的问题 <b>&amp;</b> ]]>"}},
		{"TextEntities", "text_entities.xml", bot.Inbound{OpenID: user, AccountID: gh, Kind: bot.KindText, MsgID: "42",
			CreateTime: at(1714036506), Text: `a < b && c > d "' 你好`}},
		{"VectorBCompatible", "vector_b_compatible.xml", bot.Inbound{OpenID: "oyORnuP8q7ou2gfYjqLzSIWZf0rs",
			AccountID: "gh_10f6c3c3ac5a", Kind: bot.KindText, MsgID: "6054768590064713728", CreateTime: at(1409735668), Text: "abcdteT"}},
		{"Image", "image.xml", bot.Inbound{OpenID: user, AccountID: gh, Kind: bot.KindImage, MsgID: "24542164416934422",
			CreateTime: at(1714036507), MediaID: "media_image_1", URL: "http://mmbiz.qpic.cn/mmbiz_jpg/abc/0"}},
		{"VoiceWithRecognition", "voice_recognition.xml", bot.Inbound{OpenID: user, AccountID: gh, Kind: bot.KindVoice,
			MsgID: "24542164416934423", CreateTime: at(1714036508), MediaID: "media_voice_1", Text: "我的号被盗了"}},
		{"VoiceWithoutRecognition", "voice.xml", bot.Inbound{OpenID: user, AccountID: gh, Kind: bot.KindVoice,
			MsgID: "24542164416934424", CreateTime: at(1714036509), MediaID: "media_voice_2"}},
		{"Video", "video.xml", bot.Inbound{OpenID: user, AccountID: gh, Kind: bot.KindVideo, MsgID: "24542164416934425",
			CreateTime: at(1714036510), MediaID: "media_video_1"}},
		{"Location", "location.xml", bot.Inbound{OpenID: user, AccountID: gh, Kind: bot.KindLocation, MsgID: "24542164416934426",
			CreateTime: at(1714036511), Label: "广州市天河区", Latitude: "23.134521", Longitude: "113.358803"}},
		{"Link", "link.xml", bot.Inbound{OpenID: user, AccountID: gh, Kind: bot.KindLink, MsgID: "24542164416934427",
			CreateTime: at(1714036512), Title: "未成年人退款申请指引", URL: "https://example.com/refund?a=1&b=2"}},
		{"EventSubscribe", "event_subscribe.xml", bot.Inbound{OpenID: user, AccountID: gh, Kind: bot.KindEvent,
			CreateTime: at(1714036513), Event: bot.EventSubscribe}},
		{"EventSubscribeQRScene", "event_subscribe_qrscene.xml", bot.Inbound{OpenID: user, AccountID: gh, Kind: bot.KindEvent,
			CreateTime: at(1714036514), Event: bot.EventSubscribe, EventKey: "qrscene_123123"}},
		{"EventUnsubscribe", "event_unsubscribe.xml", bot.Inbound{OpenID: user, AccountID: gh, Kind: bot.KindEvent,
			CreateTime: at(1714036515), Event: bot.EventUnsubscribe}},
		{"EventScan", "event_scan.xml", bot.Inbound{OpenID: user, AccountID: gh, Kind: bot.KindEvent,
			CreateTime: at(1714036516), Event: bot.EventScan, EventKey: "SCENE_VALUE"}},
		{"EventClick", "event_click.xml", bot.Inbound{OpenID: user, AccountID: gh, Kind: bot.KindEvent,
			CreateTime: at(1714036517), Event: bot.EventClick, EventKey: "MENU_HUMAN"}},
		{"EventLocation", "event_location.xml", bot.Inbound{OpenID: user, AccountID: gh, Kind: bot.KindEvent,
			CreateTime: at(1714036518), Event: "LOCATION", Latitude: "23.137466", Longitude: "113.352425"}},
		{"EventNestedScanCodeInfo", "event_scancode.xml", bot.Inbound{OpenID: user, AccountID: gh, Kind: bot.KindEvent,
			CreateTime: at(1714036519), Event: "scancode_waitmsg", EventKey: "MENU_SCAN"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMessage(mustRead(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if d := diffInbound(got, tt.want); d != "" {
				t.Error(d)
			}
			if got.Kind == bot.KindEvent && got.DedupeKey() == "" {
				t.Error("an event without a dedupe key")
			}
		})
	}
}

func TestParseMessageErrors(t *testing.T) {
	const ok = `<ToUserName>gh</ToUserName><FromUserName>u</FromUserName><MsgType>text</MsgType>`
	tests := []struct {
		name string
		body string
	}{
		{"ErrEmpty", ""},
		{"ErrNotXML", `{"MsgType":"text"}`},
		{"ErrNoFromUserName", `<xml><ToUserName>gh</ToUserName><MsgType>text</MsgType></xml>`},
		{"ErrNoToUserName", `<xml><FromUserName>u</FromUserName><MsgType>text</MsgType></xml>`},
		{"ErrNoMsgType", `<xml><ToUserName>gh</ToUserName><FromUserName>u</FromUserName></xml>`},
		{"ErrUnterminatedRoot", `<xml>` + ok},
		{"ErrUnterminatedField", `<xml><Content>abc</xml>`},
		{"ErrMismatchedTag", `<xml>` + ok + `<Content>x</Title></xml>`},
		{"ErrUnterminatedCDATA", `<xml>` + ok + `<Content><![CDATA[x</Content></xml>`},
		{"ErrCDATAEndInText", `<xml>` + ok + `<Content>a]]>b</Content></xml>`},
		{"ErrUnknownEntity", `<xml>` + ok + `<Content>&nbsp;</Content></xml>`},
		{"ErrEntityNoSemicolon", `<xml>` + ok + `<Content>&amp</Content></xml>`},
		{"ErrCharRefZero", `<xml>` + ok + `<Content>&#0;</Content></xml>`},
		{"ErrControlChar", "<xml>" + ok + "<Content>a\x01b</Content></xml>"},
		{"ErrInvalidUTF8", "<xml>" + ok + "<Content>a\xffb</Content></xml>"},
		{"ErrTrailingGarbage", `<xml>` + ok + `</xml>junk`},
		{"ErrTwoRoots", `<xml>` + ok + `</xml><xml></xml>`},
		{"ErrDoctype", `<!DOCTYPE x [<!ENTITY a "b">]><xml>` + ok + `</xml>`},
		{"ErrUnquotedAttr", `<xml a=b>` + ok + `</xml>`},
		{"ErrCreateTimeNotNumber", `<xml>` + ok + `<CreateTime>soon</CreateTime></xml>`},
		{"ErrMsgIdNegative", `<xml>` + ok + `<MsgId>-1</MsgId></xml>`},
		{"ErrMsgIdOver64Bits", `<xml>` + ok + `<MsgId>18446744073709551616</MsgId></xml>`},
		{"ErrMsgIdFloat", `<xml>` + ok + `<MsgId>6.054768590064714e18</MsgId></xml>`},
		{"ErrTooDeep", `<xml>` + ok + `<a>` + strings.Repeat("<b>", 40) + strings.Repeat("</b>", 40) + `</a></xml>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := ParseMessage([]byte(tt.body))
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseMessage = %+v, %v; want ErrMalformed", in, err)
			}
		})
	}
}

func TestParseMessageLenient(t *testing.T) {
	tests := []struct {
		name, body, wantText string
	}{
		{"ProcInstAndComments", `<?xml version="1.0"?><!-- c --><xml><!-- c --><ToUserName>gh</ToUserName><FromUserName>u</FromUserName><MsgType>text</MsgType><Content>a<!-- c -->b</Content></xml><!-- c -->` + "\n", "ab"},
		{"Attributes", `<xml a="1" b='2'><ToUserName>gh</ToUserName><FromUserName x="y">u</FromUserName><MsgType>text</MsgType><Content>c</Content></xml>`, "c"},
		{"NamespacePrefix", `<xml><ToUserName>gh</ToUserName><FromUserName>u</FromUserName><MsgType>text</MsgType><w:Content>c</w:Content></xml>`, "c"},
		{"SelfClosing", `<xml><ToUserName>gh</ToUserName><FromUserName>u</FromUserName><MsgType>text</MsgType><Content>x</Content><Content/></xml>`, ""},
		{"LastDuplicateWins", `<xml><ToUserName>gh</ToUserName><FromUserName>u</FromUserName><MsgType>text</MsgType><Content>1</Content><Content>2</Content></xml>`, "2"},
		{"NestedTextSkipped", `<xml><ToUserName>gh</ToUserName><FromUserName>u</FromUserName><MsgType>text</MsgType><Content>a<i>b</i>c</Content></xml>`, "ac"},
		{"CRLFNormalised", "<xml><ToUserName>gh</ToUserName><FromUserName>u</FromUserName><MsgType>text</MsgType><Content>a\r\nb\rc<![CDATA[\r\n]]></Content></xml>", "a\nb\nc\n"},
		{"EmptyMsgId", `<xml><ToUserName>gh</ToUserName><FromUserName>u</FromUserName><MsgType>text</MsgType><MsgId> </MsgId><Content>x</Content></xml>`, "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := ParseMessage([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if in.Text != tt.wantText || in.OpenID != "u" {
				t.Errorf("Text = %q, OpenID = %q; want %q, u", in.Text, in.OpenID, tt.wantText)
			}
		})
	}
}

func TestParseEnvelope(t *testing.T) {
	tests := []struct {
		name        string
		file        string
		wantTo      string
		wantEncrypt string
	}{
		{"Safe", "vector_b_safe.xml", "gh_10f6c3c3ac5a", "hyzAe4Oz"},
		{"Compatible", "vector_b_compatible.xml", "gh_10f6c3c3ac5a", "hyzAe4Oz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := ParseEnvelope(mustRead(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if env.ToUserName != tt.wantTo || !strings.HasPrefix(env.Encrypt, tt.wantEncrypt) || !strings.HasSuffix(env.Encrypt, "=") {
				t.Errorf("ParseEnvelope = %+v", env)
			}
		})
	}
	t.Run("ErrNoEncrypt", func(t *testing.T) {
		if _, err := ParseEnvelope(mustRead(t, "text.xml")); !errors.Is(err, ErrMalformed) {
			t.Fatalf("err = %v, want ErrMalformed", err)
		}
	})
}

func TestTextReply(t *testing.T) {
	at := time.Unix(1714036504, 0)
	tests := []struct {
		name        string
		content     string
		wantXML     string // the whole reply, when set
		wantContent string // what a parser reads back
	}{
		{
			name:        "Plain",
			content:     "您好，请问有什么可以帮您？",
			wantXML:     "<xml><ToUserName><![CDATA[oUser]]></ToUserName><FromUserName><![CDATA[gh_kefu]]></FromUserName><CreateTime>1714036504</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[您好，请问有什么可以帮您？]]></Content></xml>",
			wantContent: "您好，请问有什么可以帮您？",
		},
		{
			name:        "CDATAEnd",
			content:     "a]]>b]]]>c]]",
			wantXML:     "<xml><ToUserName><![CDATA[oUser]]></ToUserName><FromUserName><![CDATA[gh_kefu]]></FromUserName><CreateTime>1714036504</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[a]]]]><![CDATA[>b]]]]]><![CDATA[>c]]]]></Content></xml>",
			wantContent: "a]]>b]]]>c]]",
		},
		{name: "OnlyCDATAEnd", content: "]]>", wantContent: "]]>"},
		{name: "MarkupStaysText", content: "<xml>&amp;</Content>", wantContent: "<xml>&amp;</Content>"},
		{name: "ControlCharsDropped", content: "a\x00b\x1bc\td\ne", wantContent: "abc\td\ne"},
		{name: "InvalidUTF8Replaced", content: "a\xffb", wantContent: "a\uFFFDb"},
		{name: "NonCharactersDropped", content: "a\uFFFEb\uFFFFc", wantContent: "abc"},
		{name: "Emoji", content: "好的👍", wantContent: "好的👍"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := TextReply("oUser", "gh_kefu", at, tt.content)
			if tt.wantXML != "" && string(out) != tt.wantXML {
				t.Errorf("TextReply\n got %s\nwant %s", out, tt.wantXML)
			}
			// Our parser and encoding/xml read the same content back.
			in, err := ParseMessage(out)
			if err != nil {
				t.Fatal(err)
			}
			if in.Text != tt.wantContent || in.OpenID != "gh_kefu" || in.AccountID != "oUser" || !in.CreateTime.Equal(at) {
				t.Errorf("parsed back %+v", in)
			}
			var ref refMessage
			if err := xml.Unmarshal(out, &ref); err != nil {
				t.Fatalf("encoding/xml: %v", err)
			}
			if ref.Content != tt.wantContent || ref.MsgType != "text" {
				t.Errorf("encoding/xml reads Content %q, MsgType %q", ref.Content, ref.MsgType)
			}
		})
	}
}

func TestSealReplyRoundTrip(t *testing.T) {
	c := mustCipher(t, "wx2c2769f8efd9abc2", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")
	reply := TextReply("oUser", "gh_kefu", time.Unix(1714036504, 0), "您好]]>")
	out, err := SealReply(c, 0, "spamtest", "1714036600", "1320562132", reply)
	if err != nil {
		t.Fatal(err)
	}
	env, err := ParseEnvelope(out)
	if err != nil {
		t.Fatal(err)
	}
	if !CheckMsgSignature(env.MsgSignature, "spamtest", env.TimeStamp, env.Nonce, env.Encrypt) {
		t.Error("MsgSignature does not verify")
	}
	if env.TimeStamp != "1714036600" || env.Nonce != "1320562132" {
		t.Errorf("TimeStamp %q, Nonce %q", env.TimeStamp, env.Nonce)
	}
	msg, _, err := c.Decrypt(env.Encrypt)
	if err != nil || !bytes.Equal(msg, reply) {
		t.Fatalf("Decrypt = %q, %v", msg, err)
	}
	if _, err := SealReply(c, 1, "spamtest", "1", "2", reply); !errors.Is(err, ErrKeyIndex) {
		t.Errorf("SealReply with a bad key index: %v", err)
	}
	if _, err := SealReply(c, 0, "spamtest", "<1>", "2", reply); err == nil {
		t.Error("SealReply accepts a timestamp that is not digits")
	}
}

func TestParseAllocs(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("allocation counts need a normal build")
	}
	body := mustRead(t, "text.xml")
	if n := testing.AllocsPerRun(100, func() { _, _ = ParseMessage(body) }); n > 1 {
		t.Errorf("ParseMessage: %v allocs, want at most 1", n)
	}
	buf := make([]byte, 0, 1024)
	at := time.Unix(1714036504, 0)
	if n := testing.AllocsPerRun(100, func() { buf = AppendTextReply(buf[:0], "oUser", "gh_kefu", at, "您好") }); n > 0 {
		t.Errorf("AppendTextReply: %v allocs, want 0", n)
	}
}

// refMessage is the encoding/xml view of a message, the reference for the
// differential fuzz test.
type refMessage struct {
	ToUserName, FromUserName, CreateTime, MsgType, MsgId, Content string
	Recognition, PicUrl, MediaId, Url, Title, Label               string
	LocationX                                                     string `xml:"Location_X"`
	LocationY                                                     string `xml:"Location_Y"`
	Latitude, Longitude, Event, EventKey, Encrypt                 string
	MsgSignature, TimeStamp, Nonce                                string
}

// FuzzParseMessage checks the hand-written parser: it never panics, keeps
// only valid XML characters, and agrees with encoding/xml on every field
// whenever both accept the input.
func FuzzParseMessage(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.xml")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`<xml><ToUserName>gh</ToUserName><FromUserName>u</FromUserName><MsgType>text</MsgType><Content>a&#x4F60;&lt;<![CDATA[]]]]><![CDATA[>]]></Content></xml>`))
	f.Add([]byte("<xml>\r\n<Content>\r</Content><a:Content>x</a:Content><b c='d'/></xml>"))
	f.Add([]byte(`<xml><ToUserName>gh</ToUserName><FromUserName>u</FromUserName><MsgType>text</MsgType><MsgId>1<!---->2</MsgId></xml>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var got rawFields
		ourErr := parseFields(data, &got)
		if in, err := ParseMessage(data); err == nil {
			for _, s := range []string{in.OpenID, in.AccountID, in.Text, in.EventKey, in.URL, in.Title, in.Label} {
				if !utf8.ValidString(s) {
					t.Fatalf("invalid UTF-8 in %+v", in)
				}
			}
		}
		if ourErr != nil {
			return
		}
		var ref refMessage
		if err := xml.Unmarshal(data, &ref); err != nil {
			return
		}
		pairs := []struct {
			name string
			our  []byte
			ref  string
		}{
			{"ToUserName", got.toUserName, ref.ToUserName}, {"FromUserName", got.fromUserName, ref.FromUserName},
			{"CreateTime", got.createTime, ref.CreateTime}, {"MsgType", got.msgType, ref.MsgType},
			{"MsgId", got.msgID, ref.MsgId}, {"Content", got.content, ref.Content},
			{"Recognition", got.recognition, ref.Recognition}, {"PicUrl", got.picURL, ref.PicUrl},
			{"MediaId", got.mediaID, ref.MediaId}, {"Url", got.url, ref.Url}, {"Title", got.title, ref.Title},
			{"Label", got.label, ref.Label}, {"Location_X", got.locationX, ref.LocationX},
			{"Location_Y", got.locationY, ref.LocationY}, {"Latitude", got.latitude, ref.Latitude},
			{"Longitude", got.longitude, ref.Longitude}, {"Event", got.event, ref.Event},
			{"EventKey", got.eventKey, ref.EventKey}, {"Encrypt", got.encrypt, ref.Encrypt},
			{"MsgSignature", got.msgSignature, ref.MsgSignature}, {"TimeStamp", got.timeStamp, ref.TimeStamp},
			{"Nonce", got.nonce, ref.Nonce},
		}
		for _, p := range pairs {
			if string(p.our) != p.ref {
				t.Fatalf("%s: ours %q, encoding/xml %q", p.name, p.our, p.ref)
			}
		}
	})
}

// FuzzTextReply checks that any reply text survives the reply XML, minus
// the characters XML cannot carry.
func FuzzTextReply(f *testing.F) {
	f.Add("您好]]>", "oUser")
	f.Add("a\x00\xff]]]>", "o]]>")
	f.Fuzz(func(t *testing.T, content, user string) {
		out := TextReply(user, "gh_kefu", time.Unix(1714036504, 0), content)
		var ref refMessage
		if err := xml.Unmarshal(out, &ref); err != nil {
			t.Fatalf("encoding/xml rejects %q: %v", out, err)
		}
		wantContent := content
		if !isXMLText(content) {
			wantContent = sanitizeXML(content)
		}
		wantContent = strings.ReplaceAll(strings.ReplaceAll(wantContent, "\r\n", "\n"), "\r", "\n")
		if ref.Content != wantContent {
			t.Fatalf("Content %q, want %q", ref.Content, wantContent)
		}
		if wantUser := strings.ReplaceAll(strings.ReplaceAll(sanitizeXML(user), "\r\n", "\n"), "\r", "\n"); ref.ToUserName != wantUser {
			t.Fatalf("ToUserName %q, want %q", ref.ToUserName, wantUser)
		}
		if !utf8.ValidString(content) || strings.ContainsFunc(content, func(r rune) bool { return !isXMLChar(r) }) {
			return
		}
		// Valid text comes back unchanged (up to XML's line-end rule).
		if norm := strings.ReplaceAll(strings.ReplaceAll(content, "\r\n", "\n"), "\r", "\n"); ref.Content != norm {
			t.Fatalf("Content %q, want %q", ref.Content, norm)
		}
	})
}
