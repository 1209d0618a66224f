package app

import (
	"context"
	"time"

	"github.com/referralpulse/referralpulse/store"
)

// Counts is the number of referrals by status in one direction.
type Counts struct {
	Open int `json:"open"`
	Won  int `json:"won"`
	Lost int `json:"lost"`
}

// Dashboard is the summary the dashboard shows.
type Dashboard struct {
	Given               Counts                `json:"given"`
	Received            Counts                `json:"received"`
	ActionQueue         int                   `json:"action_queue"`
	UnreadNotifications int                   `json:"unread_notifications"`
	Recent              []store.TimelineEntry `json:"recent"`
}

// Dashboard returns the user's referral counts, Action Queue size, unread
// notifications and the last week's timeline activity (at most 20 entries).
func (a *App) Dashboard(ctx context.Context, userID string) (Dashboard, error) {
	var d Dashboard
	err := a.Store.View(func(tx *store.Tx) error {
		count := func(direction string) Counts {
			return Counts{
				Open: tx.ReferralCount(userID, direction, store.StatusOpen),
				Won:  tx.ReferralCount(userID, direction, store.StatusWon),
				Lost: tx.ReferralCount(userID, direction, store.StatusLost),
			}
		}
		d.Given, d.Received = count(store.DirectionGiven), count(store.DirectionReceived)

		drafts, _, err := tx.UserDrafts(userID, store.DraftOpen, store.Page{Limit: 200})
		if err != nil {
			return err
		}
		d.ActionQueue = len(drafts)
		unread, _, err := tx.UserNotifications(userID, true, store.Page{Limit: 200})
		if err != nil {
			return err
		}
		d.UnreadNotifications = len(unread)
		d.Recent, err = tx.UserTimelineSince(userID, a.now().Add(-7*24*time.Hour), 20)
		return err
	})
	if d.Recent == nil {
		d.Recent = []store.TimelineEntry{}
	}
	return d, err
}
