// Package ginauthtest signs test users in, for the tests of the API
// packages that sit behind ginauth.
package ginauthtest

import (
	"context"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/kefuhq/kefu/auth"
)

// Session is a signed-in test account.
type Session struct {
	ID, Token string
}

// Service returns an auth.Service over store that hashes passwords at
// bcrypt's least cost, so that tests stay fast.
func Service(tb testing.TB, store auth.Store) *auth.Service {
	tb.Helper()
	svc, err := auth.NewService(auth.Options{Store: store, BcryptCost: bcrypt.MinCost})
	if err != nil {
		tb.Fatal(err)
	}
	return svc
}

// SignIn creates each account and signs it in, returning its ID and
// bearer token by username.
func SignIn(tb testing.TB, svc *auth.Service, accounts ...auth.NewAccount) map[string]Session {
	tb.Helper()
	ctx := context.Background()
	out := make(map[string]Session, len(accounts))
	for _, n := range accounts {
		acc, err := svc.CreateAccount(ctx, n)
		if err != nil {
			tb.Fatal(err)
		}
		in, err := svc.Login(ctx, n.Username, n.Password, "")
		if err != nil {
			tb.Fatal(err)
		}
		out[n.Username] = Session{ID: acc.ID, Token: in.Token}
	}
	return out
}
