package hubspot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/referralpulse/referralpulse/store"
	"github.com/referralpulse/referralpulse/sync/crm"
)

// Scopes requests read access to deals, contacts and companies. HubSpot
// requires crm.objects.contacts.read for any CRM webhook subscription.
var Scopes = []string{"crm.objects.deals.read", "crm.objects.contacts.read", "crm.objects.companies.read", "oauth"}

// refreshAhead is how long before expiry an access token is refreshed.
// HubSpot access tokens live 30 minutes (expires_in 1800), and HubSpot
// advises refreshing ahead instead of waiting for a 401.
const refreshAhead = 5 * time.Minute

// oauthStateLifetime bounds the time between StartOAuth and the callback.
const oauthStateLifetime = 15 * time.Minute

// tokenResponse is the token endpoint's answer. HubSpot documents snake
// case; one generated reference shows camel case, so both are read.
type tokenResponse struct {
	AccessToken       string `json:"access_token"`
	RefreshToken      string `json:"refresh_token"`
	ExpiresIn         int    `json:"expires_in"`
	HubID             int64  `json:"hub_id"`
	AccessTokenCamel  string `json:"accessToken"`
	RefreshTokenCamel string `json:"refreshToken"`
	ExpiresInCamel    int    `json:"expiresIn"`
	HubIDCamel        int64  `json:"hubId"`
}

func (t *tokenResponse) normalize() {
	if t.AccessToken == "" {
		t.AccessToken = t.AccessTokenCamel
	}
	if t.RefreshToken == "" {
		t.RefreshToken = t.RefreshTokenCamel
	}
	if t.ExpiresIn == 0 {
		t.ExpiresIn = t.ExpiresInCamel
	}
	if t.HubID == 0 {
		t.HubID = t.HubIDCamel
	}
}

// introspection is the part of POST /oauth/v3/token/introspect we read.
type introspection struct {
	HubID          int64  `json:"hub_id"`
	HubDomain      string `json:"hub_domain"`
	HubIDCamel     int64  `json:"hubId"`
	HubDomainCamel string `json:"hubDomain"`
}

// errBadRefreshToken is HubSpot's BAD_REFRESH_TOKEN: the app was
// uninstalled, the grant revoked, or the client credentials are wrong.
var errBadRefreshToken = errors.New("HubSpot rejected the refresh token (BAD_REFRESH_TOKEN)")

// StartOAuth stores a one-time state and returns HubSpot's authorize URL.
func (c *Connector) StartOAuth(ctx context.Context, userID string, params map[string]string) (string, error) {
	if c.cfg.ClientID == "" || c.cfg.ClientSecret == "" {
		return "", errors.New("HubSpot OAuth is not configured: set hubspot.client_id and hubspot.client_secret (RP_HUBSPOT_CLIENT_ID, RP_HUBSPOT_CLIENT_SECRET)")
	}

	state, err := randomState()
	if err != nil {
		return "", err
	}
	err = c.st.Update(func(tx *store.Tx) error {
		return tx.PutOAuthState(store.OAuthState{
			State:     state,
			UserID:    userID,
			Provider:  string(crm.HubSpot),
			ExpiresAt: c.now().Add(oauthStateLifetime),
		})
	})
	if err != nil {
		return "", fmt.Errorf("store HubSpot OAuth state: %w", err)
	}

	q := url.Values{}
	q.Set("client_id", c.cfg.ClientID)
	q.Set("redirect_uri", c.RedirectURL())
	q.Set("scope", strings.Join(Scopes, " "))
	q.Set("state", state)
	return c.cfg.AuthURL + "/oauth/authorize?" + q.Encode(), nil
}

// FinishOAuth exchanges the callback's code for tokens and stores the connection.
func (c *Connector) FinishOAuth(ctx context.Context, query map[string]string) (store.Connection, error) {
	if msg := query["error"]; msg != "" {
		return store.Connection{}, crm.Errorf("error", "HubSpot did not authorize the app: %s %s", msg, query["error_description"])
	}
	if query["code"] == "" {
		return store.Connection{}, crm.Errorf("code", "missing authorization code in the HubSpot callback")
	}

	var st store.OAuthState
	err := c.st.Update(func(tx *store.Tx) error {
		var err error
		st, err = tx.TakeOAuthState(query["state"])
		return err
	})
	if err != nil || st.Provider != string(crm.HubSpot) {
		return store.Connection{}, crm.Errorf("state", "unknown or expired OAuth state: start the HubSpot connection again")
	}

	tok, err := c.requestToken(ctx, url.Values{
		"grant_type":   {"authorization_code"},
		"code":         {query["code"]},
		"redirect_uri": {c.RedirectURL()},
	})
	if err != nil {
		return store.Connection{}, fmt.Errorf("exchange HubSpot authorization code: %w", err)
	}

	portalID, accountName := "", ""
	if tok.HubID != 0 {
		portalID = strconv.FormatInt(tok.HubID, 10)
	}
	info, err := c.introspect(ctx, tok.AccessToken)
	if err != nil && portalID == "" {
		return store.Connection{}, fmt.Errorf("read the HubSpot portal id of the new token: %w", err)
	}
	if err == nil {
		if portalID == "" && info.HubID != 0 {
			portalID = strconv.FormatInt(info.HubID, 10)
		}
		accountName = info.HubDomain
	}
	if portalID == "" {
		return store.Connection{}, errors.New("HubSpot token response and introspection carry no hub id: cannot route webhooks for this connection")
	}

	conn := store.Connection{
		UserID:       st.UserID,
		PortalID:     portalID,
		AccountName:  accountName,
		AccessToken:  tok.AccessToken,
		RefreshToken: tok.RefreshToken,
		TokenExpiry:  c.now().Add(time.Duration(tok.ExpiresIn) * time.Second),
	}
	return c.saveNewConnection(conn)
}

