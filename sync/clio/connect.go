package clio

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/referralpulse/referralpulse/store"
	"github.com/referralpulse/referralpulse/sync/crm"
)

// oauthStateLifetime bounds how long a started authorization can finish.
const oauthStateLifetime = 10 * time.Minute

// grant is a token set from the API request or the OAuth exchange.
type grant struct {
	access    string
	refresh   string
	expiresIn int
}

func regionList() string {
	names := make([]string, 0, len(regionHosts))
	for name := range regionHosts {
		names = append(names, name)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func normalizeRegion(region string) (string, error) {
	region = strings.ToLower(strings.TrimSpace(region))
	if region == "" {
		region = "us"
	}
	if _, ok := regionHosts[region]; !ok {
		return "", crm.Errorf("region", "unknown Clio region %q: use one of %s", region, regionList())
	}
	return region, nil
}

// Connect creates a connection from tokens given through the API.
func (c *Connector) Connect(ctx context.Context, userID string, req crm.ConnectRequest) (store.Connection, error) {
	if req.Provider != "" && req.Provider != string(crm.Clio) {
		return store.Connection{}, crm.Errorf("provider", "provider %q does not match the Clio connector", req.Provider)
	}
	if strings.TrimSpace(req.Region) == "" {
		return store.Connection{}, crm.Errorf("region", "region is missing: use one of %s", regionList())
	}
	region, err := normalizeRegion(req.Region)
	if err != nil {
		return store.Connection{}, err
	}
	if strings.TrimSpace(req.AccessToken) == "" {
		return store.Connection{}, crm.Errorf("access_token", "access_token is missing: paste the access token Clio issued")
	}
	if strings.TrimSpace(req.RefreshToken) == "" {
		return store.Connection{}, crm.Errorf("refresh_token", "refresh_token is missing: without it the connection stops when the access token expires")
	}
	if req.ExpiresIn <= 0 {
		return store.Connection{}, crm.Errorf("expires_in", "expires_in must be the positive number of seconds from Clio's token response, got %d", req.ExpiresIn)
	}

	g := grant{access: strings.TrimSpace(req.AccessToken), refresh: strings.TrimSpace(req.RefreshToken), expiresIn: req.ExpiresIn}
	return c.createConnection(ctx, userID, region, g)
}

// StartOAuth returns Clio's authorization URL for the region in
// params["region"] (default "us").
func (c *Connector) StartOAuth(ctx context.Context, userID string, params map[string]string) (string, error) {
	region, err := normalizeRegion(params["region"])
	if err != nil {
		return "", err
	}

	buf := make([]byte, 24)
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("generate oauth state: %w", err)
	}
	state := base64.RawURLEncoding.EncodeToString(buf)
	err = c.store.Update(func(tx *store.Tx) error {
		return tx.PutOAuthState(store.OAuthState{
			State:     state,
			UserID:    userID,
			Provider:  string(crm.Clio),
			Region:    region,
			ExpiresAt: time.Now().Add(oauthStateLifetime).UTC(),
		})
	})
	if err != nil {
		return "", fmt.Errorf("store oauth state: %w", err)
	}

	return c.oauthConfig(region).AuthCodeURL(state, oauth2.SetAuthURLParam("redirect_on_decline", "true")), nil
}

// FinishOAuth exchanges the callback's code for tokens and creates the connection.
func (c *Connector) FinishOAuth(ctx context.Context, query map[string]string) (store.Connection, error) {
	if e := query["error"]; e != "" {
		return store.Connection{}, fmt.Errorf("clio authorization was not granted (%s): start the connection again and approve access", e)
	}
	if query["state"] == "" {
		return store.Connection{}, crm.Errorf("state", "state is missing from the Clio callback: start the connection again")
	}
	if query["code"] == "" {
		return store.Connection{}, crm.Errorf("code", "code is missing from the Clio callback: start the connection again")
	}

	var st store.OAuthState
	err := c.store.Update(func(tx *store.Tx) error {
		var err error
		st, err = tx.TakeOAuthState(query["state"])
		return err
	})
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return store.Connection{}, crm.Errorf("state", "the Clio authorization is unknown or older than 10 minutes: start the connection again")
		}
		return store.Connection{}, fmt.Errorf("take oauth state: %w", err)
	}
	if st.Provider != string(crm.Clio) {
		return store.Connection{}, crm.Errorf("state", "the authorization was started for %s, not Clio", st.Provider)
	}

	ctx = context.WithValue(ctx, oauth2.HTTPClient, c.http)
	tok, err := c.oauthConfig(st.Region).Exchange(ctx, query["code"])
	if err != nil {
		return store.Connection{}, fmt.Errorf("exchange clio authorization code (check clio.client_id, clio.client_secret and the app's region %s): %w", st.Region, err)
	}
	g := grant{access: tok.AccessToken, refresh: tok.RefreshToken, expiresIn: expiresIn(tok)}
	if g.expiresIn <= 0 {
		return store.Connection{}, errors.New("clio token response has no expires_in")
	}
	return c.createConnection(ctx, st.UserID, st.Region, g)
}

