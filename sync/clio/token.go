package clio

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"golang.org/x/oauth2"

	"github.com/referralpulse/referralpulse/store"
	"github.com/referralpulse/referralpulse/sync/crm"
)

// extraTokenLifetime is the Connection.Extra key holding the last expires_in
// (seconds) Clio granted. Observed lifetimes differ (7 and 30 days), so the
// refresh margin follows what Clio actually returned.
const extraTokenLifetime = "token_lifetime_seconds"

// brokenMessage is shown on the integrations page of a connection whose
// refresh token Clio refused.
const brokenMessage = "Clio refused the saved authorization; connect Clio again"

func (c *Connector) oauthConfig(region string) *oauth2.Config {
	host := c.hostFor(region)
	return &oauth2.Config{
		ClientID:     c.cfg.ClientID,
		ClientSecret: c.cfg.ClientSecret,
		RedirectURL:  c.callbackURL(),
		Endpoint: oauth2.Endpoint{
			AuthURL:   host + "/oauth/authorize",
			TokenURL:  host + "/oauth/token",
			AuthStyle: oauth2.AuthStyleInParams,
		},
	}
}

// tokenDue reports whether the access token is within the last fifth of its
// lifetime, when it is refreshed ahead of expiry.
func tokenDue(conn store.Connection, now time.Time) bool {
	if conn.TokenExpiry.IsZero() {
		return false
	}
	lifetime := time.Hour
	if secs, err := strconv.Atoi(conn.Extra[extraTokenLifetime]); err == nil && secs > 0 {
		lifetime = time.Duration(secs) * time.Second
	}
	return !now.Add(lifetime / 5).Before(conn.TokenExpiry)
}

// setTokens copies a granted token into conn.
func setTokens(conn *store.Connection, access, refresh string, expiresIn int, now time.Time) {
	conn.AccessToken = access
	if refresh != "" {
		conn.RefreshToken = refresh
	}
	conn.TokenExpiry = now.Add(time.Duration(expiresIn) * time.Second).UTC()
	if conn.Extra == nil {
		conn.Extra = map[string]string{}
	}
	conn.Extra[extraTokenLifetime] = strconv.Itoa(expiresIn)
}

// expiresIn reads expires_in from a token response; x/oauth2 keeps it in
// the raw extra fields.
func expiresIn(tok *oauth2.Token) int {
	switch v := tok.Extra("expires_in").(type) {
	case float64:
		return int(v)
	case int64:
		return int(v)
	case int:
		return v
	case string:
		n, _ := strconv.Atoi(v)
		return n
	}
	if !tok.Expiry.IsZero() {
		return int(time.Until(tok.Expiry).Seconds())
	}
	return 0
}

// refresh trades the refresh token for a new access token and saves it
// sealed. An invalid_grant response marks the connection broken and returns an
// error wrapping crm.ErrBroken.
func (c *Connector) refresh(ctx context.Context, conn store.Connection) (store.Connection, error) {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, c.http)
	src := c.oauthConfig(conn.Region).TokenSource(ctx, &oauth2.Token{RefreshToken: conn.RefreshToken})
	tok, err := src.Token()
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.ErrorCode == "invalid_grant" {
			c.log.Error().Str("connection_id", conn.ID).Msg("clio refused the refresh token; marking the connection broken")
			if _, merr := c.updateConnection(conn.ID, func(cur *store.Connection) error {
				cur.State = store.ConnectionBroken
				cur.StateMessage = brokenMessage
				return nil
			}); merr != nil {
				c.log.Error().Err(merr).Str("connection_id", conn.ID).Msg("unable to mark the clio connection broken")
			}
			return conn, fmt.Errorf("refresh clio token for connection %s: %w", conn.ID, crm.ErrBroken)
		}
		c.log.Warn().Err(err).Str("connection_id", conn.ID).Msg("clio token refresh failed")
		return conn, fmt.Errorf("refresh clio token for connection %s: %w", conn.ID, err)
	}

	secs := expiresIn(tok)
	if secs <= 0 {
		return conn, fmt.Errorf("refresh clio token for connection %s: the answer has no expires_in", conn.ID)
	}
	now := time.Now()
	saved, err := c.updateConnection(conn.ID, func(cur *store.Connection) error {
		setTokens(cur, tok.AccessToken, tok.RefreshToken, secs, now)
		return nil
	})
	if err != nil {
		return conn, err
	}
	c.log.Info().Str("connection_id", conn.ID).Int("expires_in", secs).Msg("clio access token refreshed")
	return saved, nil
}