// Connect stores a static app token (a private or project app's access
// token) for portal_id after checking that it can read deal pipelines.
func (c *Connector) Connect(ctx context.Context, userID string, req crm.ConnectRequest) (store.Connection, error) {
	token := strings.TrimSpace(req.AccessToken)
	portalID := strings.TrimSpace(req.PortalID)
	if token == "" {
		return store.Connection{}, crm.Errorf("access_token", "missing: paste the access token of your HubSpot app")
	}
	if _, err := strconv.ParseUint(portalID, 10, 64); err != nil {
		return store.Connection{}, crm.Errorf("portal_id", "%q is not a HubSpot portal id: use the number shown under Account and Billing", req.PortalID)
	}

	conn := store.Connection{
		UserID:       userID,
		PortalID:     portalID,
		AccessToken:  token,
		RefreshToken: strings.TrimSpace(req.RefreshToken),
	}
	if conn.RefreshToken != "" && req.ExpiresIn > 0 {
		conn.TokenExpiry = c.now().Add(time.Duration(req.ExpiresIn) * time.Second)
	}
	if err := c.refuseOtherPortal(userID, portalID); err != nil {
		return store.Connection{}, err
	}

	// NOTE: no endpoint in use tells which portal a static app token
	// belongs to, so portal_id is trusted as entered.
	if _, err := c.fetchPipelines(ctx, &conn); err != nil {
		var apiErr *apiError
		if errors.As(err, &apiErr) && (apiErr.StatusCode == http.StatusUnauthorized || apiErr.StatusCode == http.StatusForbidden) {
			return store.Connection{}, crm.Errorf("access_token", "HubSpot rejected the token (%d %s): check that it is current and has the crm.objects.deals.read scope", apiErr.StatusCode, apiErr.Category)
		}
		return store.Connection{}, fmt.Errorf("check the HubSpot token by reading deal pipelines: %w", err)
	}
	return c.saveNewConnection(conn)
}

// saveNewConnection stores conn, or refreshes the tokens of the user's
// existing connection to the same portal. A user may connect one portal only.
func (c *Connector) saveNewConnection(conn store.Connection) (store.Connection, error) {
	if conn.AccountName == "" {
		conn.AccountName = conn.PortalID
	}
	conn.Provider = string(crm.HubSpot)
	conn.State = store.ConnectionConnected
	conn.StateMessage = ""

	err := c.st.Update(func(tx *store.Tx) error {
		existing, err := tx.UserConnections(conn.UserID)
		if err != nil {
			return err
		}
		for _, old := range existing {
			if old.Provider != string(crm.HubSpot) {
				continue
			}
			if old.PortalID != conn.PortalID {
				return otherPortalError(old.PortalID)
			}
			conn.ID, conn.CreatedAt, conn.Health, conn.Extra = old.ID, old.CreatedAt, old.Health, old.Extra
		}
		return tx.PutConnection(&conn)
	})
	if err != nil {
		return store.Connection{}, err
	}
	c.log.Info().Str("connection_id", conn.ID).Str("portal_id", conn.PortalID).Msg("HubSpot connected")
	return conn, nil
}

// refuseOtherPortal checks the one-portal-per-user rule before any API call.
func (c *Connector) refuseOtherPortal(userID, portalID string) error {
	return c.st.View(func(tx *store.Tx) error {
		existing, err := tx.UserConnections(userID)
		if err != nil {
			return err
		}
		for _, old := range existing {
			if old.Provider == string(crm.HubSpot) && old.PortalID != portalID {
				return otherPortalError(old.PortalID)
			}
		}
		return nil
	})
}

func otherPortalError(portalID string) error {
	return crm.Errorf("portal_id", "you are already connected to HubSpot portal %s: disconnect the HubSpot connection to portal %s first", portalID, portalID)
}

