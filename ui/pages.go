package ui

import (
	"errors"
	"mime"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/referralpulse/referralpulse/app"
	"github.com/referralpulse/referralpulse/store"
)

// sessionTTL is the absolute lifetime of a browser session.
const sessionTTL = 12 * time.Hour

// pages serves the browser UI: server-rendered HTML with htmx for partial
// updates, where every form also works without JavaScript.
type pages struct {
	*Server
	tmpl     *renderer
	throttle *loginThrottle
	// setupMu serializes first-run setup so two browsers cannot both create
	// the first account.
	setupMu sync.Mutex
}

// pageHandler is a page that needs a signed-in user; v already carries the
// user and the CSRF token.
type pageHandler func(c *fiber.Ctx, v *view) error

// pageRoutes registers the browser pages. The catch-all at the end renders
// an HTML 404 for page paths and passes /api, /webhooks and /oauth on to
// their JSON handlers.
func (s *Server) pageRoutes() {
	tmpl, err := newRenderer()
	if err != nil {
		panic("page templates are broken: " + err.Error())
	}
	p := &pages{Server: s, tmpl: tmpl, throttle: newLoginThrottle()}
	f := s.Fiber

	f.Get("/static/:name", p.static)
	f.Get("/", p.home)
	f.Get("/setup", p.setupForm)
	f.Post("/setup", p.setup)
	f.Get("/login", p.loginForm)
	f.Post("/login", p.login)
	f.Post("/logout", p.signedIn(p.logout))
	f.Get("/invite/:token", p.inviteForm)
	f.Post("/invite/:token/profile", p.inviteProfile)
	f.Post("/invite/:token/register", p.inviteRegister)

	f.Get("/dashboard", p.signedIn(p.dashboardPage))
	f.Get("/dashboard/summary", p.signedIn(p.dashboardSummary))
	f.Post("/notifications/read-all", p.signedIn(p.markAllRead))
	f.Post("/notifications/:id/read", p.signedIn(p.markRead))
	f.Post("/notifications/:id/open", p.signedIn(p.openNotification))
	f.Get("/assistant", p.signedIn(p.assistantPage))
	f.Post("/assistant", p.signedIn(p.assistantAsk))

	f.Get("/referrals", p.signedIn(p.referralsPage))
	f.Get("/referrals/new", p.signedIn(p.newReferralForm))
	f.Post("/referrals", p.signedIn(p.createReferralPage))
	f.Get("/referrals/:id", p.signedIn(p.referralPage))
	f.Get("/referrals/:id/crm-search", p.signedIn(p.crmSearchFragment))
	f.Post("/referrals/:id/status", p.signedIn(p.setStatusPage))
	f.Post("/referrals/:id/links", p.signedIn(p.linkPage))
	f.Post("/referrals/:id/links/:link_id/delete", p.signedIn(p.unlinkPage))
	f.Post("/suggestions/:id/confirm", p.signedIn(p.confirmPage))
	f.Post("/suggestions/:id/reject", p.signedIn(p.rejectPage))

	f.Get("/partners", p.signedIn(p.partnersPage))
	f.Post("/partners", p.signedIn(p.createPartnerPage))
	f.Get("/partners/:id", p.signedIn(p.partnerPage))
	f.Post("/partners/:id", p.signedIn(p.updatePartnerPage))
	f.Get("/partners/:id/invite", p.signedIn(p.backToPartner))
	f.Post("/partners/:id/invite", p.signedIn(p.invitePage))

	f.Get("/action-queue", p.signedIn(p.actionQueuePage))
	f.Get("/action-queue/:id", p.signedIn(p.backToDraft))
	f.Post("/action-queue/:id", p.signedIn(p.draftAction))

	f.Get("/settings/integrations", p.signedIn(p.integrationsPage))
	f.Post("/settings/integrations/:id/poll", p.signedIn(p.pollPage))
	f.Post("/settings/integrations/:id/retry", p.signedIn(p.retryPage))
	f.Post("/settings/integrations/:id/disconnect", p.signedIn(p.disconnectPage))
	f.Post("/settings/tokens", p.signedIn(p.createTokenPage))
	f.Post("/settings/tokens/:id/revoke", p.signedIn(p.revokeTokenPage))

	f.All("/*", p.notFound)
}

// signedIn resolves the session cookie, checks the CSRF token on every
// request that is not GET or HEAD, and renders errors as HTML pages.
func (p *pages) signedIn(h pageHandler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		sess, user, err := p.session(c)
		if err != nil {
			if c.Method() == fiber.MethodGet || c.Method() == fiber.MethodHead {
				return c.Redirect("/login?next="+url.QueryEscape(c.OriginalURL()), fiber.StatusSeeOther)
			}
			return p.errorPage(c, apiError(fiber.StatusForbidden, "unauthenticated", "You are signed out. Sign in again and repeat the action.", ""))
		}
		if c.Method() != fiber.MethodGet && c.Method() != fiber.MethodHead {
			if crossOrigin(c) || !sameToken(submittedToken(c), sess.CSRF) {
				p.log.Warn().Str("user_id", user.ID).Str("path", c.Path()).Msg("page request without a valid csrf token rejected")
				return p.errorPage(c, errCSRF)
			}
		}
		v := &view{User: user, CSRF: sess.CSRF}
		if c.Method() == fiber.MethodGet {
			applyFlash(c, v)
		}
		if err := h(c, v); err != nil {
			return p.errorPage(c, err)
		}
		return nil
	}
}

