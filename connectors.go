package main

import (
	"github.com/rs/zerolog"

	"github.com/referralpulse/referralpulse/store"
	"github.com/referralpulse/referralpulse/sync/crm"
)

// buildConnectors returns the connectors whose client credentials are configured.
func buildConnectors(cfg config, st *store.Store, log zerolog.Logger) ([]crm.Connector, error) {
	return nil, nil
}
