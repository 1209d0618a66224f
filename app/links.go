package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/referralpulse/referralpulse/store"
	"github.com/referralpulse/referralpulse/sync/crm"
)

// LinkInput is the body of POST /api/v1/referrals/{id}/links.
type LinkInput struct {
	ConnectionID string `json:"connection_id"`
	EntityID     string `json:"entity_id"`
}

// LinkManually links one of the user's referrals to a matter or deal. The
// record comes from the local mirror, or from the CRM when it was never seen.
func (a *App) LinkManually(ctx context.Context, userID, referralID string, in LinkInput) (store.Link, error) {
	in.ConnectionID = strings.TrimSpace(in.ConnectionID)
	in.EntityID = strings.TrimSpace(in.EntityID)
	if in.ConnectionID == "" {
		return store.Link{}, invalid("connection_id", "is required")
	}
	if in.EntityID == "" {
		return store.Link{}, invalid("entity_id", "is required")
	}

	var conn store.Connection
	known := false
	err := a.Store.View(func(tx *store.Tx) error {
		if _, err := ownReferral(tx, userID, referralID); err != nil {
			return err
		}
		var err error
		if conn, err = ownConnection(tx, userID, in.ConnectionID); err != nil {
			return invalid("connection_id", "%q does not name one of your connections: list them with GET /api/v1/connections", in.ConnectionID)
		}
		_, err = tx.Entity(conn.ID, crm.Provider(conn.Provider).EntityType(), in.EntityID)
		known = err == nil
		return nil
	})
	if err != nil {
		return store.Link{}, err
	}

	if !known {
		c, err := a.Connector(crm.Provider(conn.Provider))
		if err != nil {
			return store.Link{}, err
		}
		ev, err := c.Fetch(ctx, conn.ID, in.EntityID)
		if err != nil {
			return store.Link{}, invalid("entity_id", "cannot read %s %q from %s: %v", crm.Provider(conn.Provider).EntityType(), in.EntityID, crm.Provider(conn.Provider).Label(), err)
		}
		ev.Kind = crm.EntityChanged
		if err := a.ApplyEvents(ctx, ev); err != nil {
			return store.Link{}, err
		}
	}
	return a.link(ctx, userID, referralID, conn.ID, crm.Provider(conn.Provider).EntityType(), in.EntityID, "manual", "", "")
}

// link creates a link inside one transaction, failing with ErrConflict when
// the entity is already linked.
func (a *App) link(ctx context.Context, userID, referralID, connectionID, entityType, entityID, linkedBy, reason, suggestionID string) (store.Link, error) {
	var fx effects
	var l store.Link
	err := a.Store.Update(func(tx *store.Tx) error {
		fx = effects{}
		r, err := ownReferral(tx, userID, referralID)
		if err != nil {
			return err
		}
		mirror, err := tx.Entity(connectionID, entityType, entityID)
		if err != nil {
			return err
		}
		if existing, err := tx.LinkForEntity(connectionID, entityType, entityID); err == nil {
			return fmt.Errorf("%s %s is already linked to referral %s; unlink it there first: %w", entityType, entityID, existing.ReferralID, store.ErrConflict)
		}
		mirror.Seen = true
		if err := tx.PutEntity(mirror); err != nil {
			return err
		}
		if suggestionID != "" {
			s, err := tx.Suggestion(suggestionID)
			if err != nil {
				return err
			}
			s.State = store.SuggestionConfirmed
			if err := tx.PutSuggestion(&s); err != nil {
				return err
			}
		}
		l, err = a.createLink(tx, r, mirror, linkedBy, reason, &fx)
		return err
	})
	if err != nil {
		return l, err
	}
	a.flush(&fx)
	return l, nil
}

// Unlink removes a link. The CRM record is untouched and stays marked as
// seen, so the matcher never offers it again.
func (a *App) Unlink(ctx context.Context, userID, referralID, linkID string) error {
	var fx effects
	err := a.Store.Update(func(tx *store.Tx) error {
		fx = effects{}
		r, err := ownReferral(tx, userID, referralID)
		if err != nil {
			return err
		}
		l, err := tx.Link(linkID)
		if err != nil || l.ReferralID != r.ID {
			return fmt.Errorf("link %s: %w", linkID, store.ErrNotFound)
		}
		if err := tx.DeleteLink(l); err != nil {
			return err
		}
		if r.LinkCount > 0 {
			r.LinkCount--
		}
		if err := tx.PutReferral(&r); err != nil {
			return err
		}
		fx.touch(r)
		provider := crm.Provider(l.Provider)
		return tx.AddTimeline(&store.TimelineEntry{
			ReferralID: r.ID, UserID: userID, At: a.now(), Kind: "link_removed",
			Text:   fmt.Sprintf("Unlinked %s %s %s", provider.Label(), l.EntityType, quoteName(l.EntityName)),
			Source: "user", Context: l.EntityName,
		})
	})
	if err != nil {
		return err
	}
	a.flush(&fx)
	return nil
}

// ConfirmSuggestion links the suggested entity to its referral.
func (a *App) ConfirmSuggestion(ctx context.Context, userID, id string) (store.Link, error) {
	s, err := a.ownSuggestion(userID, id)
	if err != nil {
		return store.Link{}, err
	}
	if s.State != store.SuggestionPending {
		return store.Link{}, fmt.Errorf("suggestion %s is %s, not pending: %w", id, s.State, store.ErrConflict)
	}
	return a.link(ctx, userID, s.ReferralID, s.ConnectionID, s.EntityType, s.EntityID, "suggestion", s.Reason, s.ID)
}

