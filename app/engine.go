package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/referralpulse/referralpulse/matcher"
	"github.com/referralpulse/referralpulse/store"
	"github.com/referralpulse/referralpulse/sync/crm"
)

// Apply applies the events resolved from one inbox item and marks the item
// done, all in one transaction, so an item is either fully applied or not
// at all. It implements crm.Applier.
func (a *App) Apply(ctx context.Context, item store.InboxItem, events []crm.Event) error {
	start := time.Now()
	var fx effects
	err := a.Store.Update(func(tx *store.Tx) error {
		fx = effects{}
		for _, ev := range events {
			if err := ev.Validate(); err != nil {
				return err
			}
			if err := a.applyEvent(tx, ev, &fx); err != nil {
				return fmt.Errorf("apply %s %s of %s %s: %w", ev.Provider, ev.Kind, ev.EntityType, ev.EntityID, err)
			}
		}
		if item.Seq == 0 {
			return nil
		}
		current, err := tx.InboxItem(item.Seq)
		if err != nil {
			return err
		}
		current.State = store.InboxDone
		current.DoneAt = a.now()
		current.LastError = ""
		return tx.PutInboxItem(current)
	})
	if err != nil {
		return err
	}

	a.Metrics.EventsApplied.Add(int64(len(events)))
	a.Metrics.ObserveApply(time.Since(start))
	a.flush(&fx)
	return nil
}

// ApplyEvents applies events that did not come through the inbox, as the
// manual link path and tests do.
func (a *App) ApplyEvents(ctx context.Context, events ...crm.Event) error {
	return a.Apply(ctx, store.InboxItem{}, events)
}

func (a *App) applyEvent(tx *store.Tx, ev crm.Event, fx *effects) error {
	conn, err := tx.Connection(ev.ConnectionID)
	if errors.Is(err, store.ErrNotFound) {
		a.Log.Warn().Str("connection_id", ev.ConnectionID).Str("event_id", ev.ID).Msg("event for a removed connection skipped")
		return nil
	}
	if err != nil {
		return err
	}
	if ev.EntityType == "" {
		ev.EntityType = ev.Provider.EntityType()
	}

	if ev.Kind == crm.BillPaid {
		return a.applyBillPaid(tx, conn, ev, fx)
	}

	mirror, prev, fresh, err := a.updateMirror(tx, ev, fx)
	if err != nil {
		return err
	}

	link, err := tx.LinkForEntity(ev.ConnectionID, ev.EntityType, ev.EntityID)
	linked := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}

	switch {
	case ev.Kind == crm.EntityDeleted:
		return a.applyDeleted(tx, ev, link, linked, fx)
	case linked:
		// Changes of a linked entity flow through the link; the matcher never runs again.
		if fresh && mirror.Outcome != "" && mirror.Outcome != prev.Outcome {
			return a.syncStatus(tx, link, mirror, fx)
		}
		return nil
	case ev.Kind == crm.EntityCreated && !prev.Seen:
		return a.autoLink(tx, conn, mirror, fx)
	}
	return nil
}

// updateMirror stores the entity's newest known state. fresh reports whether
// ev is at least as new as what was applied before; a stale event changes
// nothing but may still mark a creation.
func (a *App) updateMirror(tx *store.Tx, ev crm.Event, fx *effects) (mirror, prev store.Entity, fresh bool, err error) {
	prev, err = tx.Entity(ev.ConnectionID, ev.EntityType, ev.EntityID)
	existed := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return mirror, prev, false, err
	}

	mirror = prev
	fresh = !existed || !ev.Version.Before(prev.Version)
	if !existed {
		mirror = store.Entity{
			ConnectionID: ev.ConnectionID, Provider: string(ev.Provider),
			EntityType: ev.EntityType, EntityID: ev.EntityID,
		}
	}
	if fresh && ev.Kind != crm.EntityDeleted {
		mirror.Name = ev.EntityName
		mirror.ClientName = ev.ClientName
		mirror.ClientEmails = ev.ClientEmails
		mirror.ClientCompany = ev.ClientCompany
		if ev.Outcome != crm.OutcomeUnknown {
			mirror.Outcome = string(ev.Outcome)
			mirror.StatusLabel = ev.StatusLabel
		}
		mirror.Version = ev.Version
	}
	if ev.Kind == crm.EntityDeleted {
		mirror.Deleted = true
	}
	if !ev.CreatedAt.IsZero() {
		mirror.CRMCreatedAt = ev.CreatedAt
	}
	mirror.UpdatedAt = a.now()
	if err := tx.PutEntity(mirror); err != nil {
		return mirror, prev, fresh, err
	}
	if !existed || mirror.Name != prev.Name || mirror.ClientName != prev.ClientName {
		fx.entities = append(fx.entities, mirror)
	}
	return mirror, prev, fresh, nil
}

