package wxapi_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/kefuhq/kefu/internal/clocktest"
	"github.com/kefuhq/kefu/internal/sqlitedb"
	"github.com/kefuhq/kefu/wxapi"
	"github.com/kefuhq/kefu/wxapi/sqlitestore"
	"github.com/kefuhq/kefu/wxapi/wxapitest"
)

const replyTo = "o_user1"

// senderHarness is a QuotaSender on a fake WeChat and an embedded tracker
// whose user wrote a message at t0.
type senderHarness struct {
	*harness
	clk    *clocktest.Clock
	t0     time.Time
	quota  *wxapi.Tracker
	sender *wxapi.QuotaSender
}

func newSenderHarness(t *testing.T, mutate ...func(*wxapi.Options)) *senderHarness {
	t.Helper()
	db, err := sqlitedb.OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	store, err := sqlitestore.New(db)
	if err != nil {
		t.Fatal(err)
	}
	clk := clocktest.NewNear()
	store.Now = clk.Now
	quota, err := wxapi.NewTracker(store, wxapi.QuotaLimits{})
	if err != nil {
		t.Fatal(err)
	}
	h := &senderHarness{harness: newHarness(t, mutate...), clk: clk, t0: clk.Now(), quota: quota}
	h.sender = &wxapi.QuotaSender{Client: h.client, Quota: quota, Now: clk.Now}
	h.interact(t, wxapi.InteractionMessage)
	return h
}

func (h *senderHarness) interact(t *testing.T, kind wxapi.InteractionKind) {
	t.Helper()
	if err := h.quota.Interaction(t.Context(), replyTo, kind, h.clk.Now()); err != nil {
		t.Fatal(err)
	}
}

// send sends a reply and checks the outcome: delivered when want is nil,
// else an error matching want (errors.Is).
func (h *senderHarness) send(t *testing.T, ctx context.Context, want error) wxapi.Delivery {
	t.Helper()
	d, err := h.sender.SendText(ctx, replyTo, "您好，我是客服小王")
	if err != d.Err {
		t.Fatalf("SendText returned %v, Delivery.Err %v: want the same", err, d.Err)
	}
	if d.Delivered != (err == nil) {
		t.Fatalf("Delivered = %v with error %v", d.Delivered, err)
	}
	if (want == nil) != (err == nil) || (want != nil && !errors.Is(err, want)) {
		t.Fatalf("SendText: %v, want %v", err, want)
	}
	return d
}