func (p *pages) session(c *fiber.Ctx) (store.Session, store.User, error) {
	cookie := c.Cookies(SessionCookie)
	if cookie == "" {
		return store.Session{}, store.User{}, errNoSession
	}
	return p.App.Session(c.UserContext(), cookie)
}

func (p *pages) secureCookies() bool {
	return strings.HasPrefix(strings.ToLower(p.cfg.PublicURL), "https://")
}

// errorView is the data of the HTML error page.
type errorView struct {
	Status  int
	Message string
}

// errorPage renders err as an HTML page with a way home. Server faults are
// logged with the cause; the page shows only a generic message.
func (p *pages) errorPage(c *fiber.Ctx, err error) error {
	he := classify(err)
	msg := he.detail.Message
	if he.status >= 500 {
		p.log.Error().Err(err).Str("method", c.Method()).Str("path", c.Path()).Msg("page request failed")
		msg = "Something went wrong on the server. The server log has the details; try again in a moment."
	}
	if he.status == fiber.StatusNotFound && msg == "" {
		msg = "This page does not exist."
	}
	v := &view{Title: "Error " + strconv.Itoa(he.status), Data: errorView{Status: he.status, Message: msg}}
	if sess, user, err := p.session(c); err == nil {
		v.User, v.CSRF = user, sess.CSRF
	}
	if renderErr := p.tmpl.render(c, he.status, "error", v); renderErr != nil {
		p.log.Error().Err(renderErr).Msg("render error page failed")
		return c.Status(he.status).SendString(msg)
	}
	return nil
}

// notFound renders the HTML 404 for page paths; API, webhook and OAuth
// paths fall through to their own JSON errors.
func (p *pages) notFound(c *fiber.Ctx) error {
	pth := c.Path()
	for _, prefix := range []string{"/api/", "/webhooks/", "/oauth/", "/internal/"} {
		if strings.HasPrefix(pth, prefix) || pth+"/" == prefix {
			return c.Next()
		}
	}
	return p.errorPage(c, apiError(fiber.StatusNotFound, "not_found", "There is no page at "+pth+".", ""))
}

// static serves the embedded CSS, JavaScript and htmx.
func (p *pages) static(c *fiber.Ctx) error {
	name := path.Base(c.Params("name"))
	body, err := staticFiles.ReadFile("static/" + name)
	if err != nil {
		return p.errorPage(c, apiError(fiber.StatusNotFound, "not_found", "There is no file "+name+".", ""))
	}
	ctype := mime.TypeByExtension(path.Ext(name))
	if ctype == "" {
		ctype = "text/plain; charset=utf-8"
	}
	c.Set(fiber.HeaderContentType, ctype)
	c.Set(fiber.HeaderCacheControl, "public, max-age=3600")
	return c.Send(body)
}

// home sends a visitor to setup, sign-in or the dashboard.
func (p *pages) home(c *fiber.Ctx) error {
	if p.noUsers() {
		return c.Redirect("/setup", fiber.StatusSeeOther)
	}
	if _, _, err := p.session(c); err != nil {
		return c.Redirect("/login", fiber.StatusSeeOther)
	}
	return c.Redirect("/dashboard", fiber.StatusSeeOther)
}

func (p *pages) noUsers() bool {
	n := 0
	_ = p.App.Store.View(func(tx *store.Tx) error {
		n = tx.UserCount()
		return nil
	})
	return n == 0
}

// isHTMX reports whether htmx sent the request and expects a fragment.
func isHTMX(c *fiber.Ctx) bool { return c.Get("HX-Request") == "true" }

// localPath accepts only same-site paths for redirects after a form, so a
// crafted "back" or "next" value cannot send the user elsewhere.
func localPath(raw, fallback string) string {
	if raw == "" || !strings.HasPrefix(raw, "/") || strings.HasPrefix(raw, "//") || strings.HasPrefix(raw, "/\\") {
		return fallback
	}
	return raw
}

// redirectAfterPost sends the browser back with 303 so a reload does not
// repeat the POST.
func redirectAfterPost(c *fiber.Ctx, target string) error {
	return c.Redirect(target, fiber.StatusSeeOther)
}

// fieldErrors maps a form field to its error message.
type fieldErrors map[string]string

// asFieldErrors turns an input error into a message next to its field and
// returns false for any other error.
func asFieldErrors(err error) (fieldErrors, bool) {
	var he *httpError
	if errors.As(err, &he) {
		return nil, false
	}
	fe, ok := app.IsInputError(err)
	if !ok {
		return nil, false
	}
	return fieldErrors{fe.Field: fe.Message}, true
}
