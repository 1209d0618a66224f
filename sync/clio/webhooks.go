package clio

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/referralpulse/referralpulse/store"
)

// webhookLifetime is how far ahead Maintain sets expires_at. Clio allows at
// most 31 days and defaults to 3, and Maintain runs daily.
const webhookLifetime = 30 * 24 * time.Hour

// matterFields lists the matter fields that deliveries, lists and fetches
// request. For `updated` webhooks they are also the watched fields.
const matterFields = "id,etag,number,display_number,description,status,open_date,pending_date,close_date," +
	"created_at,updated_at,client{id,etag,name,first_name,last_name,type,primary_email_address}"

// billFields lists the bill fields that deliveries, lists and fetches request.
const billFields = "id,etag,number,state,type,total,paid,balance,due,paid_at,issued_at,created_at,updated_at," +
	"client{id,name,type,primary_email_address},matters{id,etag,display_number,description,status}"

// webhookResourceFields shapes create, show and patch responses; without
// fields Clio returns only id and etag.
const webhookResourceFields = "id,etag,url,model,events,status,expires_at,shared_secret"

// subscription is one webhook the connector keeps alive per connection.
type subscription struct {
	model  string
	events []string
	fields string
}

var subscriptions = []subscription{
	{model: "matter", events: []string{"created", "updated", "deleted", "matter_opened", "matter_pended", "matter_closed"}, fields: matterFields},
	{model: "bill", events: []string{"created", "updated", "deleted"}, fields: billFields},
}

type webhookResource struct {
	ID           clioID   `json:"id"`
	URL          string   `json:"url"`
	Model        string   `json:"model"`
	Events       []string `json:"events"`
	Status       string   `json:"status"`
	ExpiresAt    string   `json:"expires_at"`
	SharedSecret string   `json:"shared_secret"`
}

func (r webhookResource) toStore(sub subscription) store.Webhook {
	events := r.Events
	if len(events) == 0 {
		events = sub.events
	}
	return store.Webhook{
		ID:           string(r.ID),
		Model:        sub.model,
		Events:       events,
		SharedSecret: r.SharedSecret,
		Status:       r.Status,
		ExpiresAt:    parseTime(r.ExpiresAt),
	}
}

func webhookPath(id string) string {
	return "/api/v4/webhooks/" + url.PathEscape(id) + ".json"
}

// createWebhook subscribes sub at the connection's webhook URL. Clio posts
// the X-Hook-Secret handshake to that URL before this call returns.
func (c *Connector) createWebhook(ctx context.Context, connectionID string, sub subscription) (store.Webhook, error) {
	body := map[string]any{"data": map[string]any{
		"url":        c.webhookURL(connectionID),
		"model":      sub.model,
		"events":     sub.events,
		"fields":     sub.fields,
		"expires_at": time.Now().Add(webhookLifetime).UTC().Format(time.RFC3339),
	}}
	var out struct {
		Data webhookResource `json:"data"`
	}
	req := request{method: http.MethodPost, path: "/api/v4/webhooks.json", query: "fields=" + webhookResourceFields, body: body}
	if _, err := c.call(ctx, connectionID, req, &out); err != nil {
		return store.Webhook{}, err
	}
	if out.Data.ID == "" {
		return store.Webhook{}, errors.New("clio created a webhook but returned no id")
	}

	if out.Data.SharedSecret == "" {
		current, err := c.showWebhook(ctx, connectionID, string(out.Data.ID))
		if err != nil {
			return store.Webhook{}, fmt.Errorf("read the shared secret of webhook %s: %w", out.Data.ID, err)
		}
		out.Data.SharedSecret = current.SharedSecret
	}
	c.log.Info().Str("connection_id", connectionID).Str("webhook_id", string(out.Data.ID)).Str("model", sub.model).Str("status", out.Data.Status).Msg("clio webhook created")
	return out.Data.toStore(sub), nil
}

func (c *Connector) showWebhook(ctx context.Context, connectionID, id string) (webhookResource, error) {
	var out struct {
		Data webhookResource `json:"data"`
	}
	_, err := c.call(ctx, connectionID, request{method: http.MethodGet, path: webhookPath(id), query: "fields=" + webhookResourceFields}, &out)
	return out.Data, err
}