// autoLink runs the matcher for a newly created entity and records the
// silent link or the suggestions it decides on.
func (a *App) autoLink(tx *store.Tx, conn store.Connection, mirror store.Entity, fx *effects) error {
	mirror.Seen = true
	if err := tx.PutEntity(mirror); err != nil {
		return err
	}

	referrals, err := tx.OpenReceivedUnlinked(conn.UserID, MaxCandidates)
	if err != nil {
		return err
	}
	candidates := make([]matcher.Candidate, 0, len(referrals))
	byID := map[string]store.Referral{}
	for _, r := range referrals {
		if tx.IsRejected(r.ID, mirror.ConnectionID, mirror.EntityType, mirror.EntityID) {
			continue
		}
		byID[r.ID] = r
		candidates = append(candidates, matcher.Candidate{
			ReferralID: r.ID, ClientName: r.ClientName, ClientEmail: r.ClientEmail,
			ClientCompany: r.ClientCompany, CreatedAt: r.CreatedAt,
		})
	}
	if len(candidates) == 0 {
		return nil
	}

	decision := matcher.Decide(matcher.Entity{
		EntityType: mirror.EntityType, Name: mirror.Name, ClientName: mirror.ClientName,
		ClientEmails: mirror.ClientEmails, ClientCompany: mirror.ClientCompany,
	}, candidates)

	switch decision.Outcome {
	case "link":
		r := byID[decision.Matches[0].ReferralID]
		_, err := a.createLink(tx, r, mirror, "email", decision.Matches[0].Reason, fx)
		return err
	case "suggest":
		return a.suggest(tx, mirror, decision.Matches, byID, fx)
	}
	return nil
}

func (a *App) suggest(tx *store.Tx, mirror store.Entity, matches []matcher.Match, byID map[string]store.Referral, fx *effects) error {
	provider := crm.Provider(mirror.Provider)
	var first store.Referral
	for i, m := range matches {
		r := byID[m.ReferralID]
		s := store.Suggestion{
			UserID: r.UserID, ReferralID: r.ID, Provider: mirror.Provider,
			ConnectionID: mirror.ConnectionID, EntityType: mirror.EntityType,
			EntityID: mirror.EntityID, EntityName: mirror.Name, Reason: m.Reason,
			Score: m.Score, State: store.SuggestionPending, CreatedAt: a.now(),
		}
		if err := tx.PutSuggestion(&s); err != nil {
			return err
		}
		if i == 0 {
			first = r
		}
	}

	n := store.Notification{
		UserID: first.UserID, At: a.now(), Kind: "link_suggested",
		Title:      fmt.Sprintf("New %s %s, possible referral match", provider.Label(), mirror.EntityType),
		Body:       fmt.Sprintf("%s may belong to your referral for %s (%s).", quoteName(mirror.Name), first.ClientName, matches[0].Reason),
		ReferralID: first.ID,
		Entity:     entityRef(mirror),
	}
	if len(matches) > 1 {
		n.Body = fmt.Sprintf("%s may belong to one of %d referrals, best %s (%s).", quoteName(mirror.Name), len(matches), first.ClientName, matches[0].Reason)
	}
	if err := tx.AddNotification(&n); err != nil {
		return err
	}
	fx.notify(n)
	return nil
}

