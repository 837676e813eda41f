package redisstore

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/kefuhq/kefu/handoff"
)

// CreateTickets creates tickets as CreateTicket does, pipelined: the fast
// way to fill a store for a benchmark.
func CreateTickets(ctx context.Context, s *Store, ts []*handoff.Ticket) error {
	last, err := s.rdb.IncrBy(ctx, s.seqKey(), int64(len(ts))).Result()
	if err != nil {
		return err
	}
	if err := createTicket.Load(ctx, s.rdb).Err(); err != nil {
		return err
	}
	for from := 0; from < len(ts); from += 1000 {
		batch := ts[from:min(from+1000, len(ts))]
		cmds := make([]*redis.Cmd, len(batch))
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, t := range batch {
				if t.ID == "" {
					t.ID = fmt.Sprintf("T%s-%05d", t.CreatedAt.Format("20060102"), last-int64(len(ts)-from-i)+1)
				}
				t.Version = 1
				keys, args, err := s.createArgs(*t)
				if err != nil {
					return err
				}
				cmds[i] = createTicket.EvalSha(ctx, p, keys, args...)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for i, c := range cmds {
			if n, err := c.Int(); err != nil || n != 1 {
				return fmt.Errorf("create %s: %d, %v", batch[i].ID, n, err)
			}
		}
	}
	return nil
}
