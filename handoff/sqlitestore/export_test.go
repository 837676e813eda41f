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

// SetBehindLimit sets how many tickets behind a ticket QueuePosition
// counts before it counts those ahead, so that tests take both ways.
func SetBehindLimit(s *Store, n int) { s.behindLimit = n }

// RecountQueues returns, for each lane with a row in handoff_queue_counts
// or a queued ticket, the kept count and the count of its queued tickets.
func RecountQueues(ctx context.Context, s *Store) (map[string][2]int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT lane, sum(kept), sum(queued) FROM (
	SELECT lane, n AS kept, 0 AS queued FROM handoff_queue_counts
	UNION ALL SELECT lane, 0, 1 FROM handoff_tickets WHERE status = 'queued'
) GROUP BY lane`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][2]int{}
	for rows.Next() {
		var (
			lane         string
			kept, queued int
		)
		if err := rows.Scan(&lane, &kept, &queued); err != nil {
			return nil, err
		}
		out[lane] = [2]int{kept, queued}
	}
	return out, rows.Err()
}
