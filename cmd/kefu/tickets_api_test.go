package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/kefuhq/kefu/handoff"
	"github.com/kefuhq/kefu/wxapi/wxapitest"
)

// TestTicketsAPI checks kefu serve mounts the tickets API behind sign-in
// and sends agent replies through the customer-service API with the
// quota tracker, or refuses them (503) when no AppID is configured.
func TestTicketsAPI(t *testing.T) {
	fake := wxapitest.NewServer()
	t.Cleanup(fake.Close)
	for _, tt := range []struct {
		name   string
		env    []string
		status int
	}{
		{"NotConfigured", nil, http.StatusServiceUnavailable},
		{"Delivered", []string{"KEFU_WECHAT_APP_ID=" + wxapitest.AppID, "KEFU_WECHAT_APP_SECRET=" + wxapitest.AppSecret,
			"KEFU_WECHAT_API_BASE=" + fake.URL()}, http.StatusOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, err := newTestApp(t, t.TempDir(), "admin password", tt.env...)
			if err != nil {
				t.Fatal(err)
			}
			h, err := a.routes()
			if err != nil {
				t.Fatal(err)
			}
			out, err := a.handoff.Handoff(context.Background(), handoff.Request{OpenID: "user-" + tt.name, Lane: "normal",
				Reason: "user_request", Transcript: []handoff.Message{{From: handoff.FromUser, Kind: "text", Text: "人工", At: time.Now()}}})
			if err != nil {
				t.Fatal(err)
			}
			id := out.Ticket.ID
			call := func(token, path string, body any) *httptest.ResponseRecorder {
				data, _ := json.Marshal(body)
				r := httptest.NewRequest(http.MethodPost, "/api/v1/tickets/"+id+path, bytes.NewReader(data))
				r.Header.Set("Content-Type", "application/json")
				if token != "" {
					r.Header.Set("Authorization", "Bearer "+token)
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				return w
			}
			if w := call("", "/claim", nil); w.Code != http.StatusUnauthorized {
				t.Fatalf("claim without signing in: %d %s", w.Code, w.Body)
			}
			_, token := login(t, h, "admin", "admin password")
			if w := call(token, "/claim", nil); w.Code != http.StatusOK {
				t.Fatalf("claim: %d %s", w.Code, w.Body)
			}
			w := call(token, "/messages", map[string]string{"text": "您好"})
			if w.Code != tt.status {
				t.Fatalf("reply: %d %s, want %d", w.Code, w.Body, tt.status)
			}
			if tt.status != http.StatusOK {
				return
			}
			var d struct {
				Delivered bool
				Quota     struct{ Remaining, Limit int }
			}
			if err := json.Unmarshal(w.Body.Bytes(), &d); err != nil || !d.Delivered || d.Quota.Remaining != a.cfg.CSLimit-1 {
				t.Errorf("reply: %s", w.Body)
			}
			if sent := fake.Sent(); len(sent) != 1 || sent[0].Text != "您好" || sent[0].OpenID != "user-"+tt.name {
				t.Errorf("WeChat received %+v", sent)
			}
		})
	}
}
