package crm

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/referralpulse/referralpulse/store"
)

// Applier applies the events of one inbox item and marks the item done in
// the same transaction. The rules engine in package app implements it.
type Applier interface {
	Apply(ctx context.Context, item store.InboxItem, events []Event) error
}

// Observer receives worker counts for metrics; any method may be a no-op.
type Observer interface {
	Retried()
	Parked()
}

// WorkerConfig tunes the inbox worker.
type WorkerConfig struct {
	// MaxAttempts is how many tries an item gets before it is parked; 0 means 8.
	MaxAttempts int
	// BaseBackoff is the wait after the first failure, doubled each try up to
	// MaxBackoff; 0 means one second and ten minutes.
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	// Idle is how often the worker looks for due retries without a wake-up; 0 means one second.
	Idle time.Duration
}

// Worker drains the durable inbox in arrival order. Each item is resolved by
// its provider's connector and applied by the Applier. A failure is retried
// with exponential backoff and, after MaxAttempts, parked as failed with its
// error, so no item is dropped.
type Worker struct {
	store      *store.Store
	applier    Applier
	connectors map[Provider]Connector
	observer   Observer
	cfg        WorkerConfig
	log        zerolog.Logger
	wake       chan struct{}
	now        func() time.Time

	mu   sync.Mutex
	busy bool
}

// NewWorker returns a worker; call Run to start it.
func NewWorker(st *store.Store, applier Applier, connectors map[Provider]Connector, observer Observer, cfg WorkerConfig, log zerolog.Logger) *Worker {
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 8
	}
	if cfg.BaseBackoff <= 0 {
		cfg.BaseBackoff = time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 10 * time.Minute
	}
	if cfg.Idle <= 0 {
		cfg.Idle = time.Second
	}
	return &Worker{
		store: st, applier: applier, connectors: connectors, observer: observer, cfg: cfg,
		log:  log.With().Str("component", "inbox").Logger(),
		wake: make(chan struct{}, 1),
		now:  func() time.Time { return time.Now().UTC() },
	}
}

// Wake signals the worker to read the inbox now. It never blocks.
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run processes the inbox until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	w.log.Info().Msg("inbox worker started")
	defer w.log.Info().Msg("inbox worker stopped")
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		case <-timer.C:
		}
		w.Drain(ctx)
		timer.Reset(w.cfg.Idle)
	}
}

// Drain processes every pending item that is due and returns how many it
// handled. Tests call it to run the inbox to completion without timing.
func (w *Worker) Drain(ctx context.Context) int {
	w.mu.Lock()
	if w.busy {
		w.mu.Unlock()
		return 0
	}
	w.busy = true
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		w.busy = false
		w.mu.Unlock()
	}()

	handled := 0
	for ctx.Err() == nil {
		var items []store.InboxItem
		err := w.store.View(func(tx *store.Tx) error {
			var err error
			items, err = tx.PendingInbox(200)
			return err
		})
		if err != nil {
			w.log.Error().Err(err).Msg("read inbox failed")
			return handled
		}
		progressed := false
		for _, it := range items {
			if ctx.Err() != nil {
				return handled
			}
			if it.NextAttemptAt.After(w.now()) {
				continue
			}
			w.process(ctx, it)
			handled++
			progressed = true
		}
		if !progressed || len(items) < 200 {
			return handled
		}
	}
	return handled
}

func (w *Worker) process(ctx context.Context, it store.InboxItem) {
	log := w.log.With().Uint64("seq", it.Seq).Str("provider", it.Provider).Str("connection_id", it.ConnectionID).Str("event_id", it.Key).Logger()
	err := w.resolveAndApply(ctx, it)
	if err == nil {
		return
	}

	it.Attempts++
	it.LastError = err.Error()
	if it.Attempts >= w.cfg.MaxAttempts {
		it.State = store.InboxFailed
		log.Error().Err(err).Int("attempts", it.Attempts).Msg("inbox item parked after repeated failures")
		if w.observer != nil {
			w.observer.Parked()
		}
	} else {
		wait := w.cfg.BaseBackoff << (it.Attempts - 1)
		if wait > w.cfg.MaxBackoff || wait <= 0 {
			wait = w.cfg.MaxBackoff
		}
		it.NextAttemptAt = w.now().Add(wait)
		log.Warn().Err(err).Int("attempts", it.Attempts).Dur("retry_in", wait).Msg("inbox item failed; will retry")
		if w.observer != nil {
			w.observer.Retried()
		}
	}
	if err := w.store.Update(func(tx *store.Tx) error { return tx.PutInboxItem(it) }); err != nil {
		log.Error().Err(err).Msg("record inbox failure failed")
	}
}

func (w *Worker) resolveAndApply(ctx context.Context, it store.InboxItem) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic while applying: %v", r)
		}
	}()
	c, ok := w.connectors[Provider(it.Provider)]
	if !ok {
		return fmt.Errorf("no connector for provider %q", it.Provider)
	}
	err = w.store.View(func(tx *store.Tx) error {
		_, err := tx.Connection(it.ConnectionID)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		// The user disconnected after the delivery was stored: nothing to apply.
		w.log.Info().Uint64("seq", it.Seq).Str("connection_id", it.ConnectionID).Msg("inbox item of a removed connection closed without applying")
		return w.applier.Apply(ctx, it, nil)
	}
	events, err := c.Resolve(ctx, it)
	if err != nil {
		return fmt.Errorf("resolve: %w", err)
	}
	return w.applier.Apply(ctx, it, events)
}

// ErrNoConnector is returned for items of a provider that is not configured.
var ErrNoConnector = errors.New("no connector for provider")
