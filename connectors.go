package main

import (
	"fmt"

	"github.com/rs/zerolog"

	"github.com/referralpulse/referralpulse/store"
	"github.com/referralpulse/referralpulse/sync/clio"
	"github.com/referralpulse/referralpulse/sync/crm"
	"github.com/referralpulse/referralpulse/sync/hubspot"
)

// buildConnectors returns the connectors whose client credentials are configured.
func buildConnectors(cfg config, st *store.Store, log zerolog.Logger) ([]crm.Connector, error) {
	var out []crm.Connector
	if cfg.ClioClientID != "" {
		if clio.NeedsHTTPSWarning(cfg.PublicURL) && cfg.ClioBaseURL == clio.DefaultBaseURL {
			log.Warn().Str("public_url", cfg.PublicURL).Msg("server.public_url is not https: Clio refuses such webhook URLs, so Clio connections will run polling-only")
		}
		c, err := clio.New(clio.Config{
			Store: st, ClientID: cfg.ClioClientID, ClientSecret: cfg.ClioClientSecret,
			BaseURL: cfg.ClioBaseURL, PublicURL: cfg.PublicURL,
			Logger: log.With().Str("component", "clio").Logger(),
		})
		if err != nil {
			return nil, fmt.Errorf("clio connector: %w", err)
		}
		out = append(out, c)
	}
	if cfg.HubSpotClientID != "" {
		h, err := hubspot.New(hubspot.Config{
			Store: st, ClientID: cfg.HubSpotClientID, ClientSecret: cfg.HubSpotClientSecret, AppID: cfg.HubSpotAppID,
			BaseURL: cfg.HubSpotBaseURL, AuthURL: cfg.HubSpotAuthURL, PublicURL: cfg.PublicURL,
			PrimaryLabel: cfg.HubSpotPrimaryLabel,
			Logger:       log.With().Str("component", "hubspot").Logger(),
		})
		if err != nil {
			return nil, fmt.Errorf("hubspot connector: %w", err)
		}
		out = append(out, h)
	}
	return out, nil
}
