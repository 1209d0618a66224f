// Package ui is the HTTP face of the appliance on Fiber: the JSON API, the
// CRM webhook endpoints, the OAuth callbacks, the live event stream and the
// health endpoints.
package ui

import (
	"context"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/rs/zerolog"

	"github.com/referralpulse/referralpulse/app"
	"github.com/referralpulse/referralpulse/sync/crm"
)

// DefaultBodyLimit caps request bodies. HubSpot batches stay far below it.
const DefaultBodyLimit = 1 << 20

// Poller runs a connection's poll now; the scheduler implements it.
type Poller interface {
	Poll(ctx context.Context, connectionID string) (crm.PollResult, error)
}

// Waker receives a signal after new inbox items are stored. The inbox worker implements it.
type Waker interface {
	Wake()
}

// Config holds the settings the HTTP layer needs.
type Config struct {
	// PublicURL is the base URL CRMs and browsers use to reach the server.
	PublicURL string
	BodyLimit int
	// AdminToken authorizes the backup endpoint for the CLI on this machine.
	AdminToken string
	// Ready reports whether background workers run, for /readyz.
	Ready func() error
	// ExtraRoutes adds routes before the pages' catch-all, such as the
	// sandbox of demo mode.
	ExtraRoutes func(f *fiber.App)
}

// Server is the Fiber application with its dependencies.
type Server struct {
	App    *app.App
	Fiber  *fiber.App
	cfg    Config
	poller Poller
	waker  Waker
	log    zerolog.Logger
	done   chan struct{}
	// stopStreams closes done once, which ends every open event stream.
	stopStreams sync.Once
}

// New builds the server and its routes.
func New(a *app.App, cfg Config, poller Poller, waker Waker, log zerolog.Logger) *Server {
	if cfg.BodyLimit <= 0 {
		cfg.BodyLimit = DefaultBodyLimit
	}
	s := &Server{App: a, cfg: cfg, poller: poller, waker: waker, log: log.With().Str("component", "http").Logger(), done: make(chan struct{})}
	s.Fiber = fiber.New(fiber.Config{
		AppName:               "referralpulse",
		BodyLimit:             cfg.BodyLimit,
		ReadTimeout:           15 * time.Second,
		IdleTimeout:           90 * time.Second,
		DisableStartupMessage: true,
		// Immutable copies every string Fiber hands out (params, queries,
		// form values). Without it they alias buffers that fasthttp reuses
		// after the handler returns, and anything kept longer, such as a
		// login throttle key, silently changes.
		Immutable:    true,
		ErrorHandler: s.handleError,
	})
	s.routes()
	return s
}

func (s *Server) routes() {
	f := s.Fiber
	f.Use(s.securityHeaders)
	f.Get("/healthz", func(c *fiber.Ctx) error { return c.SendString("ok") })
	f.Get("/readyz", s.readyz)
	f.Get("/metrics", s.metrics)

	f.Post("/webhooks/clio/:connection_id", s.clioWebhook)
	f.Post("/webhooks/hubspot", s.hubspotWebhook)
	f.Get("/oauth/:provider/start", s.oauthStart)
	f.Get("/oauth/:provider/callback", s.oauthCallback)
	if s.cfg.ExtraRoutes != nil {
		s.cfg.ExtraRoutes(f)
	}
	f.Get("/internal/backup", s.backup)
	s.pageRoutes()

	api := f.Group("/api/v1", s.authenticate)
	api.Get("/me", s.me)
	api.Get("/dashboard", s.dashboard)
	api.Get("/partners", s.listPartners)
	api.Post("/partners", s.createPartner)
	api.Get("/partners/:id", s.getPartner)
	api.Patch("/partners/:id", s.updatePartner)
	api.Post("/partners/:id/invite", s.invitePartner)
	api.Get("/partners/:id/referrals", s.partnerReferrals)
	api.Get("/referrals", s.listReferrals)
	api.Post("/referrals", s.createReferral)
	api.Get("/referrals/:id", s.getReferral)
	api.Patch("/referrals/:id", s.patchReferral)
	api.Get("/referrals/:id/timeline", s.timeline)
	api.Post("/referrals/:id/links", s.createLink)
	api.Delete("/referrals/:id/links/:link_id", s.deleteLink)
	api.Post("/suggestions/:id/confirm", s.confirmSuggestion)
	api.Post("/suggestions/:id/reject", s.rejectSuggestion)
	api.Get("/notifications", s.listNotifications)
	api.Post("/notifications/read-all", s.readAllNotifications)
	api.Post("/notifications/:id/read", s.readNotification)
	api.Get("/events", s.events)
	api.Get("/action-queue", s.listDrafts)
	api.Patch("/action-queue/:id", s.editDraft)
	api.Post("/action-queue/:id/send", s.sendDraft)
	api.Post("/action-queue/:id/dismiss", s.dismissDraft)
	api.Get("/connections", s.listConnections)
	api.Post("/connections", s.createConnection)
	api.Get("/connections/:id", s.getConnection)
	api.Delete("/connections/:id", s.deleteConnection)
	api.Post("/connections/:id/poll", s.pollConnection)
	api.Post("/connections/:id/retry", s.retryConnection)
	api.Get("/crm/search", s.searchCRM)
	api.Post("/assistant", s.assistant)
	api.Get("/tokens", s.listTokens)
	api.Post("/tokens", s.createToken)
	api.Delete("/tokens/:id", s.deleteToken)
	api.All("/*", func(c *fiber.Ctx) error {
		return apiError(fiber.StatusNotFound, "not_found", "no API route "+c.Method()+" "+c.Path()+": see the API reference", "")
	})
}

// Serve accepts connections on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	return s.Fiber.Listener(ln)
}

// Shutdown ends live streams and stops the server, waiting up to the context's deadline.
// Calls after the first only wait for the server again.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopStreams.Do(func() { close(s.done) })
	return s.Fiber.ShutdownWithContext(ctx)
}

func (s *Server) securityHeaders(c *fiber.Ctx) error {
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("X-Frame-Options", "DENY")
	c.Set("Referrer-Policy", "same-origin")
	if strings.HasPrefix(s.cfg.PublicURL, "https://") {
		c.Set("Strict-Transport-Security", "max-age=31536000")
	}
	return c.Next()
}

func (s *Server) readyz(c *fiber.Ctx) error {
	if _, err := s.App.Store.SchemaVersionOf(); err != nil {
		return apiError(fiber.StatusServiceUnavailable, "unavailable", "database not readable: "+err.Error(), "")
	}
	if s.cfg.Ready != nil {
		if err := s.cfg.Ready(); err != nil {
			return apiError(fiber.StatusServiceUnavailable, "unavailable", err.Error(), "")
		}
	}
	return c.SendString("ready")
}

func (s *Server) metrics(c *fiber.Ctx) error {
	var pending, failed int
	_ = s.App.Store.View(func(tx *storeTx) error {
		pending, failed = tx.InboxDepth()
		return nil
	})
	c.Set(fiber.HeaderContentType, "text/plain; version=0.0.4")
	s.App.Metrics.Write(c, pending, failed, s.App.Hub.Subscribers())
	return nil
}
