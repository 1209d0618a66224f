package ui

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/referralpulse/referralpulse/sync/crm"
)

func (s *Server) clioWebhook(c *fiber.Ctx) error {
	return s.webhook(c, crm.Clio, c.Params("connection_id"))
}

func (s *Server) hubspotWebhook(c *fiber.Ctx) error {
	return s.webhook(c, crm.HubSpot, "")
}

// webhook hands the raw delivery to the connector, which verifies and
// stores it; the response goes out only after the inbox write.
func (s *Server) webhook(c *fiber.Ctx, p crm.Provider, connectionID string) error {
	s.App.Metrics.WebhooksReceived.Add(1)
	connector, err := s.App.Connector(p)
	if err != nil {
		s.App.Metrics.WebhooksRejected.Add(1)
		return apiError(fiber.StatusNotFound, "not_found", p.Label()+" is not configured on this server", "")
	}

	header := http.Header{}
	c.Request().Header.VisitAll(func(k, v []byte) {
		header.Add(string(k), string(v))
	})
	// The signed URL is the configured public URL, never one rebuilt from
	// Host or X-Forwarded-* headers.
	u := strings.TrimRight(s.cfg.PublicURL, "/") + c.Path()
	if q := string(c.Request().URI().QueryString()); q != "" {
		u += "?" + q
	}
	resp := connector.HandleWebhook(c.UserContext(), crm.WebhookRequest{
		ConnectionID: connectionID,
		Method:       c.Method(),
		URL:          u,
		Header:       header,
		Body:         append([]byte(nil), c.Body()...),
		ReceivedAt:   time.Now().UTC(),
	})
	if resp.Rejected {
		s.App.Metrics.WebhooksRejected.Add(1)
	}
	if resp.Stored > 0 && s.waker != nil {
		s.waker.Wake()
	}
	for k, v := range resp.Header {
		c.Set(k, v)
	}
	if resp.Status == 0 {
		resp.Status = fiber.StatusOK
	}
	return c.Status(resp.Status).Send(resp.Body)
}

// oauthConnector returns the connector named by the route's provider. An
// unknown provider is a 404; a provider this server has no credentials for
// sends the user back to the integrations page with the reason.
func (s *Server) oauthConnector(c *fiber.Ctx) (crm.Provider, crm.Connector, error) {
	p, err := crm.ParseProvider(c.Params("provider"))
	if err != nil {
		return p, nil, apiError(fiber.StatusNotFound, "not_found", err.Error(), "provider")
	}
	connector, err := s.App.Connector(p)
	if err != nil {
		if err := s.integrationsRedirect(c, "", err.Error()); err != nil {
			return p, nil, err
		}
		return p, nil, errResponded
	}
	return p, connector, nil
}

// errResponded signals a handler that a helper already wrote the response.
var errResponded = errors.New("response already written")

func queryParams(c *fiber.Ctx) map[string]string {
	params := map[string]string{}
	c.Context().QueryArgs().VisitAll(func(k, v []byte) { params[string(k)] = string(v) })
	return params
}

// oauthStart redirects a signed-in user to the CRM's consent page.
func (s *Server) oauthStart(c *fiber.Ctx) error {
	user, err := s.pageUser(c)
	if err != nil {
		return c.Redirect("/login?next=" + url.QueryEscape(c.OriginalURL()))
	}
	_, connector, err := s.oauthConnector(c)
	if errors.Is(err, errResponded) {
		return nil
	}
	if err != nil {
		return err
	}
	target, err := connector.StartOAuth(c.UserContext(), user.ID, queryParams(c))
	if err != nil {
		return s.integrationsRedirect(c, "", err.Error())
	}
	return c.Redirect(target, fiber.StatusFound)
}

// oauthCallback finishes the flow; the connector checks the state value.
func (s *Server) oauthCallback(c *fiber.Ctx) error {
	p, connector, err := s.oauthConnector(c)
	if errors.Is(err, errResponded) {
		return nil
	}
	if err != nil {
		return err
	}
	conn, err := connector.FinishOAuth(c.UserContext(), queryParams(c))
	if err != nil {
		s.log.Warn().Err(err).Str("provider", string(p)).Msg("oauth callback failed")
		return s.integrationsRedirect(c, "", p.Label()+" connection failed: "+err.Error())
	}
	s.log.Info().Str("provider", string(p)).Str("connection_id", conn.ID).Msg("crm connected through oauth")
	return s.integrationsRedirect(c, conn.ID, "")
}

func (s *Server) integrationsRedirect(c *fiber.Ctx, connected, problem string) error {
	q := url.Values{}
	if connected != "" {
		q.Set("connected", connected)
	}
	if problem != "" {
		q.Set("error", problem)
	}
	return c.Redirect("/settings/integrations?"+q.Encode(), fiber.StatusFound)
}
