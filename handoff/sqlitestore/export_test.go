package sqlitestore

import (
	"context"

	"github.com/kefuhq/kefu/handoff"
)

// CreateTickets creates tickets as CreateTicket does, all in one
// transaction: the fast way to fill a store for a benchmark.
func CreateTickets(ctx context.Context, s *Store, ts []*handoff.Ticket) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, t := range ts {
		next, err := s.create(ctx, tx, *t)
		if err != nil {
			return err
		}
		t.ID, t.Version = next.ID, next.Version
	}
	return tx.Commit()
}

// Migrations are the schema migrations, for the upgrade test.
var Migrations = migrations
