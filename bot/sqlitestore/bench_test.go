package sqlitestore_test

import (
	"context"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kefuhq/kefu/bot"
	"github.com/kefuhq/kefu/bot/sqlitestore"
	"github.com/kefuhq/kefu/bot/storetest"
	"github.com/kefuhq/kefu/internal/sqlitedb"
)

// BenchmarkSessionRoundTrip measures one turn's storage work: read the
// user's session, add a question and an answer to its history, save it.
// The turns go to 1,000 users, on a database file, with the session cache
// on (the default) and off.
func BenchmarkSessionRoundTrip(b *testing.B) {
	for _, bc := range []struct {
		name  string
		cache int
	}{
		{"cache", sqlitestore.DefaultCacheSize},
		{"nocache", 0},
	} {
		b.Run(bc.name, func(b *testing.B) {
			db, err := sqlitedb.Open(filepath.Join(b.TempDir(), "kefu.db"))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { db.Close() })
			s, err := sqlitestore.NewWithOptions(db, sqlitestore.Options{CacheSize: bc.cache, WriteDelay: sqlitestore.DefaultWriteDelay})
			if err != nil {
				b.Fatal(err)
			}
			storetest.BenchmarkSessionRoundTrip(b, s, 1)
		})
	}
}

// BenchmarkTurn measures the embedded mode's whole storage work for one
// message: dedupe, lock the user, read and save the session, unlock,
// record the outcome.
func BenchmarkTurn(b *testing.B) {
	db, err := sqlitedb.Open(filepath.Join(b.TempDir(), "kefu.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	s, err := sqlitestore.New(db)
	if err != nil {
		b.Fatal(err)
	}
	d, l := sqlitestore.NewDeduper(nil), sqlitestore.NewLocker()
	var n atomic.Int64
	ctx := context.Background()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			openID := "user" + strconv.Itoa(int(i%1000))
			key := openID + "|" + strconv.FormatInt(i, 10)
			if _, first, err := d.BeginTurn(ctx, key, 15*time.Second); err != nil || !first {
				b.Fatal("BeginTurn:", first, err)
			}
			unlock, err := l.Lock(ctx, openID, 5*time.Second)
			if err != nil {
				b.Fatal(err)
			}
			storetest.SessionRoundTrip(b, s, openID)
			unlock()
			if err := d.FinishTurn(ctx, key, bot.Turn{Done: true, Reply: "好的"}, 15*time.Second); err != nil {
				b.Fatal(err)
			}
		}
	})
}
