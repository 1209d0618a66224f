package crm_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/referralpulse/referralpulse/store"
	"github.com/referralpulse/referralpulse/sync/crm"
)

// slowConnector counts polls and blocks each one until release is closed.
type slowConnector struct {
	crm.Connector
	polls   atomic.Int32
	release chan struct{}
}

func (c *slowConnector) Provider() crm.Provider { return crm.Clio }
func (c *slowConnector) Poll(ctx context.Context, id string) (crm.PollResult, error) {
	c.polls.Add(1)
	<-c.release
	return crm.PollResult{Queued: 1}, nil
}

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(t.TempDir(), []byte("scheduler test key"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestSchedulerRejectsBadSchedule(t *testing.T) {
	for _, spec := range []string{"every ten minutes", "@every 0s", "@every 10s", "@every soon"} {
		s := crm.NewScheduler(openStore(t), nil, zerolog.Nop(), nil)
		err := s.Start(spec)
		if err == nil || !strings.Contains(err.Error(), "sync.poll_schedule") {
			t.Errorf("%q: error = %v, want one naming sync.poll_schedule", spec, err)
		}
	}
}

func TestSchedulerNeverOverlapsPolls(t *testing.T) {
	st := openStore(t)
	conn := store.Connection{UserID: "u", Provider: "clio", State: store.ConnectionConnected}
	if err := st.Update(func(tx *store.Tx) error { return tx.PutConnection(&conn) }); err != nil {
		t.Fatal(err)
	}
	c := &slowConnector{release: make(chan struct{})}
	woken := atomic.Int32{}
	s := crm.NewScheduler(st, map[crm.Provider]crm.Connector{crm.Clio: c}, zerolog.Nop(), func() { woken.Add(1) })

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if _, err := s.Poll(context.Background(), conn.ID); err != nil {
			t.Errorf("first poll: %v", err)
		}
	}()
	for c.polls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	if _, err := s.Poll(context.Background(), conn.ID); err == nil {
		t.Error("a second poll ran while the first was in progress")
	}
	close(c.release)
	wg.Wait()
	if c.polls.Load() != 1 || woken.Load() != 1 {
		t.Errorf("polls = %d, wake-ups = %d; want 1 and 1", c.polls.Load(), woken.Load())
	}
	if _, err := s.Poll(context.Background(), "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("poll of a missing connection = %v, want not found", err)
	}
}
