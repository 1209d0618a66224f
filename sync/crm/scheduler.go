package crm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/rs/zerolog"

	"github.com/referralpulse/referralpulse/store"
)

// Scheduler runs each connection's poll on the configured cron schedule and
// each connection's webhook maintenance daily. A connection never has two
// polls at once: a scheduled run that finds one in progress is skipped.
type Scheduler struct {
	store      *store.Store
	connectors map[Provider]Connector
	cron       *cron.Cron
	log        zerolog.Logger
	after      func()

	mu      sync.Mutex
	running map[string]bool
}

// NewScheduler returns a scheduler. afterPoll, when set, runs after every
// poll that queued items, so the inbox worker wakes at once.
func NewScheduler(st *store.Store, connectors map[Provider]Connector, log zerolog.Logger, afterPoll func()) *Scheduler {
	return &Scheduler{
		store: st, connectors: connectors,
		cron:    cron.New(),
		log:     log.With().Str("component", "scheduler").Logger(),
		after:   afterPoll,
		running: map[string]bool{},
	}
}

// Start installs the jobs and starts the cron loop. pollSpec is a cron
// expression or a descriptor such as "@every 10m".
func (s *Scheduler) Start(pollSpec string) error {
	if every, ok := strings.CutPrefix(strings.TrimSpace(pollSpec), "@every "); ok {
		d, err := time.ParseDuration(strings.TrimSpace(every))
		if err != nil {
			return fmt.Errorf("sync.poll_schedule %q has no valid duration (for example \"@every 10m\"): %w", pollSpec, err)
		}
		if d < MinPollInterval {
			return fmt.Errorf("sync.poll_schedule %q polls more often than every %s, which spends the CRM's rate limit: use a longer interval", pollSpec, MinPollInterval)
		}
	}
	if _, err := s.cron.AddFunc(pollSpec, func() { s.PollAll(context.Background()) }); err != nil {
		return fmt.Errorf("sync.poll_schedule %q is not a cron schedule (for example \"@every 10m\" or \"*/10 * * * *\"): %w", pollSpec, err)
	}
	if _, err := s.cron.AddFunc("@daily", func() { s.MaintainAll(context.Background()) }); err != nil {
		return err
	}
	s.cron.Start()
	s.log.Info().Str("poll_schedule", pollSpec).Msg("scheduler started")
	return nil
}

// Stop waits for running jobs to finish.
func (s *Scheduler) Stop() {
	<-s.cron.Stop().Done()
	s.log.Info().Msg("scheduler stopped")
}

// PollAll polls every connected connection once.
func (s *Scheduler) PollAll(ctx context.Context) {
	for _, c := range s.liveConnections() {
		if !c.Health.PausedUntil.IsZero() && time.Now().Before(c.Health.PausedUntil) {
			continue
		}
		_, err := s.Poll(ctx, c.ID)
		switch {
		case err == nil, errors.Is(err, errBusy):
		case errors.Is(err, ErrPaused), errors.Is(err, ErrBroken):
			s.log.Info().Err(err).Str("connection_id", c.ID).Str("provider", c.Provider).Msg("poll skipped")
		default:
			s.log.Warn().Err(err).Str("connection_id", c.ID).Str("provider", c.Provider).Msg("poll failed")
		}
	}
}

// MaintainAll renews webhook subscriptions of every connected connection.
func (s *Scheduler) MaintainAll(ctx context.Context) {
	for _, c := range s.liveConnections() {
		conn, ok := s.connectors[Provider(c.Provider)]
		if !ok {
			continue
		}
		if err := conn.Maintain(ctx, c.ID); err != nil {
			s.log.Warn().Err(err).Str("connection_id", c.ID).Str("provider", c.Provider).Msg("webhook maintenance failed")
		}
	}
}

// MinPollInterval is the shortest "@every" poll schedule accepted.
const MinPollInterval = time.Minute

var errBusy = errors.New("a poll of this connection is already running")

// Poll runs one connection's poll now unless one is already running.
func (s *Scheduler) Poll(ctx context.Context, connectionID string) (PollResult, error) {
	var conn store.Connection
	err := s.store.View(func(tx *store.Tx) error {
		var err error
		conn, err = tx.Connection(connectionID)
		return err
	})
	if err != nil {
		return PollResult{}, err
	}
	c, ok := s.connectors[Provider(conn.Provider)]
	if !ok {
		return PollResult{}, fmt.Errorf("%w %q", ErrNoConnector, conn.Provider)
	}

	s.mu.Lock()
	if s.running[connectionID] {
		s.mu.Unlock()
		return PollResult{}, errBusy
	}
	s.running[connectionID] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.running, connectionID)
		s.mu.Unlock()
	}()

	start := time.Now()
	res, err := c.Poll(ctx, connectionID)
	if err != nil {
		return res, err
	}
	s.log.Info().Str("connection_id", connectionID).Str("provider", conn.Provider).
		Int("fetched", res.Fetched).Int("queued", res.Queued).Int("missed", res.Missed).
		Dur("took", time.Since(start)).Msg("poll finished")
	if res.Queued > 0 && s.after != nil {
		s.after()
	}
	return res, nil
}

func (s *Scheduler) liveConnections() []store.Connection {
	var conns []store.Connection
	err := s.store.View(func(tx *store.Tx) error {
		all, err := tx.AllConnections()
		for _, c := range all {
			if c.State == store.ConnectionConnected {
				conns = append(conns, c)
			}
		}
		return err
	})
	if err != nil {
		s.log.Error().Err(err).Msg("list connections failed")
	}
	return conns
}
