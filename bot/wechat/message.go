package wechat

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kefuhq/kefu/bot"
)

// ParseMessage parses the plaintext XML of an inbound message or event (a
// plaintext-mode body, a compatible-mode body, or the decrypted content of
// a safe-mode body) into a bot.Inbound. The Inbound's strings share one
// fresh allocation and never alias body. Errors wrap ErrMalformed.
func ParseMessage(body []byte) (bot.Inbound, error) {
	var f rawFields
	if err := parseFields(body, &f); err != nil {
		return bot.Inbound{}, err
	}
	return f.inbound()
}

// inbound validates the fields and copies them into a bot.Inbound.
func (f *rawFields) inbound() (bot.Inbound, error) {
	if len(f.fromUserName) == 0 {
		return bot.Inbound{}, fmt.Errorf("%w: no FromUserName", ErrMalformed)
	}
	if len(f.toUserName) == 0 {
		return bot.Inbound{}, fmt.Errorf("%w: no ToUserName", ErrMalformed)
	}
	if len(f.msgType) == 0 {
		return bot.Inbound{}, fmt.Errorf("%w: no MsgType", ErrMalformed)
	}
	var in bot.Inbound
	if ct := bytes.TrimSpace(f.createTime); len(ct) > 0 {
		sec, err := strconv.ParseInt(string(ct), 10, 64)
		if err != nil {
			return bot.Inbound{}, fmt.Errorf("%w: CreateTime is not an integer", ErrMalformed)
		}
		in.CreateTime = time.Unix(sec, 0)
	}
	var idBuf [20]byte
	var msgID []byte
	if id := bytes.TrimSpace(f.msgID); len(id) > 0 {
		n, err := strconv.ParseUint(string(id), 10, 64)
		if err != nil {
			return bot.Inbound{}, fmt.Errorf("%w: MsgId is not a 64-bit unsigned integer", ErrMalformed)
		}
		msgID = strconv.AppendUint(idBuf[:0], n, 10)
	}

	kind := bot.MsgKind(internKind(f.msgType))
	text, url := f.content, f.url
	switch kind {
	case bot.KindVoice:
		text = f.recognition
	case bot.KindImage:
		url = f.picURL
	}
	lat, lng := f.locationX, f.locationY
	if len(lat) == 0 && len(lng) == 0 {
		lat, lng = f.latitude, f.longitude
	}

	// Copy every kept field into one string and slice it.
	parts := [...][]byte{
		f.fromUserName, f.toUserName, msgID, text, f.eventKey,
		f.mediaID, url, f.title, f.label, lat, lng,
	}
	n := 0
	for _, p := range parts {
		if err := checkChars(p); err != nil {
			return bot.Inbound{}, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		n += len(p)
	}
	for _, p := range [...][]byte{f.msgType, f.event} {
		if err := checkChars(p); err != nil {
			return bot.Inbound{}, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
	}
	var sb strings.Builder
	sb.Grow(n)
	for _, p := range parts {
		sb.Write(p)
	}
	all := sb.String()
	var strs [len(parts)]string
	off := 0
	for i, p := range parts {
		strs[i] = all[off : off+len(p)]
		off += len(p)
	}
	in.OpenID, in.AccountID, in.MsgID, in.Text, in.EventKey = strs[0], strs[1], strs[2], strs[3], strs[4]
	in.MediaID, in.URL, in.Title, in.Label, in.Latitude, in.Longitude = strs[5], strs[6], strs[7], strs[8], strs[9], strs[10]
	in.Kind = kind
	in.Event = internEvent(f.event)
	return in, nil
}

// internKind returns the constant for a known MsgType without allocating.
func internKind(b []byte) string {
	switch string(b) {
	case "text":
		return string(bot.KindText)
	case "voice":
		return string(bot.KindVoice)
	case "image":
		return string(bot.KindImage)
	case "video":
		return string(bot.KindVideo)
	case "shortvideo":
		return string(bot.KindShortVideo)
	case "location":
		return string(bot.KindLocation)
	case "link":
		return string(bot.KindLink)
	case "event":
		return string(bot.KindEvent)
	}
	return string(b)
}

// internEvent returns the constant for a common Event without allocating.
func internEvent(b []byte) string {
	switch string(b) {
	case "":
		return ""
	case bot.EventSubscribe:
		return bot.EventSubscribe
	case bot.EventUnsubscribe:
		return bot.EventUnsubscribe
	case bot.EventClick:
		return bot.EventClick
	case bot.EventScan:
		return bot.EventScan
	case "VIEW":
		return "VIEW"
	case "LOCATION":
		return "LOCATION"
	}
	return string(b)
}

// Envelope is the encrypted form of a message: the body of a safe-mode
// POST (ToUserName and Encrypt; a compatible-mode body has the plaintext
// fields as well) or of an encrypted passive reply (Encrypt, MsgSignature,
// TimeStamp and Nonce).
type Envelope struct {
	ToUserName   string
	Encrypt      string
	MsgSignature string
	TimeStamp    string
	Nonce        string
}

// ParseEnvelope parses an encrypted body. It does not check the signature
// or decrypt; an envelope without Encrypt is an error wrapping ErrMalformed.
func ParseEnvelope(body []byte) (Envelope, error) {
	var f rawFields
	if err := parseFields(body, &f); err != nil {
		return Envelope{}, err
	}
	if len(f.encrypt) == 0 {
		return Envelope{}, fmt.Errorf("%w: no Encrypt", ErrMalformed)
	}
	for _, v := range [...][]byte{f.toUserName, f.encrypt, f.msgSignature, f.timeStamp, f.nonce} {
		if err := checkChars(v); err != nil {
			return Envelope{}, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
	}
	return Envelope{
		ToUserName:   string(f.toUserName),
		Encrypt:      string(f.encrypt),
		MsgSignature: string(f.msgSignature),
		TimeStamp:    string(f.timeStamp),
		Nonce:        string(f.nonce),
	}, nil
}

// TextReply returns the XML of a passive text reply to the user toUser
// (an OpenID) from the account fromUser (its gh_ ID).
func TextReply(toUser, fromUser string, createTime time.Time, content string) []byte {
	return AppendTextReply(make([]byte, 0, textReplyLen(toUser, fromUser, content)), toUser, fromUser, createTime, content)
}

// textReplyLen is the size of a text reply without any escaping.
func textReplyLen(toUser, fromUser, content string) int {
	return 224 + len(toUser) + len(fromUser) + len(content)
}

// AppendTextReply appends the XML of a passive text reply to dst; see
// TextReply. Every string goes in CDATA, with "]]>" split across sections.
func AppendTextReply(dst []byte, toUser, fromUser string, createTime time.Time, content string) []byte {
	dst = append(dst, "<xml><ToUserName>"...)
	dst = appendCDATA(dst, toUser)
	dst = append(dst, "</ToUserName><FromUserName>"...)
	dst = appendCDATA(dst, fromUser)
	dst = append(dst, "</FromUserName><CreateTime>"...)
	dst = strconv.AppendInt(dst, createTime.Unix(), 10)
	dst = append(dst, "</CreateTime><MsgType><![CDATA[text]]></MsgType><Content>"...)
	dst = appendCDATA(dst, content)
	return append(dst, "</Content></xml>"...)
}

// SealReply encrypts a passive reply XML with the key keyIndex (the one
// that decrypted the request) and returns the safe-mode envelope, signed
// with token over timestamp (Unix seconds, normally now) and nonce (the
// request's nonce).
func SealReply(c *Cipher, keyIndex int, token, timestamp, nonce string, reply []byte) ([]byte, error) {
	if timestamp == "" || strings.Trim(timestamp, "0123456789") != "" {
		return nil, fmt.Errorf("wechat: reply timestamp %q is not decimal seconds", timestamp)
	}
	var random [randomLen]byte
	randomFill(&random)
	dst := make([]byte, 0, sealedLen(c, timestamp, nonce, len(reply)))
	return appendSealed(dst, c, keyIndex, &random, token, timestamp, nonce, reply)
}

// sealedLen is the size of an envelope for a reply of replyLen bytes.
func sealedLen(c *Cipher, timestamp, nonce string, replyLen int) int {
	// The Base64 work area of appendEncrypt needs the plaintext length too.
	return 160 + len(timestamp) + len(nonce) + c.encryptedLen(replyLen) + paddedLen(headerLen+replyLen+len(c.appID))
}

// appendSealed appends the encrypted envelope of reply to dst.
func appendSealed(dst []byte, c *Cipher, keyIndex int, random *[randomLen]byte, token, timestamp, nonce string, reply []byte) ([]byte, error) {
	start := len(dst)
	dst = append(dst, "<xml><Encrypt><![CDATA["...)
	encStart := len(dst)
	dst, err := c.appendEncrypt(dst, reply, keyIndex, random)
	if err != nil {
		return dst[:start], err
	}
	sig := msgSignatureBytes(token, timestamp, nonce, dst[encStart:])
	dst = append(dst, "]]></Encrypt><MsgSignature><![CDATA["...)
	dst = append(dst, sig[:]...)
	dst = append(dst, "]]></MsgSignature><TimeStamp>"...)
	dst = append(dst, timestamp...)
	dst = append(dst, "</TimeStamp><Nonce>"...)
	dst = appendCDATA(dst, nonce)
	return append(dst, "</Nonce></xml>"...), nil
}
