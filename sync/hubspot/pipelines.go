package hubspot

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/referralpulse/referralpulse/store"
	"github.com/referralpulse/referralpulse/sync/crm"
)

// pipelineList is GET /crm/v3/pipelines/deals. In v3 the stage metadata
// values are strings; the old v1 API returned numbers, so both are read.
type pipelineList struct {
	Results []pipeline `json:"results"`
}

type pipeline struct {
	ID     string  `json:"id"`
	Label  string  `json:"label"`
	Stages []stage `json:"stages"`
}

type stage struct {
	ID       string        `json:"id"`
	Label    string        `json:"label"`
	Metadata stageMetadata `json:"metadata"`
}

type stageMetadata struct {
	IsClosed    flexString `json:"isClosed"`
	Probability flexString `json:"probability"`
}

// flexString accepts a JSON string, number or boolean as its text.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*f = flexString(s)
		return nil
	}
	*f = flexString(strings.TrimSpace(string(b)))
	return nil
}

// stageInfo is one cached stage classification.
type stageInfo struct {
	Label   string      `json:"label"`
	Outcome crm.Outcome `json:"outcome"`
}

// pipelineCache maps "pipelineID/stageID" and the bare stageID to a stage.
// Stage ids are unique per portal, but the pair is preferred.
type pipelineCache struct {
	FetchedAt time.Time            `json:"fetched_at"`
	Stages    map[string]stageInfo `json:"stages"`
}

func pipelineCacheKey(portalID string) string { return "hubspot:pipelines:" + portalID }

// classifyStage maps stage metadata to an outcome: closed with probability
// 1.0 is won, closed with 0.0 is lost, open is open. A closed stage with any
// other probability has no known outcome. Labels are never consulted.
func classifyStage(m stageMetadata) crm.Outcome {
	if !strings.EqualFold(string(m.IsClosed), "true") {
		return crm.OutcomeOpen
	}
	p, err := strconv.ParseFloat(string(m.Probability), 64)
	switch {
	case err != nil:
		return crm.OutcomeUnknown
	case p == 1:
		return crm.OutcomeWon
	case p == 0:
		return crm.OutcomeLost
	}
	return crm.OutcomeUnknown
}

func buildPipelineCache(list pipelineList, now time.Time) pipelineCache {
	cache := pipelineCache{FetchedAt: now, Stages: map[string]stageInfo{}}
	for _, p := range list.Results {
		for _, s := range p.Stages {
			info := stageInfo{Label: s.Label, Outcome: classifyStage(s.Metadata)}
			cache.Stages[p.ID+"/"+s.ID] = info
			if _, taken := cache.Stages[s.ID]; !taken {
				cache.Stages[s.ID] = info
			}
		}
	}
	return cache
}

// fetchPipelines reads every deal pipeline and stores the classification
// for the connection's portal.
func (c *Connector) fetchPipelines(ctx context.Context, conn *store.Connection) (pipelineCache, error) {
	var list pipelineList
	err := c.call(ctx, conn, request{method: http.MethodGet, path: "/crm/v3/pipelines/deals"}, &list)
	if err != nil {
		return pipelineCache{}, fmt.Errorf("read deal pipelines: %w", err)
	}

	cache := buildPipelineCache(list, c.now())
	raw, err := json.Marshal(cache)
	if err != nil {
		return cache, fmt.Errorf("encode pipeline cache: %w", err)
	}
	err = c.st.Update(func(tx *store.Tx) error { return tx.PutValue(pipelineCacheKey(conn.PortalID), raw) })
	if err != nil {
		return cache, fmt.Errorf("store pipeline cache for portal %s: %w", conn.PortalID, err)
	}
	return cache, nil
}

// cachedPipelines loads the portal's stored classification, if any.
func (c *Connector) cachedPipelines(portalID string) (pipelineCache, bool) {
	var raw []byte
	var ok bool
	_ = c.st.View(func(tx *store.Tx) error {
		raw, ok = tx.GetValue(pipelineCacheKey(portalID))
		return nil
	})
	if !ok {
		return pipelineCache{}, false
	}
	var cache pipelineCache
	if err := json.Unmarshal(raw, &cache); err != nil {
		c.log.Warn().Err(err).Str("portal_id", portalID).Msg("pipeline cache unreadable, fetching again")
		return pipelineCache{}, false
	}
	return cache, true
}

// stageOutcome classifies a deal's stage from the cache, refreshing the
// cache once when the stage is not in it (a stage added or a pipeline
// created since the last read).
func (c *Connector) stageOutcome(ctx context.Context, conn *store.Connection, pipelineID, stageID string) (stageInfo, error) {
	if stageID == "" {
		return stageInfo{}, nil
	}
	if cache, ok := c.cachedPipelines(conn.PortalID); ok {
		if info, found := lookupStage(cache, pipelineID, stageID); found {
			return info, nil
		}
	}

	cache, err := c.fetchPipelines(ctx, conn)
	if err != nil {
		return stageInfo{}, err
	}
	if info, found := lookupStage(cache, pipelineID, stageID); found {
		return info, nil
	}
	c.log.Warn().Str("connection_id", conn.ID).Str("pipeline_id", pipelineID).Str("stage_id", stageID).Msg("deal stage not found in any pipeline, outcome unknown")
	return stageInfo{}, nil
}

func lookupStage(cache pipelineCache, pipelineID, stageID string) (stageInfo, bool) {
	if info, ok := cache.Stages[pipelineID+"/"+stageID]; ok {
		return info, true
	}
	info, ok := cache.Stages[stageID]
	return info, ok
}