// createLink links r to the entity, writes the timeline entry and the
// confirmation notification, and applies the entity's status at link time.
func (a *App) createLink(tx *store.Tx, r store.Referral, mirror store.Entity, linkedBy, reason string, fx *effects) (store.Link, error) {
	provider := crm.Provider(mirror.Provider)
	l := store.Link{
		UserID: r.UserID, ReferralID: r.ID, Provider: mirror.Provider,
		ConnectionID: mirror.ConnectionID, EntityType: mirror.EntityType,
		EntityID: mirror.EntityID, EntityName: mirror.Name, LinkedBy: linkedBy,
		CreatedAt: a.now(),
	}
	if err := tx.PutLink(&l); err != nil {
		return l, err
	}
	r.LinkCount++
	if err := tx.PutReferral(&r); err != nil {
		return l, err
	}
	fx.touch(r)

	text := fmt.Sprintf("Linked to %s %s %s", provider.Label(), mirror.EntityType, quoteName(mirror.Name))
	if reason != "" {
		text += " (" + reason + ")"
	}
	if err := tx.AddTimeline(&store.TimelineEntry{
		ReferralID: r.ID, UserID: r.UserID, At: a.now(), Kind: "link_created",
		Text: text, Source: sourceForLink(provider, linkedBy), Context: mirror.Name,
	}); err != nil {
		return l, err
	}

	if linkedBy == "email" {
		n := store.Notification{
			UserID: r.UserID, At: a.now(), Kind: "link_created",
			Title:      fmt.Sprintf("New %s %s linked to your referral", provider.Label(), mirror.EntityType),
			Body:       fmt.Sprintf("%s for %s", mirror.Name, r.ClientName),
			ReferralID: r.ID,
			Entity:     entityRef(mirror),
		}
		if err := tx.AddNotification(&n); err != nil {
			return l, err
		}
		fx.notify(n)
	}

	if err := a.withdrawSuggestions(tx, mirror); err != nil {
		return l, err
	}
	if mirror.Outcome != "" && !mirror.Deleted {
		if err := a.syncStatus(tx, l, mirror, fx); err != nil {
			return l, err
		}
	}
	return l, nil
}

// withdrawSuggestions closes the pending suggestions of an entity once it is
// linked, so the link dialog stops offering it elsewhere.
func (a *App) withdrawSuggestions(tx *store.Tx, mirror store.Entity) error {
	suggestions, err := tx.EntitySuggestions(mirror.ConnectionID, mirror.EntityType, mirror.EntityID)
	if err != nil {
		return err
	}
	for _, s := range suggestions {
		if s.State != store.SuggestionPending {
			continue
		}
		s.State = "withdrawn"
		if err := tx.PutSuggestion(&s); err != nil {
			return err
		}
	}
	return nil
}

func sourceForLink(p crm.Provider, linkedBy string) string {
	if linkedBy == "manual" || linkedBy == "suggestion" {
		return "user"
	}
	return string(p)
}

// syncStatus moves the linked referral to the entity's outcome, with the
// timeline entry and banner, and mirrors it into the partner's copy.
func (a *App) syncStatus(tx *store.Tx, l store.Link, mirror store.Entity, fx *effects) error {
	r, err := tx.Referral(l.ReferralID)
	if err != nil {
		return err
	}
	status := mirror.Outcome
	if r.Status == status {
		return nil
	}
	provider := crm.Provider(mirror.Provider)
	r.Status = status
	if err := tx.PutReferral(&r); err != nil {
		return err
	}
	fx.touch(r)

	text := fmt.Sprintf("Status changed to %s (synced from %s)", status, provider.Label())
	if err := tx.AddTimeline(&store.TimelineEntry{
		ReferralID: r.ID, UserID: r.UserID, At: a.now(), Kind: "status_synced",
		Text: text, Source: string(provider), Context: mirror.Name,
	}); err != nil {
		return err
	}
	n := store.Notification{
		UserID: r.UserID, At: a.now(), Kind: "status_synced", Title: text,
		Body:       fmt.Sprintf("%s for %s", mirror.Name, r.ClientName),
		ReferralID: r.ID, Entity: entityRef(mirror),
	}
	if err := tx.AddNotification(&n); err != nil {
		return err
	}
	fx.notify(n)

	return a.mirrorToPartner(tx, r, status, "synced partner update", mirror.Name, fx)
}

// partnerBody is the partner's notification text: a CRM change names the
// record, a manual change names the person.
func partnerBody(client, sender, status, provider, entityName string) string {
	if entityName != "" {
		return fmt.Sprintf("%s: %s's %s record %s moved the referral to %s.", client, sender, provider, quoteName(entityName), status)
	}
	return fmt.Sprintf("%s: %s marked the referral %s.", client, sender, status)
}

