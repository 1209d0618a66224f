package ui

import (
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/referralpulse/referralpulse/app"
	"github.com/referralpulse/referralpulse/store"
	"github.com/referralpulse/referralpulse/sync/crm"
)

// clioRegions are the Clio data regions a user can connect to.
var clioRegions = []struct{ Code, Label string }{
	{"us", "United States (app.clio.com)"},
	{"ca", "Canada (ca.app.clio.com)"},
	{"eu", "Europe (eu.app.clio.com)"},
	{"au", "Australia (au.app.clio.com)"},
}

// providerRow is one CRM on the integrations page.
type providerRow struct {
	Provider    string
	Label       string
	Configured  bool
	Settings    string
	Connections []connectionRow
}

// connectionRow is one connection with the figures of its health panel.
type connectionRow struct {
	app.ConnectionView
	LastSynced time.Time
}

type integrationsData struct {
	Providers []providerRow
	Regions   []struct{ Code, Label string }
	Tokens    []store.Token
	// NewToken is the secret of a token created by this request, shown once.
	NewToken     string
	NewTokenName string
	TokenErrors  fieldErrors
	// ErrorDetail is the unverified reason text from an OAuth redirect.
	ErrorDetail string
}

func (p *pages) integrationsPage(c *fiber.Ctx, v *view) error {
	switch c.Query("notice") {
	case noticePolled:
		fetched, queued, missed := queryCount(c, "fetched"), queryCount(c, "queued"), queryCount(c, "missed")
		if fetched >= 0 && queued >= 0 && missed >= 0 {
			v.Notice = fmt.Sprintf("Poll finished: %d records fetched, %d queued, %d that webhooks had missed.", fetched, queued, missed)
		}
	case noticeRetried:
		if n := queryCount(c, "count"); n >= 0 {
			v.Notice = fmt.Sprintf("%d parked changes queued again.", n)
		}
	}
	if id := c.Query("connected"); id != "" {
		if conn, err := p.App.Connection(c.UserContext(), v.User.ID, id); err == nil {
			v.Notice = "Connected to " + crm.Provider(conn.Provider).Label() + " account " + conn.AccountName + "."
		}
	}
	data := integrationsData{}
	if raw := c.Query("error"); raw != "" {
		v.Error, data.ErrorDetail = oauthProblem(raw)
	}
	return p.renderIntegrations(c, v, fiber.StatusOK, data)
}

// maxProblemDetail caps the reason text shown from an OAuth redirect.
const maxProblemDetail = 300

// oauthProblem maps the error text the OAuth routes put into the redirect
// to a fixed message. The text arrives in the page address, where anyone
// can write it, so what cannot be mapped is returned only as detail, shown
// quoted as the reason reported, never as the page's own words.
func oauthProblem(raw string) (message, detail string) {
	for _, prov := range []crm.Provider{crm.Clio, crm.HubSpot} {
		label := prov.Label()
		if strings.HasPrefix(raw, label+" is not configured on this server") {
			return label + " is not configured on this server, so it cannot be connected. The " + label + " section below names the settings.", ""
		}
		if rest, ok := strings.CutPrefix(raw, label+" connection failed: "); ok {
			return "Connecting " + label + " failed. Try Connect " + label + " again; the server log has the details.", clip(rest, maxProblemDetail)
		}
	}
	return "Connecting the CRM failed. Try again; the server log has the details.", clip(raw, maxProblemDetail)
}

// clip shortens s to at most n bytes without splitting a UTF-8 character.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func (p *pages) renderIntegrations(c *fiber.Ctx, v *view, status int, data integrationsData) error {
	conns, err := p.App.Connections(c.UserContext(), v.User.ID)
	if err != nil {
		return err
	}
	connectors := p.App.Connectors()
	for _, prov := range []crm.Provider{crm.Clio, crm.HubSpot} {
		_, ok := connectors[prov]
		row := providerRow{
			Provider: string(prov), Label: prov.Label(), Configured: ok,
			Settings: fmt.Sprintf("%[1]s.client_id and %[1]s.client_secret in config.yaml, or RP_%[2]s_CLIENT_ID and RP_%[2]s_CLIENT_SECRET", prov, strings.ToUpper(string(prov))),
		}
		for _, cv := range conns {
			if cv.Provider != string(prov) {
				continue
			}
			last := cv.Health.LastWebhookAt
			if cv.Health.LastPollAt.After(last) {
				last = cv.Health.LastPollAt
			}
			row.Connections = append(row.Connections, connectionRow{ConnectionView: cv, LastSynced: last})
		}
		data.Providers = append(data.Providers, row)
	}
	data.Regions = clioRegions
	err = p.App.Store.View(func(tx *store.Tx) error {
		var err error
		data.Tokens, err = tx.UserTokens(v.User.ID)
		return err
	})
	if err != nil {
		return err
	}
	v.Title, v.Nav, v.Data = "Integrations", "settings", data
	return p.tmpl.render(c, status, "integrations", v)
}

