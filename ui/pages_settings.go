package ui

import (
	"fmt"
	"net/url"
	"strings"
	"time"

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
}

func (p *pages) integrationsPage(c *fiber.Ctx, v *view) error {
	v.Error = c.Query("error")
	v.Notice = c.Query("notice")
	if id := c.Query("connected"); id != "" {
		if conn, err := p.App.Connection(c.UserContext(), v.User.ID, id); err == nil {
			v.Notice = "Connected to " + crm.Provider(conn.Provider).Label() + " account " + conn.AccountName + "."
		}
	}
	return p.renderIntegrations(c, v, fiber.StatusOK, integrationsData{})
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

// integrationsBack returns to the integrations page with a message.
func integrationsBack(c *fiber.Ctx, key, msg string) error {
	return redirectAfterPost(c, "/settings/integrations?"+url.Values{key: {msg}}.Encode())
}

// pollPage runs a poll now through the same poller as the API.
func (p *pages) pollPage(c *fiber.Ctx, v *view) error {
	if p.poller == nil {
		return integrationsBack(c, "error", "Polling is not running on this server, so Poll now is unavailable.")
	}
	res, err := p.App.PollNow(c.UserContext(), v.User.ID, c.Params("id"), p.poller.Poll)
	if err != nil {
		if app.IsNotFound(err) {
			return err
		}
		return integrationsBack(c, "error", "Poll failed: "+err.Error())
	}
	return integrationsBack(c, "notice", fmt.Sprintf("Poll finished: %d records fetched, %d queued, %d that webhooks had missed.", res.Fetched, res.Queued, res.Missed))
}

func (p *pages) retryPage(c *fiber.Ctx, v *view) error {
	n, err := p.App.RetryFailed(c.UserContext(), v.User.ID, c.Params("id"))
	if err != nil {
		return err
	}
	if p.waker != nil {
		p.waker.Wake()
	}
	return integrationsBack(c, "notice", fmt.Sprintf("%d parked changes queued again.", n))
}

func (p *pages) disconnectPage(c *fiber.Ctx, v *view) error {
	if err := p.App.Disconnect(c.UserContext(), v.User.ID, c.Params("id")); err != nil {
		if app.IsNotFound(err) {
			return err
		}
		return integrationsBack(c, "error", "Disconnect failed: "+err.Error())
	}
	return integrationsBack(c, "notice", "Disconnected. Links on your referrals stay.")
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

func (p *pages) revokeTokenPage(c *fiber.Ctx, v *view) error {
	id := c.Params("id")
	err := p.App.Store.Update(func(tx *store.Tx) error { return tx.DeleteToken(v.User.ID, id) })
	if err != nil {
		return err
	}
	p.log.Info().Str("user_id", v.User.ID).Str("token_id", id).Msg("api token revoked")
	return integrationsBack(c, "notice", "Token revoked.")
}
