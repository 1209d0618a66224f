package store

import (
	"fmt"
	"time"
)

// AddTimeline appends an entry to a referral's timeline.
func (t *Tx) AddTimeline(e *TimelineEntry) error {
	if e.ID == "" {
		e.ID = NewID()
	}
	if e.At.IsZero() {
		e.At = time.Now().UTC()
	}
	b := t.bucket(bucketTimeline)
	b.FillPercent = 1.0
	if err := t.put(bucketTimeline, key(e.ReferralID, e.ID), e); err != nil {
		return err
	}
	return t.setIndex(bucketTimelineUser, key(e.UserID, e.ID), e.ReferralID)
}

// ReferralTimeline lists a referral's entries newest first.
func (t *Tx) ReferralTimeline(referralID string, page Page) ([]TimelineEntry, string, error) {
	page = page.Normalize()
	var out []TimelineEntry
	var err error
	next := ""
	t.scanPrefixDesc(bucketTimeline, key(referralID, ""), page.Cursor, func(_, v []byte) bool {
		if len(out) == page.Limit {
			next = out[len(out)-1].ID
			return false
		}
		var e TimelineEntry
		if err = decode(v, &e); err != nil {
			return false
		}
		out = append(out, e)
		return true
	})
	return out, next, err
}

// UserTimelineSince lists a user's timeline entries at or after since, newest first, up to limit.
func (t *Tx) UserTimelineSince(userID string, since time.Time, limit int) ([]TimelineEntry, error) {
	var out []TimelineEntry
	var err error
	t.scanPrefixDesc(bucketTimelineUser, key(userID, ""), "", func(k, v []byte) bool {
		var e TimelineEntry
		if err = t.get(bucketTimeline, key(string(v), lastPart(k)), &e); err != nil {
			return false
		}
		if e.At.Before(since) {
			return false
		}
		out = append(out, e)
		return limit <= 0 || len(out) < limit
	})
	return out, err
}

// AddNotification stores a notification for its user.
func (t *Tx) AddNotification(n *Notification) error {
	if n.ID == "" {
		n.ID = NewID()
	}
	if n.At.IsZero() {
		n.At = time.Now().UTC()
	}
	return t.put(bucketNotifications, key(n.UserID, n.ID), n)
}

// Notification loads one of a user's notifications.
func (t *Tx) Notification(userID, id string) (Notification, error) {
	var n Notification
	if err := t.get(bucketNotifications, key(userID, id), &n); err != nil {
		return n, fmt.Errorf("notification %s: %w", id, err)
	}
	return n, nil
}

// PutNotification saves a changed notification.
func (t *Tx) PutNotification(n Notification) error {
	return t.put(bucketNotifications, key(n.UserID, n.ID), n)
}

// UserNotifications lists a user's notifications newest first.
func (t *Tx) UserNotifications(userID string, unreadOnly bool, page Page) ([]Notification, string, error) {
	page = page.Normalize()
	var out []Notification
	var err error
	next := ""
	t.scanPrefixDesc(bucketNotifications, key(userID, ""), page.Cursor, func(_, v []byte) bool {
		var n Notification
		if err = decode(v, &n); err != nil {
			return false
		}
		if unreadOnly && n.Read {
			return true
		}
		if len(out) == page.Limit {
			next = out[len(out)-1].ID
			return false
		}
		out = append(out, n)
		return true
	})
	return out, next, err
}

// PutDraft stores a draft. SourceKey, when set, names what produced the
// draft (a paid bill on a matter); a second draft with the same SourceKey
// returns ErrConflict.
func (t *Tx) PutDraft(d *Draft) error {
	now := time.Now().UTC()
	if d.ID == "" {
		d.ID = NewID()
		d.CreatedAt = now
		if d.SourceKey != "" {
			if t.bucket(bucketDraftSource).Get([]byte(d.SourceKey)) != nil {
				return fmt.Errorf("draft for %s: %w", d.SourceKey, ErrConflict)
			}
			if err := t.setIndex(bucketDraftSource, []byte(d.SourceKey), d.ID); err != nil {
				return err
			}
		}
	}
	d.UpdatedAt = now
	return t.put(bucketDrafts, key(d.UserID, d.ID), d)
}

// HasDraftSource reports whether a draft was ever made for sourceKey.
func (t *Tx) HasDraftSource(sourceKey string) bool {
	return t.bucket(bucketDraftSource).Get([]byte(sourceKey)) != nil
}

// Draft loads one of a user's drafts.
func (t *Tx) Draft(userID, id string) (Draft, error) {
	var d Draft
	if err := t.get(bucketDrafts, key(userID, id), &d); err != nil {
		return d, fmt.Errorf("draft %s: %w", id, err)
	}
	return d, nil
}

// UserDrafts lists a user's drafts newest first, optionally in one state.
func (t *Tx) UserDrafts(userID, state string, page Page) ([]Draft, string, error) {
	page = page.Normalize()
	var out []Draft
	var err error
	next := ""
	t.scanPrefixDesc(bucketDrafts, key(userID, ""), page.Cursor, func(_, v []byte) bool {
		var d Draft
		if err = decode(v, &d); err != nil {
			return false
		}
		if state != "" && d.State != state {
			return true
		}
		if len(out) == page.Limit {
			next = out[len(out)-1].ID
			return false
		}
		out = append(out, d)
		return true
	})
	return out, next, err
}
