package app

import (
	"github.com/referralpulse/referralpulse/matcher"
	"github.com/referralpulse/referralpulse/store"
)

// effects collects what must happen after a transaction commits: live
// events for open browser tabs and search index updates. A rolled-back
// transaction discards them.
type effects struct {
	notifications []store.Notification
	referrals     map[string]store.Referral
	// indexed lists referrals whose searchable fields are new or changed;
	// a status change alone does not touch the search index.
	indexed  []store.Referral
	entities []store.Entity
}

func (e *effects) reindex(r store.Referral) {
	e.indexed = append(e.indexed, r)
}

func (e *effects) notify(n store.Notification) {
	e.notifications = append(e.notifications, n)
}

func (e *effects) touch(r store.Referral) {
	if e.referrals == nil {
		e.referrals = map[string]store.Referral{}
	}
	e.referrals[r.ID] = r
}

// flush runs the effects of a committed transaction.
func (a *App) flush(e *effects) {
	for _, n := range e.notifications {
		a.Hub.Publish(n.UserID, LiveEvent{Type: "notification", Data: n})
	}
	for _, r := range e.referrals {
		a.Hub.Publish(r.UserID, LiveEvent{Type: "referral_updated", Data: map[string]string{"id": r.ID, "status": r.Status}})
	}
	if len(e.indexed) > 0 {
		a.indexReferrals(e.indexed)
	}
	for _, en := range e.entities {
		a.indexEntity(en)
	}
}

// ReferralDoc returns the searchable part of r, with its partner's name.
func ReferralDoc(tx *store.Tx, r store.Referral) matcher.ReferralDoc {
	doc := matcher.ReferralDoc{
		ID: r.ID, UserID: r.UserID, ClientName: r.ClientName, ClientEmail: r.ClientEmail,
		ClientCompany: r.ClientCompany, Note: r.Note,
	}
	if p, err := tx.Partner(r.PartnerID); err == nil {
		doc.PartnerName = p.Name
	}
	return doc
}

func (a *App) indexReferrals(rs []store.Referral) {
	if a.Index == nil {
		return
	}
	var docs []matcher.ReferralDoc
	_ = a.Store.View(func(tx *store.Tx) error {
		for _, r := range rs {
			docs = append(docs, ReferralDoc(tx, r))
		}
		return nil
	})
	for _, d := range docs {
		if err := a.Index.IndexReferral(d); err != nil {
			a.Log.Error().Err(err).Str("referral_id", d.ID).Msg("index referral failed; search may miss it until the next rebuild")
		}
	}
}

func (a *App) indexEntity(e store.Entity) {
	if a.Index == nil {
		return
	}
	err := a.Index.IndexEntity(matcher.EntityDoc{
		ConnectionID: e.ConnectionID, EntityType: e.EntityType, EntityID: e.EntityID,
		Name: e.Name, ClientName: e.ClientName,
	})
	if err != nil {
		a.Log.Error().Err(err).Str("connection_id", e.ConnectionID).Str("entity_id", e.EntityID).Msg("index crm record failed")
	}
}
