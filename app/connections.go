package app

import (
	"context"
	"fmt"

	"github.com/referralpulse/referralpulse/store"
	"github.com/referralpulse/referralpulse/sync/crm"
)

// ConnectionView is a connection as the API shows it, with live health
// figures and the parked inbox items of the connection.
type ConnectionView struct {
	store.Connection
	FailedItems []FailedItem `json:"failed_items"`
}

// FailedItem is an inbox item parked after repeated failures.
type FailedItem struct {
	Seq        uint64 `json:"seq"`
	Key        string `json:"key"`
	Attempts   int    `json:"attempts"`
	LastError  string `json:"last_error"`
	ReceivedAt string `json:"received_at"`
}

func connectionView(tx *store.Tx, c store.Connection) (ConnectionView, error) {
	v := ConnectionView{Connection: c, FailedItems: []FailedItem{}}
	failed, err := tx.FailedInbox(c.ID, 100)
	if err != nil {
		return v, err
	}
	for _, it := range failed {
		v.FailedItems = append(v.FailedItems, FailedItem{
			Seq: it.Seq, Key: it.Key, Attempts: it.Attempts, LastError: it.LastError,
			ReceivedAt: it.ReceivedAt.Format("2006-01-02T15:04:05Z07:00"),
		})
	}
	v.Health.FailedEvents = len(failed)
	return v, nil
}

// Connections lists the user's CRM connections with health.
func (a *App) Connections(ctx context.Context, userID string) ([]ConnectionView, error) {
	var out []ConnectionView
	err := a.Store.View(func(tx *store.Tx) error {
		conns, err := tx.UserConnections(userID)
		if err != nil {
			return err
		}
		for _, c := range conns {
			v, err := connectionView(tx, c)
			if err != nil {
				return err
			}
			out = append(out, v)
		}
		return nil
	})
	return out, err
}

// Connection returns one of the user's connections with health.
func (a *App) Connection(ctx context.Context, userID, id string) (ConnectionView, error) {
	var v ConnectionView
	err := a.Store.View(func(tx *store.Tx) error {
		c, err := ownConnection(tx, userID, id)
		if err != nil {
			return err
		}
		v, err = connectionView(tx, c)
		return err
	})
	return v, err
}

// Connect creates a connection from tokens (no browser flow).
func (a *App) Connect(ctx context.Context, userID string, req crm.ConnectRequest) (ConnectionView, error) {
	p, err := crm.ParseProvider(req.Provider)
	if err != nil {
		return ConnectionView{}, invalid("provider", "%v", err)
	}
	c, err := a.Connector(p)
	if err != nil {
		return ConnectionView{}, invalid("provider", "%v", err)
	}
	conn, err := c.Connect(ctx, userID, req)
	if err != nil {
		return ConnectionView{}, err
	}
	a.Log.Info().Str("connection_id", conn.ID).Str("provider", string(p)).Str("user_id", userID).Msg("crm connected")
	return a.Connection(ctx, userID, conn.ID)
}

// Disconnect removes a connection; links on referrals stay.
func (a *App) Disconnect(ctx context.Context, userID, id string) error {
	v, err := a.Connection(ctx, userID, id)
	if err != nil {
		return err
	}
	c, err := a.Connector(crm.Provider(v.Provider))
	if err != nil {
		return a.Store.Update(func(tx *store.Tx) error { return tx.DeleteConnection(id) })
	}
	if err := c.Disconnect(ctx, id); err != nil {
		return fmt.Errorf("disconnect %s: %w", v.Provider, err)
	}
	a.Log.Info().Str("connection_id", id).Str("provider", v.Provider).Msg("crm disconnected")
	return nil
}

// PollNow runs a connection's poll at once; the scheduler's lock keeps it
// from overlapping a scheduled run.
func (a *App) PollNow(ctx context.Context, userID, id string, poll func(ctx context.Context, id string) (crm.PollResult, error)) (crm.PollResult, error) {
	if _, err := a.Connection(ctx, userID, id); err != nil {
		return crm.PollResult{}, err
	}
	return poll(ctx, id)
}

// RetryFailed puts a connection's parked inbox items back in the queue.
func (a *App) RetryFailed(ctx context.Context, userID, id string) (int, error) {
	n := 0
	err := a.Store.Update(func(tx *store.Tx) error {
		if _, err := ownConnection(tx, userID, id); err != nil {
			return err
		}
		items, err := tx.FailedInbox(id, 0)
		if err != nil {
			return err
		}
		for _, it := range items {
			it.State = store.InboxPending
			it.Attempts = 0
			it.NextAttemptAt = a.now()
			if err := tx.PutInboxItem(it); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}
