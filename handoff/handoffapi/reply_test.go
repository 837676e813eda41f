package handoffapi_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kefuhq/kefu/handoff"
	"github.com/kefuhq/kefu/handoff/handoffapi"
	"github.com/kefuhq/kefu/wxapi"
)

// recordedQuota is a wxapi.Quota that keeps the interactions it is told
// of, or fails them with err. Its other methods are not called by
// SyncQuota.
type recordedQuota struct {
	wxapi.Quota
	err  error
	seen []recorded
}

type recorded struct {
	Kind wxapi.InteractionKind
	At   time.Time
}

func (q *recordedQuota) Interaction(_ context.Context, _ string, kind wxapi.InteractionKind, at time.Time) error {
	q.seen = append(q.seen, recorded{kind, at})
	return q.err
}

// TestSyncQuota checks that SyncQuota records the user's latest message
// and menu click of the transcript, and nothing from before a reply
// refused for a closed window.
func TestSyncQuota(t *testing.T) {
	at := func(min int) time.Time { return time.Date(2025, 3, 1, 10, min, 0, 0, time.UTC) }
	user := func(kind string, min int) handoff.Message {
		return handoff.Message{From: handoff.FromUser, Kind: kind, Text: "…", At: at(min)}
	}
	agent := func(kind string, min int) handoff.Message {
		return handoff.Message{From: handoff.FromAgent, Kind: kind, Text: "您好", At: at(min)}
	}
	refused := "undelivered:" + handoffapi.CodeWindowClosed
	for _, tt := range []struct {
		name     string
		messages []handoff.Message
		err      error
		want     []recorded
	}{
		{"OK", []handoff.Message{user("text", 1), user("click", 2), user("image", 3), agent("text", 4)},
			nil, []recorded{{wxapi.InteractionMessage, at(3)}, {wxapi.InteractionEvent, at(2)}}},
		{"StopsAtWindowClosed", []handoff.Message{user("text", 1), agent(refused, 2)}, nil, nil},
		{"WroteAfterRefusal", []handoff.Message{user("click", 1), agent(refused, 2), user("text", 3)},
			nil, []recorded{{wxapi.InteractionMessage, at(3)}}},
		{"NoUserMessage", []handoff.Message{agent("text", 1), {From: handoff.FromSystem, Kind: "close", At: at(2)}}, nil, nil},
		{"ErrStops", []handoff.Message{user("click", 1), user("text", 2)}, errors.New("store down"),
			[]recorded{{wxapi.InteractionMessage, at(2)}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q := &recordedQuota{err: tt.err}
			handoffapi.SyncQuota(context.Background(), q, handoff.Ticket{ID: "T1", OpenID: "o_sync", Messages: tt.messages}, nil)
			if diff := cmp.Diff(tt.want, q.seen); diff != "" {
				t.Errorf("recorded (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("NilQuota", func(t *testing.T) {
		handoffapi.SyncQuota(context.Background(), nil, handoff.Ticket{Messages: []handoff.Message{user("text", 1)}}, nil)
	})
}