// ensureWebhooks creates every subscription the connection lacks. When Clio
// rejects one, the connection keeps working by polling and PollOnlyReason
// says why; the next Maintain tries again.
func (c *Connector) ensureWebhooks(ctx context.Context, connectionID string) (store.Connection, error) {
	conn, err := c.loadConnection(connectionID)
	if err != nil {
		return conn, err
	}
	have := map[string]bool{}
	for _, wh := range conn.Webhooks {
		have[wh.Model] = true
	}

	created := map[string]store.Webhook{}
	var reasons []string
	for _, sub := range subscriptions {
		if have[sub.model] {
			continue
		}
		wh, err := c.createWebhook(ctx, connectionID, sub)
		if err != nil {
			c.log.Warn().Err(err).Str("connection_id", connectionID).Str("model", sub.model).Msg("unable to create the clio webhook; the connection polls instead")
			reasons = append(reasons, pollOnlyReason(sub.model, c.webhookURL(connectionID), err))
			continue
		}
		created[wh.ID] = wh
	}

	return c.updateConnection(connectionID, func(cur *store.Connection) error {
		if cur.Webhooks == nil {
			cur.Webhooks = map[string]store.Webhook{}
		}
		for id, wh := range created {
			cur.Webhooks[id] = wh
		}
		cur.PollOnlyReason = strings.Join(reasons, " ")
		return nil
	})
}

// pollOnlyReason is the sentence the health page shows when Clio did not
// accept a webhook.
func pollOnlyReason(model, target string, err error) string {
	var ae *apiError
	if errors.As(err, &ae) && (ae.Status == http.StatusUnprocessableEntity || ae.Status == http.StatusBadRequest) && NeedsHTTPSWarning(target) {
		return fmt.Sprintf("Clio rejected the %s webhook because %s is not an https URL, so changes arrive by polling only; set server.public_url to an https address Clio can reach.", model, target)
	}
	if errors.As(err, &ae) {
		return fmt.Sprintf("Clio rejected the %s webhook (HTTP %d: %s), so changes arrive by polling only.", model, ae.Status, ae.Body)
	}
	return fmt.Sprintf("Creating the %s webhook failed (%v), so changes arrive by polling only until the daily maintenance succeeds.", model, err)
}

// Maintain renews every webhook to webhookLifetime ahead and recreates the
// ones Clio no longer delivers to: gone (404), suspended, still pending,
// expired, or pointing at an old URL. It then creates any that are missing.
func (c *Connector) Maintain(ctx context.Context, connectionID string) error {
	conn, err := c.loadConnection(connectionID)
	if err != nil {
		return err
	}
	if conn.State == store.ConnectionBroken {
		return fmt.Errorf("maintain clio connection %s: %s", connectionID, conn.StateMessage)
	}

	renewedHooks := map[string]store.Webhook{}
	for id, wh := range conn.Webhooks {
		renewed, keep, err := c.renewWebhook(ctx, connectionID, wh)
		if err != nil {
			return fmt.Errorf("maintain clio webhook %s: %w", id, err)
		}
		if keep {
			renewedHooks[id] = renewed
		}
	}

	if _, err := c.updateConnection(connectionID, func(cur *store.Connection) error {
		cur.Webhooks = renewedHooks
		return nil
	}); err != nil {
		return err
	}
	_, err = c.ensureWebhooks(ctx, connectionID)
	return err
}

// renewWebhook extends one webhook, or deletes it and returns keep=false
// when it must be recreated.
func (c *Connector) renewWebhook(ctx context.Context, connectionID string, wh store.Webhook) (store.Webhook, bool, error) {
	log := c.log.With().Str("connection_id", connectionID).Str("webhook_id", wh.ID).Logger()

	current, err := c.showWebhook(ctx, connectionID, wh.ID)
	if hasStatus(err, http.StatusNotFound) {
		log.Warn().Msg("clio webhook is gone; recreating it")
		return wh, false, nil
	}
	if err != nil {
		return wh, false, err
	}

	expired := parseTime(current.ExpiresAt)
	stale := current.Status != "enabled" || (!expired.IsZero() && expired.Before(time.Now())) ||
		(current.URL != "" && current.URL != c.webhookURL(connectionID))
	if stale {
		log.Warn().Str("status", current.Status).Str("expires_at", current.ExpiresAt).Msg("clio webhook no longer delivers; recreating it")
		_, err := c.call(ctx, connectionID, request{method: http.MethodDelete, path: webhookPath(wh.ID)}, nil)
		if err != nil && !hasStatus(err, http.StatusNotFound) {
			return wh, false, err
		}
		return wh, false, nil
	}

	body := map[string]any{"data": map[string]any{"expires_at": time.Now().Add(webhookLifetime).UTC().Format(time.RFC3339)}}
	var out struct {
		Data webhookResource `json:"data"`
	}
	req := request{method: http.MethodPatch, path: webhookPath(wh.ID), query: "fields=" + webhookResourceFields, body: body}
	if _, err := c.call(ctx, connectionID, req, &out); err != nil {
		if hasStatus(err, http.StatusNotFound) {
			return wh, false, nil
		}
		return wh, false, err
	}
	wh.ExpiresAt = parseTime(out.Data.ExpiresAt)
	wh.Status = out.Data.Status
	if out.Data.SharedSecret != "" {
		wh.SharedSecret = out.Data.SharedSecret
	}
	log.Info().Time("expires_at", wh.ExpiresAt).Msg("clio webhook renewed")
	return wh, true, nil
}
