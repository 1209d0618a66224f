package store

import (
	"fmt"
	"time"
)

// PutLink stores l. Each CRM entity of a connection links to at most one
// referral: a second link to the same entity returns ErrConflict.
func (t *Tx) PutLink(l *Link) error {
	if l.ID == "" {
		l.ID = NewID()
	}
	if l.CreatedAt.IsZero() {
		l.CreatedAt = time.Now().UTC()
	}
	ek := entityKey(l.ConnectionID, l.EntityType, l.EntityID)
	if owner := t.bucket(bucketLinkEntity).Get(ek); owner != nil && string(owner) != l.ID {
		return fmt.Errorf("%s %s is already linked: %w", l.EntityType, l.EntityID, ErrConflict)
	}
	if err := t.put(bucketLinks, []byte(l.ID), l); err != nil {
		return err
	}
	if err := t.setIndex(bucketLinkEntity, ek, l.ID); err != nil {
		return err
	}
	return t.setIndex(bucketLinkReferral, key(l.ReferralID, l.ID), "")
}

// Link loads one link by id.
func (t *Tx) Link(id string) (Link, error) {
	var l Link
	if err := t.get(bucketLinks, []byte(id), &l); err != nil {
		return l, fmt.Errorf("link %s: %w", id, err)
	}
	return l, nil
}

// LinkForEntity loads the link of one CRM entity.
func (t *Tx) LinkForEntity(connectionID, entityType, entityID string) (Link, error) {
	id := t.bucket(bucketLinkEntity).Get(entityKey(connectionID, entityType, entityID))
	if id == nil {
		return Link{}, fmt.Errorf("link for %s %s: %w", entityType, entityID, ErrNotFound)
	}
	return t.Link(string(id))
}

// ReferralLinks lists a referral's links, oldest first.
func (t *Tx) ReferralLinks(referralID string) ([]Link, error) {
	var out []Link
	var err error
	t.scanPrefix(bucketLinkReferral, key(referralID, ""), func(k, _ []byte) bool {
		var l Link
		if l, err = t.Link(lastPart(k)); err != nil {
			return false
		}
		out = append(out, l)
		return true
	})
	return out, err
}

// DeleteLink removes a link and its indexes.
func (t *Tx) DeleteLink(l Link) error {
	if err := t.delIndex(bucketLinkEntity, entityKey(l.ConnectionID, l.EntityType, l.EntityID)); err != nil {
		return err
	}
	if err := t.delIndex(bucketLinkReferral, key(l.ReferralID, l.ID)); err != nil {
		return err
	}
	return t.bucket(bucketLinks).Delete([]byte(l.ID))
}

// PutSuggestion stores s and its indexes.
func (t *Tx) PutSuggestion(s *Suggestion) error {
	if s.ID == "" {
		s.ID = NewID()
	}
	if s.CreatedAt.IsZero() {
		s.CreatedAt = time.Now().UTC()
	}
	if err := t.put(bucketSuggestions, []byte(s.ID), s); err != nil {
		return err
	}
	if err := t.setIndex(bucketSuggReferral, key(s.ReferralID, s.ID), ""); err != nil {
		return err
	}
	return t.setIndex(bucketSuggEntity, key(s.ConnectionID, s.EntityType, s.EntityID, s.ID), "")
}

// Suggestion loads one suggestion by id.
func (t *Tx) Suggestion(id string) (Suggestion, error) {
	var s Suggestion
	if err := t.get(bucketSuggestions, []byte(id), &s); err != nil {
		return s, fmt.Errorf("suggestion %s: %w", id, err)
	}
	return s, nil
}

// ReferralSuggestions lists a referral's suggestions in any state, oldest first.
func (t *Tx) ReferralSuggestions(referralID string) ([]Suggestion, error) {
	return t.suggestionsByIndex(bucketSuggReferral, key(referralID, ""))
}

// EntitySuggestions lists the suggestions made for one CRM entity.
func (t *Tx) EntitySuggestions(connectionID, entityType, entityID string) ([]Suggestion, error) {
	return t.suggestionsByIndex(bucketSuggEntity, key(connectionID, entityType, entityID, ""))
}

func (t *Tx) suggestionsByIndex(bucket, prefix []byte) ([]Suggestion, error) {
	var out []Suggestion
	var err error
	t.scanPrefix(bucket, prefix, func(k, _ []byte) bool {
		var s Suggestion
		if s, err = t.Suggestion(lastPart(k)); err != nil {
			return false
		}
		out = append(out, s)
		return true
	})
	return out, err
}

// MarkRejected records that the user rejected pairing this referral with
// this entity, so the pair is never offered again.
func (t *Tx) MarkRejected(referralID, connectionID, entityType, entityID string) error {
	return t.setIndex(bucketRejected, key(referralID, connectionID, entityType, entityID), "")
}

// IsRejected reports whether the pair was rejected before.
func (t *Tx) IsRejected(referralID, connectionID, entityType, entityID string) bool {
	return t.bucket(bucketRejected).Get(key(referralID, connectionID, entityType, entityID)) != nil
}
