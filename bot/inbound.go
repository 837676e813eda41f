package bot

import (
	"strconv"
	"time"
)

// MsgKind is the kind of an inbound message, as WeChat names it in MsgType.
type MsgKind string

// The inbound message kinds kefu understands. Anything else is treated as
// an attachment and acknowledged.
const (
	KindText       MsgKind = "text"
	KindVoice      MsgKind = "voice"
	KindImage      MsgKind = "image"
	KindVideo      MsgKind = "video"
	KindShortVideo MsgKind = "shortvideo"
	KindLocation   MsgKind = "location"
	KindLink       MsgKind = "link"
	KindEvent      MsgKind = "event"
)

// The events kefu reacts to (WeChat's Event field, case-sensitive).
const (
	EventSubscribe   = "subscribe"
	EventUnsubscribe = "unsubscribe"
	EventClick       = "CLICK"
	EventScan        = "SCAN"
)

// Inbound is one message or event from a user, independent of the channel
// that carried it (the WeChat webhook, the terminal, a test).
type Inbound struct {
	OpenID     string    // the user (WeChat FromUserName)
	AccountID  string    // the official account (WeChat ToUserName, gh_…)
	Kind       MsgKind   // text, voice, image, …, event
	MsgID      string    // WeChat MsgId; empty for events
	CreateTime time.Time // when the platform received it
	Text       string    // text content, or the voice Recognition
	Event      string    // event name when Kind is KindEvent
	EventKey   string    // menu key or QR scene
	MediaID    string    // image, voice, video
	URL        string    // picture URL (image) or link URL (link)
	Title      string    // link title
	Label      string    // location label
	Latitude   string    // location
	Longitude  string    // location
}

// DedupeKey identifies a message across WeChat's retries: FromUserName+MsgId
// for messages, FromUserName+CreateTime+Event(+EventKey) for events, so two
// different menu clicks within one second are both answered. An empty key
// means the message cannot be deduplicated (a terminal chat line, say).
func (in Inbound) DedupeKey() string {
	if in.OpenID == "" {
		return ""
	}
	if in.MsgID != "" {
		return in.OpenID + "|" + in.MsgID
	}
	if in.Kind == KindEvent && !in.CreateTime.IsZero() {
		return in.OpenID + "|" + strconv.FormatInt(in.CreateTime.Unix(), 10) + "|" + in.Event + "|" + in.EventKey
	}
	return ""
}

// Reply is the bot's answer to one Inbound. An empty Text means no reply:
// the webhook then answers "success".
type Reply struct {
	Text string
}

// Empty reports whether the reply carries nothing for the user.
func (r Reply) Empty() bool { return r.Text == "" }