// mirrorToPartner copies a status into the counterpart referral when the
// partner is a registered user; for anyone else the change stops here.
func (a *App) mirrorToPartner(tx *store.Tx, r store.Referral, status, why, context string, fx *effects) error {
	if r.CounterpartID == "" {
		return nil
	}
	partner, err := tx.Partner(r.PartnerID)
	if err != nil || partner.State != store.PartnerRegistered {
		return nil
	}
	cp, err := tx.Referral(r.CounterpartID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if cp.Status == status {
		return nil
	}
	cp.Status = status
	if err := tx.PutReferral(&cp); err != nil {
		return err
	}
	fx.touch(cp)

	if err := tx.AddTimeline(&store.TimelineEntry{
		ReferralID: cp.ID, UserID: cp.UserID, At: a.now(), Kind: "partner_status_synced",
		Text: fmt.Sprintf("Status changed to %s (%s)", status, why), Source: "partner", Context: context,
	}); err != nil {
		return err
	}
	sender, _ := tx.User(r.UserID)
	provider := ""
	if context != "" {
		if l, err := tx.ReferralLinks(r.ID); err == nil && len(l) > 0 {
			provider = crm.Provider(l[0].Provider).Label()
		}
	}
	n := store.Notification{
		UserID: cp.UserID, At: a.now(), Kind: "partner_status_synced",
		Title:      fmt.Sprintf("Referral status updated to %s", status),
		Body:       partnerBody(cp.ClientName, displayName(sender), status, provider, context),
		ReferralID: cp.ID,
	}
	if err := tx.AddNotification(&n); err != nil {
		return err
	}
	fx.notify(n)
	return nil
}

func (a *App) applyDeleted(tx *store.Tx, ev crm.Event, l store.Link, linked bool, fx *effects) error {
	mirror, err := tx.Entity(ev.ConnectionID, ev.EntityType, ev.EntityID)
	if err != nil {
		return err
	}
	if err := a.withdrawSuggestions(tx, mirror); err != nil {
		return err
	}
	if !linked || l.EntityGone {
		return nil
	}
	l.EntityGone = true
	if err := tx.PutLink(&l); err != nil {
		return err
	}
	provider := crm.Provider(ev.Provider)
	name := l.EntityName
	return tx.AddTimeline(&store.TimelineEntry{
		ReferralID: l.ReferralID, UserID: l.UserID, At: a.now(), Kind: "link_entity_deleted",
		Text:    fmt.Sprintf("%s %s %s was deleted in %s; the link is kept and the status is unchanged", provider.Label(), l.EntityType, quoteName(name), provider.Label()),
		Source:  string(provider),
		Context: name,
	})
}

// applyBillPaid queues one commission draft per paid bill and matter, to
// the partner who sent the referral linked to the matter.
func (a *App) applyBillPaid(tx *store.Tx, conn store.Connection, ev crm.Event, fx *effects) error {
	l, err := tx.LinkForEntity(ev.ConnectionID, "matter", ev.EntityID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	sourceKey := "bill\x00" + ev.ConnectionID + "\x00" + ev.BillID + "\x00" + ev.EntityID
	if tx.HasDraftSource(sourceKey) {
		return nil
	}
	r, err := tx.Referral(l.ReferralID)
	if err != nil {
		return err
	}
	if r.Direction != store.DirectionReceived {
		return nil
	}
	partner, err := tx.Partner(r.PartnerID)
	if err != nil {
		return err
	}
	user, err := tx.User(r.UserID)
	if err != nil {
		return err
	}

	bill := "A bill"
	if ev.BillNumber != "" {
		bill = "Bill " + ev.BillNumber
	}
	d := store.Draft{
		UserID: r.UserID, Kind: "commission_update", ReferralID: r.ID, PartnerID: partner.ID,
		To: partner.Email, State: store.DraftOpen, SourceKey: sourceKey,
		Subject: fmt.Sprintf("Work for %s has paid out", r.ClientName),
		Body: fmt.Sprintf("Hi %s,\n\n%s on the %s matter %s has been paid. Thank you again for referring %s to me.\n\n"+
			"If a referral fee or commission applies, here is an update so we can settle it: [add the details].\n\nBest regards,\n%s",
			firstName(partner.Name), bill, "Clio", quoteName(l.EntityName), r.ClientName, displayName(user)),
	}
	if err := tx.PutDraft(&d); err != nil {
		return err
	}
	if err := tx.AddTimeline(&store.TimelineEntry{
		ReferralID: r.ID, UserID: r.UserID, At: a.now(), Kind: "bill_paid",
		Text:    fmt.Sprintf("%s paid in Clio; a note to %s is waiting in the Action Queue", bill, displayPartner(partner)),
		Source:  "clio",
		Context: l.EntityName,
	}); err != nil {
		return err
	}
	n := store.Notification{
		UserID: r.UserID, At: a.now(), Kind: "draft_queued",
		Title:      "Bill paid: commission note ready to send",
		Body:       fmt.Sprintf("%s on %s was paid. Review the note to %s in your Action Queue.", bill, l.EntityName, displayPartner(partner)),
		ReferralID: r.ID,
		Entity:     &store.EntityRef{Provider: "clio", ConnectionID: conn.ID, EntityType: "matter", EntityID: ev.EntityID, Name: l.EntityName},
	}
	if err := tx.AddNotification(&n); err != nil {
		return err
	}
	fx.notify(n)
	return nil
}