type user struct {
	ID    clioID `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

// createConnection reads the Clio user behind the token, stores the
// connection and subscribes its webhooks.
func (c *Connector) createConnection(ctx context.Context, userID, region string, g grant) (store.Connection, error) {
	host := c.hostFor(region)
	var who struct {
		Data user `json:"data"`
	}
	req := request{method: http.MethodGet, path: "/api/v4/users/who_am_i.json", query: "fields=id,name,email"}
	_, body, status, err := c.send(ctx, nil, host, g.access, req)
	if err != nil {
		return store.Connection{}, fmt.Errorf("read the clio user: %w", err)
	}
	if status == http.StatusUnauthorized {
		return store.Connection{}, crm.Errorf("access_token", "Clio rejected the access token in region %s (HTTP 401): use a current token and the region the Clio account is in", region)
	}
	if status != http.StatusOK {
		return store.Connection{}, fmt.Errorf("read the clio user: HTTP %d: %s", status, truncate(string(body), maxErrorBody))
	}
	if err := decodeJSON(body, &who); err != nil {
		return store.Connection{}, fmt.Errorf("read the clio user: %w", err)
	}

	conn := store.Connection{
		ID:          store.NewID(),
		UserID:      userID,
		Provider:    string(crm.Clio),
		AccountName: who.Data.Name,
		Region:      region,
		State:       store.ConnectionConnected,
		Extra:       map[string]string{"clio_user_id": string(who.Data.ID)},
	}
	setTokens(&conn, g.access, g.refresh, g.expiresIn, time.Now())
	if err := c.store.Update(func(tx *store.Tx) error { return tx.PutConnection(&conn) }); err != nil {
		return store.Connection{}, fmt.Errorf("store clio connection: %w", err)
	}
	c.log.Info().Str("connection_id", conn.ID).Str("region", region).Msg("clio connection created")

	return c.ensureWebhooks(ctx, conn.ID)
}

// Disconnect deletes the connection's webhooks in Clio, revokes the grant
// and deletes the connection. Clio being unreachable does not stop the local
// delete; the failures are logged.
func (c *Connector) Disconnect(ctx context.Context, connectionID string) error {
	conn, err := c.loadConnection(connectionID)
	if err != nil {
		return err
	}

	if conn.State != store.ConnectionBroken {
		for id := range conn.Webhooks {
			_, err := c.call(ctx, connectionID, request{method: http.MethodDelete, path: "/api/v4/webhooks/" + url.PathEscape(id) + ".json"}, nil)
			if err != nil && !hasStatus(err, http.StatusNotFound) {
				c.log.Warn().Err(err).Str("connection_id", connectionID).Str("webhook_id", id).Msg("unable to delete the clio webhook")
			}
		}
		cur, err := c.loadConnection(connectionID)
		if err == nil {
			form := url.Values{"token": {cur.AccessToken}}
			if _, err := c.call(ctx, connectionID, request{method: http.MethodPost, path: "/oauth/deauthorize", form: form}, nil); err != nil {
				c.log.Warn().Err(err).Str("connection_id", connectionID).Msg("unable to revoke the clio authorization")
			}
		}
	}

	err = c.store.Update(func(tx *store.Tx) error { return tx.DeleteConnection(connectionID) })
	if err != nil {
		return fmt.Errorf("delete clio connection %s: %w", connectionID, err)
	}
	c.dropSession(connectionID)
	c.log.Info().Str("connection_id", connectionID).Msg("clio connection deleted")
	return nil
}