// Disconnect deletes the connection. HubSpot app webhooks are configured
// per app, not per install, so there is nothing to delete in HubSpot.
func (c *Connector) Disconnect(ctx context.Context, connectionID string) error {
	if _, err := c.loadConnection(connectionID); err != nil {
		return err
	}
	if err := c.st.Update(func(tx *store.Tx) error { return tx.DeleteConnection(connectionID) }); err != nil {
		return fmt.Errorf("delete connection %s: %w", connectionID, err)
	}
	c.log.Info().Str("connection_id", connectionID).Msg("HubSpot disconnected")
	return nil
}

// ensureToken refreshes conn's access token when it expires within
// refreshAhead, or always when force is set. Static tokens, which have no
// refresh token, are left alone.
func (c *Connector) ensureToken(ctx context.Context, conn *store.Connection, force bool) error {
	if conn.RefreshToken == "" {
		return nil
	}
	if !force && c.now().Add(refreshAhead).Before(conn.TokenExpiry) {
		return nil
	}

	lock := c.refreshLock(conn.ID)
	lock.Lock()
	defer lock.Unlock()

	// Another caller may have refreshed while this one waited for the lock.
	stored, err := c.loadConnection(conn.ID)
	if err != nil {
		return err
	}
	if stored.AccessToken != conn.AccessToken && c.now().Add(refreshAhead).Before(stored.TokenExpiry) {
		*conn = stored
		return nil
	}

	tok, err := c.requestToken(ctx, url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {stored.RefreshToken},
	})
	if errors.Is(err, errBadRefreshToken) {
		c.markBroken(conn.ID, "HubSpot refused to refresh access (the app was uninstalled or access was revoked): connect HubSpot again")
		return fmt.Errorf("refresh token of connection %s: %w: %w", conn.ID, err, crm.ErrBroken)
	}
	if err != nil {
		return fmt.Errorf("refresh token of connection %s: %w", conn.ID, err)
	}

	err = c.updateConnection(conn.ID, func(cur *store.Connection) {
		cur.AccessToken = tok.AccessToken
		if tok.RefreshToken != "" {
			cur.RefreshToken = tok.RefreshToken
		}
		cur.TokenExpiry = c.now().Add(time.Duration(tok.ExpiresIn) * time.Second)
		*conn = *cur
	})
	if err != nil {
		return fmt.Errorf("store refreshed token of connection %s: %w", conn.ID, err)
	}
	c.log.Info().Str("connection_id", conn.ID).Time("token_expiry", conn.TokenExpiry).Msg("access token refreshed")
	return nil
}

// requestToken posts a grant to /oauth/v3/token with the client credentials
// in the form body, never in the query.
func (c *Connector) requestToken(ctx context.Context, form url.Values) (tokenResponse, error) {
	var tok tokenResponse
	form.Set("client_id", c.cfg.ClientID)
	form.Set("client_secret", c.cfg.ClientSecret)

	raw, status, err := c.postForm(ctx, "/oauth/v3/token", form)
	if err != nil {
		return tok, err
	}
	if status != http.StatusOK {
		var e apiError
		_ = json.Unmarshal(raw, &e)
		if e.Status == "BAD_REFRESH_TOKEN" || e.Category == "BAD_REFRESH_TOKEN" {
			return tok, errBadRefreshToken
		}
		e.StatusCode = status
		return tok, &e
	}
	if err := json.Unmarshal(raw, &tok); err != nil {
		return tok, fmt.Errorf("decode HubSpot token response: %w", err)
	}
	tok.normalize()
	if tok.AccessToken == "" {
		return tok, errors.New("HubSpot token response has no access_token")
	}
	return tok, nil
}

// introspect reads the portal of an OAuth access token.
//
// NOTE: HubSpot's OAuth documentation names POST /oauth/v3/token/introspect
// but not its request fields. This sends the token plus the client
// credentials as a form and reads hub_id or hubId.
func (c *Connector) introspect(ctx context.Context, accessToken string) (introspection, error) {
	var info introspection
	form := url.Values{
		"token":         {accessToken},
		"client_id":     {c.cfg.ClientID},
		"client_secret": {c.cfg.ClientSecret},
	}
	raw, status, err := c.postForm(ctx, "/oauth/v3/token/introspect", form)
	if err != nil {
		return info, err
	}
	if status != http.StatusOK {
		return info, fmt.Errorf("HubSpot token introspection returned %d", status)
	}
	if err := json.Unmarshal(raw, &info); err != nil {
		return info, fmt.Errorf("decode HubSpot token introspection: %w", err)
	}
	if info.HubID == 0 {
		info.HubID = info.HubIDCamel
	}
	if info.HubDomain == "" {
		info.HubDomain = info.HubDomainCamel
	}
	return info, nil
}

func (c *Connector) postForm(ctx context.Context, path string, form url.Values) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.BaseURL+path, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, 0, fmt.Errorf("build POST %s: %w", path, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")

	resp, err := c.http.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("POST %s: %w", path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return nil, 0, fmt.Errorf("read POST %s response: %w", path, err)
	}
	return raw, resp.StatusCode, nil
}

func randomState() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate OAuth state: %w", err)
	}
	return hex.EncodeToString(b), nil
}