// want checks the delivery's allowance and what Peek says now.
func (h *senderHarness) want(t *testing.T, d wxapi.Delivery, remaining int, reason wxapi.Reason) {
	t.Helper()
	if d.Remaining != remaining || d.Reason != reason {
		t.Errorf("Delivery: %d left, %s; want %d, %s", d.Remaining, d.Reason, remaining, reason)
	}
	a, err := h.quota.Peek(t.Context(), replyTo, h.clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	if a.Remaining != remaining || a.Reason != reason {
		t.Errorf("Peek: %d left, %s; want %d, %s", a.Remaining, a.Reason, remaining, reason)
	}
}

func (h *senderHarness) wantAttempts(t *testing.T, n int) {
	t.Helper()
	if got := h.fake.SendAttempts(); got != n {
		t.Errorf("WeChat saw %d sends, want %d", got, n)
	}
}

func TestQuotaSender(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		h := newSenderHarness(t)
		for left := 4; left >= 1; left-- {
			d := h.send(t, t.Context(), nil)
			h.want(t, d, left, wxapi.ReasonOpen)
			if want := h.t0.Add(48 * time.Hour); !d.WindowClosesAt.Equal(want) {
				t.Errorf("WindowClosesAt = %v, want %v", d.WindowClosesAt, want)
			}
		}
		h.want(t, h.send(t, t.Context(), nil), 0, wxapi.ReasonExhausted)
		if got := len(h.fake.Sent()); got != 5 {
			t.Fatalf("sent %d, want 5", got)
		}
	})

	t.Run("ErrQuotaExhaustedLocally", func(t *testing.T) {
		h := newSenderHarness(t)
		for range 5 {
			h.send(t, t.Context(), nil)
		}
		d := h.send(t, t.Context(), wxapi.ErrQuotaExhausted)
		h.want(t, d, 0, wxapi.ReasonExhausted)
		h.wantAttempts(t, 5)
		// The user writes again: five more.
		h.clk.Advance(time.Minute)
		h.interact(t, wxapi.InteractionMessage)
		h.want(t, h.send(t, t.Context(), nil), 4, wxapi.ReasonOpen)
	})

	t.Run("ErrWindowClosedLocally", func(t *testing.T) {
		h := newSenderHarness(t)
		h.clk.Advance(48 * time.Hour)
		d := h.send(t, t.Context(), wxapi.ErrWindowClosed)
		h.want(t, d, 0, wxapi.ReasonClosed)
		h.wantAttempts(t, 0)
	})

	// WeChat knows better: 45015 (unsubscribed, say) closes the window,
	// 45047 uses it up, and the next send is refused without asking, until
	// the user interacts again.
	for _, tc := range []struct {
		err    *wxapi.APIError
		reason wxapi.Reason
	}{
		{wxapi.ErrWindowClosed, wxapi.ReasonClosed},
		{wxapi.ErrQuotaExhausted, wxapi.ReasonExhausted},
	} {
		t.Run(tc.err.Msg, func(t *testing.T) {
			h := newSenderHarness(t)
			h.send(t, t.Context(), nil)
			h.fake.FailNext(tc.err.Code, 1)
			d := h.send(t, t.Context(), tc.err)
			h.want(t, d, 0, tc.reason)
			if d.MaybeDelivered || d.WindowClosesAt.IsZero() != (tc.reason == wxapi.ReasonClosed) {
				t.Errorf("Delivery = %+v", d)
			}
			h.send(t, t.Context(), tc.err)
			h.wantAttempts(t, 2)
			h.clk.Advance(time.Second)
			h.interact(t, wxapi.InteractionEvent)
			h.want(t, h.send(t, t.Context(), nil), 2, wxapi.ReasonOpen)
		})
	}

	t.Run("ReleasedOnErrcode", func(t *testing.T) {
		for _, e := range []*wxapi.APIError{wxapi.ErrInvalidOpenID, wxapi.ErrUnauthorized, wxapi.ErrDailyLimit, wxapi.ErrBusy} {
			t.Run(e.Msg, func(t *testing.T) {
				h := newSenderHarness(t)
				h.fake.FailNext(e.Code, 3) // -1 is tried three times
				d := h.send(t, t.Context(), e)
				h.want(t, d, 5, wxapi.ReasonOpen)
				if d.MaybeDelivered {
					t.Error("MaybeDelivered after an errcode")
				}
			})
		}
	})

	t.Run("ReleasedWhenNeverSent", func(t *testing.T) {
		h := newSenderHarness(t)
		h.fake.SetCredentials(wxapitest.AppID, "another-secret") // no token
		d := h.send(t, t.Context(), &wxapi.APIError{Code: 40125})
		h.want(t, d, 5, wxapi.ReasonOpen)
		h.wantAttempts(t, 0)
	})

	t.Run("ReleasedWhenRefused", func(t *testing.T) {
		h := newSenderHarness(t)
		h.send(t, t.Context(), nil) // caches the token
		h.fake.Close()              // connection refused
		d, err := h.sender.SendText(t.Context(), replyTo, "您好")
		if err == nil || d.MaybeDelivered || !wxapi.NotSent(err) {
			t.Fatalf("SendText = %+v, %v; want a connection error that NotSent proves", d, err)
		}
		h.want(t, d, 4, wxapi.ReasonOpen)
	})

	t.Run("ReleasedWhenCanceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		h := newSenderHarness(t, func(o *wxapi.Options) {
			o.Sleep = func(ctx context.Context, _ time.Duration) error { cancel(); return ctx.Err() }
		})
		h.fake.FailNext(-1, 1)
		d := h.send(t, ctx, context.Canceled) // canceled while waiting to retry
		h.want(t, d, 5, wxapi.ReasonOpen)
	})

	t.Run("KeptWhenAmbiguous", func(t *testing.T) {
		h := newSenderHarness(t)
		h.send(t, t.Context(), nil)
		h.fake.SetDelay(time.Hour)
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		d := h.send(t, ctx, context.DeadlineExceeded)
		if !d.MaybeDelivered {
			t.Error("MaybeDelivered = false after a timeout during the request")
		}
		h.want(t, d, 3, wxapi.ReasonOpen)
	})

	t.Run("TokenRefreshedOnce", func(t *testing.T) {
		h := newSenderHarness(t)
		h.send(t, t.Context(), nil)
		h.fake.InvalidateTokens()
		h.want(t, h.send(t, t.Context(), nil), 3, wxapi.ReasonOpen)
		if got := h.fake.TokenFetches(); got != 2 {
			t.Errorf("token fetches = %d, want 2", got)
		}
	})

	t.Run("ErrStore", func(t *testing.T) {
		h := newSenderHarness(t)
		failing := &wxapi.QuotaSender{Client: h.client, Quota: failingQuota{h.quota}, Now: h.clk.Now}
		d, err := failing.SendText(t.Context(), replyTo, "您好")
		if err == nil || d.Delivered || d.Err != err {
			t.Fatalf("SendText = %+v, %v; want the store's error", d, err)
		}
		h.wantAttempts(t, 0)
	})
}

// failingQuota is a Quota whose Reserve fails, as when the store is down.
type failingQuota struct{ wxapi.Quota }

func (failingQuota) Reserve(context.Context, string, time.Time) (wxapi.Reservation, error) {
	return wxapi.Reservation{}, errors.New("store down")
}

func TestNotSent(t *testing.T) {
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "bad gateway", http.StatusBadGateway)
	}))
	defer bad.Close()
	h := newHarness(t)
	h.mustSend(t, replyTo, "一") // caches a token the bad server will be sent
	via := newHarness(t, func(o *wxapi.Options) { o.BaseURL = bad.URL; o.Tokens = h.cache })
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"Nil", nil, false},
		{"Errcode", h.fakeErr(t, wxapi.ErrInvalidOpenID.Code), true},
		{"EmptyOpenID", h.client.SendText(t.Context(), "", "一"), true},
		{"HTTPStatusAfterSending", via.client.SendText(t.Context(), replyTo, "一"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := wxapi.NotSent(tc.err); got != tc.want {
				t.Errorf("NotSent(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

func (h *harness) fakeErr(t *testing.T, code int) error {
	t.Helper()
	h.fake.FailNext(code, 1)
	return h.client.SendText(t.Context(), replyTo, "一")
}
