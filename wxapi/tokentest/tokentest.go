// Package tokentest is the conformance suite of wxapi.TokenCache: every
// implementation runs these tests from its own test file.
//
//	func TestTokenCache(t *testing.T) {
//		tokentest.TestTokenCache(t, func(t *testing.T, now func() time.Time) wxapi.TokenCache {
//			return newCache(t, now)
//		})
//	}
package tokentest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kefuhq/kefu/internal/clocktest"
	"github.com/kefuhq/kefu/wxapi"
)

// TestTokenCache runs the conformance tests of a wxapi.TokenCache.
// newCache returns an empty cache for one subtest that reads the time from
// now; the tests move that clock on.
func TestTokenCache(t *testing.T, newCache func(t *testing.T, now func() time.Time) wxapi.TokenCache) {
	run := func(name string, test func(t *testing.T, c wxapi.TokenCache, clk *clocktest.Clock)) {
		t.Run(name, func(t *testing.T) {
			clk := clocktest.NewNear()
			test(t, newCache(t, clk.Now), clk)
		})
	}
	run("ErrNoToken", testNoToken)
	run("OK", testOK)
	run("Expiry", testExpiry)
	run("AlreadyExpired", testAlreadyExpired)
	run("Replace", testReplace)
	run("Delete", testDelete)
	run("Apps", testApps)
}

const (
	appID = "wx1234567890abcdef"
	token = "78_Xq9-abcDEF_ghiJKL0123456789-mnopQRSTuvwxyz_ABCDEFGHIJ"
)

func mustSet(t *testing.T, c wxapi.TokenCache, app, tok string, exp time.Time) {
	t.Helper()
	if err := c.SetToken(context.Background(), app, tok, exp); err != nil {
		t.Fatalf("SetToken(%s): %v", app, err)
	}
}

// want checks what Token returns for app: the token and expiry, or
// ErrNoToken when tok is empty.
func want(t *testing.T, c wxapi.TokenCache, app, tok string, exp time.Time) {
	t.Helper()
	got, gotExp, err := c.Token(context.Background(), app)
	if tok == "" {
		if !errors.Is(err, wxapi.ErrNoToken) {
			t.Errorf("Token(%s) = %q, %v, %v; want ErrNoToken", app, got, gotExp, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("Token(%s): %v", app, err)
	}
	if got != tok || !gotExp.Equal(exp) {
		t.Errorf("Token(%s) = %q until %v, want %q until %v", app, got, gotExp, tok, exp)
	}
}

func testNoToken(t *testing.T, c wxapi.TokenCache, _ *clocktest.Clock) {
	want(t, c, appID, "", time.Time{})
}

func testOK(t *testing.T, c wxapi.TokenCache, clk *clocktest.Clock) {
	exp := clk.Now().Add(7200 * time.Second)
	mustSet(t, c, appID, token, exp)
	want(t, c, appID, token, exp)
}

func testExpiry(t *testing.T, c wxapi.TokenCache, clk *clocktest.Clock) {
	exp := clk.Now().Add(time.Hour)
	mustSet(t, c, appID, token, exp)
	clk.Advance(time.Hour - time.Millisecond)
	want(t, c, appID, token, exp)
	clk.Advance(time.Millisecond) // now == expiresAt: no longer "after now"
	want(t, c, appID, "", time.Time{})
}

func testAlreadyExpired(t *testing.T, c wxapi.TokenCache, clk *clocktest.Clock) {
	mustSet(t, c, appID, token, clk.Now().Add(-time.Second))
	want(t, c, appID, "", time.Time{})
	mustSet(t, c, appID, token, clk.Now())
	want(t, c, appID, "", time.Time{})
}

func testReplace(t *testing.T, c wxapi.TokenCache, clk *clocktest.Clock) {
	mustSet(t, c, appID, "old-token", clk.Now().Add(time.Minute))
	exp := clk.Now().Add(2 * time.Hour)
	mustSet(t, c, appID, token, exp)
	want(t, c, appID, token, exp)
	// A shorter expiry replaces a longer one too.
	exp = clk.Now().Add(time.Minute)
	mustSet(t, c, appID, "newer-token", exp)
	want(t, c, appID, "newer-token", exp)
}

func testDelete(t *testing.T, c wxapi.TokenCache, clk *clocktest.Clock) {
	ctx := context.Background()
	if err := c.DeleteToken(ctx, appID); err != nil {
		t.Errorf("DeleteToken of a missing token: %v", err)
	}
	mustSet(t, c, appID, token, clk.Now().Add(time.Hour))
	if err := c.DeleteToken(ctx, appID); err != nil {
		t.Fatalf("DeleteToken: %v", err)
	}
	want(t, c, appID, "", time.Time{})
	exp := clk.Now().Add(time.Hour)
	mustSet(t, c, appID, token, exp)
	want(t, c, appID, token, exp)
}

func testApps(t *testing.T, c wxapi.TokenCache, clk *clocktest.Clock) {
	expA, expB := clk.Now().Add(time.Hour), clk.Now().Add(2*time.Hour)
	mustSet(t, c, "wx-a", "token-a", expA)
	mustSet(t, c, "wx-b", "token-b", expB)
	if err := c.DeleteToken(context.Background(), "wx-c"); err != nil {
		t.Fatal(err)
	}
	want(t, c, "wx-a", "token-a", expA)
	want(t, c, "wx-b", "token-b", expB)
	if err := c.DeleteToken(context.Background(), "wx-a"); err != nil {
		t.Fatal(err)
	}
	want(t, c, "wx-a", "", time.Time{})
	want(t, c, "wx-b", "token-b", expB)
}