// RejectSuggestion closes a suggestion; the pair is never offered again.
func (a *App) RejectSuggestion(ctx context.Context, userID, id string) error {
	return a.Store.Update(func(tx *store.Tx) error {
		s, err := tx.Suggestion(id)
		if err != nil || s.UserID != userID {
			return fmt.Errorf("suggestion %s: %w", id, store.ErrNotFound)
		}
		if s.State != store.SuggestionPending {
			return fmt.Errorf("suggestion %s is %s, not pending: %w", id, s.State, store.ErrConflict)
		}
		s.State = store.SuggestionRejected
		if err := tx.PutSuggestion(&s); err != nil {
			return err
		}
		return tx.MarkRejected(s.ReferralID, s.ConnectionID, s.EntityType, s.EntityID)
	})
}

func (a *App) ownSuggestion(userID, id string) (store.Suggestion, error) {
	var s store.Suggestion
	err := a.Store.View(func(tx *store.Tx) error {
		var err error
		s, err = tx.Suggestion(id)
		if err != nil || s.UserID != userID {
			return fmt.Errorf("suggestion %s: %w", id, store.ErrNotFound)
		}
		return nil
	})
	return s, err
}

// EntityResult is one matter or deal offered by the link dialog's search.
type EntityResult struct {
	Provider     string `json:"provider"`
	ConnectionID string `json:"connection_id"`
	EntityType   string `json:"entity_type"`
	EntityID     string `json:"entity_id"`
	Name         string `json:"name"`
	ClientName   string `json:"client_name"`
	Status       string `json:"status,omitempty"`
	// LinkedReferralID is set when the record is already linked.
	LinkedReferralID string `json:"linked_referral_id,omitempty"`
	// Source is "mirror" for records seen before, "crm" for live results.
	Source string `json:"source"`
}

// SearchCRM finds matters or deals of one connection: the local mirror
// first, then the live CRM. A CRM that cannot be reached leaves the mirror
// results standing, with the error returned beside them.
func (a *App) SearchCRM(ctx context.Context, userID, connectionID, query string) ([]EntityResult, error) {
	query = strings.TrimSpace(query)
	if connectionID == "" {
		return nil, invalid("connection_id", "is required")
	}
	var conn store.Connection
	var out []EntityResult
	seen := map[string]bool{}
	err := a.Store.View(func(tx *store.Tx) error {
		var err error
		if conn, err = ownConnection(tx, userID, connectionID); err != nil {
			return invalid("connection_id", "%q does not name one of your connections: list them with GET /api/v1/connections", connectionID)
		}
		add := func(e store.Entity) {
			if seen[e.EntityID] {
				return
			}
			seen[e.EntityID] = true
			res := EntityResult{
				Provider: e.Provider, ConnectionID: e.ConnectionID, EntityType: e.EntityType,
				EntityID: e.EntityID, Name: e.Name, ClientName: e.ClientName, Status: e.Outcome, Source: "mirror",
			}
			if l, err := tx.LinkForEntity(e.ConnectionID, e.EntityType, e.EntityID); err == nil {
				res.LinkedReferralID = l.ReferralID
			}
			out = append(out, res)
		}
		if a.Index != nil && query != "" {
			docs, err := a.Index.SearchEntities(connectionID, query, 20)
			if err != nil {
				return fmt.Errorf("search crm mirror: %w", err)
			}
			for _, d := range docs {
				if e, err := tx.Entity(d.ConnectionID, d.EntityType, d.EntityID); err == nil && !e.Deleted {
					add(e)
				}
			}
			return nil
		}
		q := strings.ToLower(query)
		return tx.ConnectionEntities(connectionID, func(e store.Entity) bool {
			if !e.Deleted && strings.Contains(strings.ToLower(e.Name+" "+e.ClientName), q) {
				add(e)
			}
			return len(out) < 20
		})
	})
	if err != nil {
		return nil, err
	}

	c, err := a.Connector(crm.Provider(conn.Provider))
	if err != nil || query == "" {
		return out, nil
	}
	live, err := c.Search(ctx, conn.ID, query)
	if err != nil {
		a.Log.Warn().Err(err).Str("connection_id", conn.ID).Msg("live crm search failed; showing mirror results only")
		return out, fmt.Errorf("%s search failed, showing records seen before: %w", crm.Provider(conn.Provider).Label(), err)
	}
	for _, ev := range live {
		if seen[ev.EntityID] {
			continue
		}
		seen[ev.EntityID] = true
		out = append(out, EntityResult{
			Provider: string(ev.Provider), ConnectionID: conn.ID, EntityType: ev.EntityType,
			EntityID: ev.EntityID, Name: ev.EntityName, ClientName: ev.ClientName, Status: string(ev.Outcome), Source: "crm",
		})
	}
	return out, nil
}

func ownConnection(tx *store.Tx, userID, id string) (store.Connection, error) {
	c, err := tx.Connection(id)
	if err != nil || c.UserID != userID {
		return store.Connection{}, fmt.Errorf("connection %s: %w", id, store.ErrNotFound)
	}
	return c, nil
}

// IsNotFound reports whether err means a missing or foreign record.
func IsNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

// IsConflict reports whether err means a clash with existing state.
func IsConflict(err error) bool { return errors.Is(err, store.ErrConflict) }
