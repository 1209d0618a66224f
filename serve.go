package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/rs/zerolog"

	"github.com/referralpulse/referralpulse/app"
	"github.com/referralpulse/referralpulse/matcher"
	"github.com/referralpulse/referralpulse/store"
	"github.com/referralpulse/referralpulse/sync/crm"
	"github.com/referralpulse/referralpulse/ui"
)

// adminFile is written into the data directory while a server runs so the
// CLI on the same machine can ask it for a backup.
const adminFile = "admin.json"

type adminInfo struct {
	Listen string `json:"listen"`
	Token  string `json:"token"`
}

// server is the running appliance: store, index, rules engine, inbox
// worker, scheduler and HTTP server.
type server struct {
	cfg       config
	log       zerolog.Logger
	store     *store.Store
	index     *matcher.Index
	app       *app.App
	worker    *crm.Worker
	scheduler *crm.Scheduler
	http      *ui.Server
	ln        net.Listener

	cancel    context.CancelFunc
	wg        sync.WaitGroup
	serveErr  chan error
	closeOnce sync.Once
}

// workerObserver feeds worker counts into the metrics.
type workerObserver struct{ m *app.Metrics }

func (o workerObserver) Retried() { o.m.EventsRetried.Add(1) }
func (o workerObserver) Parked()  { o.m.EventsParked.Add(1) }

// serverOptions are the parts of startServer that demo mode and tests change.
type serverOptions struct {
	// ExtraRoutes adds HTTP routes, such as the demo sandbox.
	ExtraRoutes func(f *fiber.App)
}

// startServer opens everything, starts the background work and listens.
// ln may be nil, in which case cfg.Listen is used.
func startServer(cfg config, log zerolog.Logger, ln net.Listener, opts serverOptions) (*server, error) {
	start := time.Now()
	key, err := secretKey(cfg)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(cfg.DataDir, key, store.Options{})
	if err != nil {
		return nil, err
	}
	s := &server{cfg: cfg, log: log, store: st, serveErr: make(chan error, 1)}
	fail := func(err error) (*server, error) {
		s.close(context.Background())
		return nil, err
	}

	if s.index, err = openIndex(cfg.DataDir, st, log); err != nil {
		return fail(err)
	}
	s.app = app.New(st, s.index, log)
	s.app.PublicURL = cfg.PublicURL
	mailer, err := app.NewSMTPMailer(app.SMTPConfig{Host: cfg.SMTPHost, Port: cfg.SMTPPort, Username: cfg.SMTPUsername, Password: cfg.SMTPPassword, From: cfg.SMTPFrom})
	if err != nil {
		return fail(err)
	}
	if mailer != nil {
		s.app.Mailer = mailer
	}

	connectors, err := buildConnectors(cfg, st, log)
	if err != nil {
		return fail(err)
	}
	for _, c := range connectors {
		s.app.Register(c)
	}

	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.worker = crm.NewWorker(st, s.app, s.app.Connectors(), workerObserver{s.app.Metrics}, crm.WorkerConfig{}, log)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.worker.Run(ctx)
	}()
	s.scheduler = crm.NewScheduler(st, s.app.Connectors(), log, s.worker.Wake)
	if err := s.scheduler.Start(cfg.PollSchedule); err != nil {
		return fail(err)
	}

	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.Listen); err != nil {
			return fail(fmt.Errorf("listen on %s (server.listen): %w", cfg.Listen, err))
		}
	}
	s.ln = ln
	adminToken := randomHex(32)
	s.http = ui.New(s.app, ui.Config{PublicURL: cfg.PublicURL, AdminToken: adminToken, Ready: s.ready, ExtraRoutes: opts.ExtraRoutes}, s.scheduler, s.worker, log)
	if err := writeAdminInfo(cfg.DataDir, adminInfo{Listen: ln.Addr().String(), Token: adminToken}); err != nil {
		return fail(err)
	}
	go func() { s.serveErr <- s.http.Serve(ln) }()

	log.Info().Str("listen", ln.Addr().String()).Str("public_url", cfg.PublicURL).Str("data_dir", cfg.DataDir).
		Int("connectors", len(connectors)).Dur("start", time.Since(start)).Msg("server started")
	return s, nil
}

func (s *server) ready() error {
	if s.cancel == nil {
		return errors.New("background workers are not running")
	}
	return nil
}

// Addr returns the address the server listens on.
func (s *server) Addr() string { return s.ln.Addr().String() }

// close stops everything in order: HTTP, then the scheduler and the inbox
// worker, then the search index, then the database, logging each step.
// Calls after the first do nothing.
func (s *server) close(ctx context.Context) {
	s.closeOnce.Do(func() { s.shutdown(ctx) })
}

func (s *server) shutdown(ctx context.Context) {
	if s.http != nil {
		if err := s.http.Shutdown(ctx); err != nil {
			s.log.Error().Err(err).Msg("http shutdown failed")
		}
		os.Remove(filepath.Join(s.cfg.DataDir, adminFile))
		s.log.Info().Msg("http stopped")
	}
	if s.scheduler != nil {
		s.scheduler.Stop()
	}
	if s.cancel != nil {
		s.cancel()
		s.wg.Wait()
	}
	if s.index != nil {
		if err := s.index.Close(); err != nil {
			s.log.Error().Err(err).Msg("close search index failed")
		}
		s.log.Info().Msg("search index closed")
	}
	if s.store != nil {
		if err := s.store.Close(); err != nil {
			s.log.Error().Err(err).Msg("close database failed")
		}
		s.log.Info().Msg("database closed")
	}
}

// openIndex opens the Bleve index beside the database and rebuilds it from
// bbolt when it was missing, unreadable or out of step.
func openIndex(dataDir string, st *store.Store, log zerolog.Logger) (*matcher.Index, error) {
	ix, rebuilt, err := matcher.OpenIndex(filepath.Join(dataDir, "index"))
	if err != nil {
		return nil, fmt.Errorf("open search index: %w", err)
	}
	count, err := ix.DocCount()
	if err != nil {
		ix.Close()
		return nil, fmt.Errorf("count search index: %w", err)
	}
	want := 0
	_ = st.View(func(tx *store.Tx) error { want = tx.SearchableCount(); return nil })
	if !rebuilt && int(count) == want {
		return ix, nil
	}

	start := time.Now()
	var refs []matcher.ReferralDoc
	var ents []matcher.EntityDoc
	err = st.View(func(tx *store.Tx) error {
		if err := tx.AllReferrals(func(r store.Referral) error {
			refs = append(refs, app.ReferralDoc(tx, r))
			return nil
		}); err != nil {
			return err
		}
		return tx.AllEntities(func(e store.Entity) error {
			ents = append(ents, matcher.EntityDoc{ConnectionID: e.ConnectionID, EntityType: e.EntityType, EntityID: e.EntityID, Name: e.Name, ClientName: e.ClientName})
			return nil
		})
	})
	if err == nil {
		err = ix.Batch(refs, ents)
	}
	if err != nil {
		ix.Close()
		return nil, fmt.Errorf("rebuild search index: %w", err)
	}
	log.Info().Int("referrals", len(refs)).Int("crm_records", len(ents)).Dur("took", time.Since(start)).Msg("search index rebuilt")
	return ix, nil
}

func writeAdminInfo(dataDir string, info adminInfo) error {
	raw, err := json.Marshal(info)
	if err != nil {
		return err
	}
	path := filepath.Join(dataDir, adminFile)
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