// integrationsBack returns to the integrations page with a fixed notice or
// error code and optional counts.
func integrationsBack(c *fiber.Ctx, key, code string, counts ...any) error {
	q := url.Values{key: {code}}
	for i := 0; i+1 < len(counts); i += 2 {
		q.Set(fmt.Sprint(counts[i]), fmt.Sprint(counts[i+1]))
	}
	return redirectWith(c, "/settings/integrations", q)
}

// pollPage runs a poll now through the same poller as the API.
func (p *pages) pollPage(c *fiber.Ctx, v *view) error {
	if p.poller == nil {
		return integrationsBack(c, "failed", "poll_off")
	}
	id := c.Params("id")
	res, err := p.App.PollNow(c.UserContext(), v.User.ID, id, p.poller.Poll)
	if err != nil {
		if app.IsNotFound(err) {
			return err
		}
		p.log.Warn().Err(err).Str("connection_id", id).Msg("poll now from the integrations page failed")
		return integrationsBack(c, "failed", "poll_failed")
	}
	return integrationsBack(c, "notice", noticePolled, "fetched", res.Fetched, "queued", res.Queued, "missed", res.Missed)
}

func (p *pages) retryPage(c *fiber.Ctx, v *view) error {
	n, err := p.App.RetryFailed(c.UserContext(), v.User.ID, c.Params("id"))
	if err != nil {
		return err
	}
	if p.waker != nil {
		p.waker.Wake()
	}
	return integrationsBack(c, "notice", noticeRetried, "count", n)
}

// disconnectPage removes a connection after a confirmation.
func (p *pages) disconnectPage(c *fiber.Ctx, v *view) error {
	id := c.Params("id")
	if !confirmed(c) {
		conn, err := p.App.Connection(c.UserContext(), v.User.ID, id)
		if err != nil {
			return err
		}
		label := crm.Provider(conn.Provider).Label()
		return p.renderConfirm(c, v, "Disconnect", confirmData{
			Question: "Disconnect " + label + " account " + conn.AccountName + "?",
			Detail:   "ReferralPulse stops receiving changes from this account. Links on your referrals stay; connect again to resume.",
			Action:   "/settings/integrations/" + url.PathEscape(id) + "/disconnect",
			Button:   "Disconnect",
			Cancel:   "/settings/integrations#connection-" + url.PathEscape(id),
		})
	}
	if err := p.App.Disconnect(c.UserContext(), v.User.ID, id); err != nil {
		if app.IsNotFound(err) {
			return err
		}
		p.log.Error().Err(err).Str("connection_id", id).Msg("disconnect from the integrations page failed")
		return integrationsBack(c, "failed", "disconnect_failed")
	}
	return integrationsBack(c, "notice", "disconnected")
}

// createTokenPage issues an API token and shows its secret once.
func (p *pages) createTokenPage(c *fiber.Ctx, v *view) error {
	name := strings.TrimSpace(c.FormValue("name"))
	data := integrationsData{NewTokenName: name}
	if len(name) > 200 {
		data.TokenErrors = fieldErrors{"name": fmt.Sprintf("is %d characters long; the limit is 200", len(name))}
		return p.renderIntegrations(c, v, fiber.StatusBadRequest, data)
	}
	secret, tok, err := p.App.CreateToken(c.UserContext(), v.User.ID, name)
	if err != nil {
		return err
	}
	p.log.Info().Str("user_id", v.User.ID).Str("token_id", tok.ID).Msg("api token created")
	data.NewToken, data.NewTokenName = secret, tok.Name
	v.Notice = "Token created. Copy it now: it is shown only once."
	return p.renderIntegrations(c, v, fiber.StatusOK, data)
}

// revokeTokenPage deletes an API token after a confirmation.
func (p *pages) revokeTokenPage(c *fiber.Ctx, v *view) error {
	id := c.Params("id")
	if !confirmed(c) {
		name := ""
		err := p.App.Store.View(func(tx *store.Tx) error {
			tokens, err := tx.UserTokens(v.User.ID)
			for _, t := range tokens {
				if t.ID == id {
					name = t.Name
				}
			}
			return err
		})
		if err != nil {
			return err
		}
		if name == "" {
			name = "this token"
		} else {
			name = "the token “" + name + "”"
		}
		return p.renderConfirm(c, v, "Revoke token", confirmData{
			Question: "Revoke " + name + "?",
			Detail:   "Scripts that use it are rejected from then on. This cannot be undone; create a new token if you need one.",
			Action:   "/settings/tokens/" + url.PathEscape(id) + "/revoke",
			Button:   "Revoke token",
			Cancel:   "/settings/integrations#tokens-heading",
		})
	}
	err := p.App.Store.Update(func(tx *store.Tx) error { return tx.DeleteToken(v.User.ID, id) })
	if err != nil {
		return err
	}
	p.log.Info().Str("user_id", v.User.ID).Str("token_id", id).Msg("api token revoked")
	return integrationsBack(c, "notice", "token_revoked")
}
