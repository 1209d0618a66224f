package clio

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/referralpulse/referralpulse/store"
	"github.com/referralpulse/referralpulse/sync/crm"
)

// envelope is a webhook delivery: {"data": {...}, "meta": {"event", "webhook_id"}}.
// The model is not in it; it follows from the webhook id.
type envelope struct {
	Data json.RawMessage `json:"data"`
	Meta struct {
		Event     string `json:"event"`
		WebhookID clioID `json:"webhook_id"`
	} `json:"meta"`
}

// handshakeBody is the body of the X-Hook-Secret request; Clio does not
// document it, so it is read only for the log.
type handshakeBody struct {
	Data struct {
		WebhookID clioID `json:"webhook_id"`
	} `json:"data"`
}

func jsonResponse(status int, message string) crm.WebhookResponse {
	body, _ := json.Marshal(map[string]string{"error": message})
	return crm.WebhookResponse{Status: status, Header: map[string]string{"Content-Type": "application/json"}, Body: body}
}

// HandleWebhook responds to the X-Hook-Secret handshake and stores verified
// deliveries in the inbox. It never returns 410, because Clio disables a
// webhook that gets one.
func (c *Connector) HandleWebhook(ctx context.Context, req crm.WebhookRequest) crm.WebhookResponse {
	log := c.log.With().Str("connection_id", req.ConnectionID).Logger()
	conn, err := c.loadConnection(req.ConnectionID)
	if errors.Is(err, store.ErrNotFound) {
		log.Warn().Msg("clio webhook for an unknown connection")
		return jsonResponse(http.StatusNotFound, "unknown connection")
	}
	if err != nil {
		log.Error().Err(err).Msg("unable to load the connection for a clio webhook")
		return jsonResponse(http.StatusInternalServerError, "connection could not be loaded")
	}

	// The handshake can arrive while the create call is still in flight, so
	// the webhook id may not be stored yet. Echoing the secret confirms only
	// that this URL belongs to us; signing keys come from the API response.
	if secret := req.Header.Get("X-Hook-Secret"); secret != "" {
		var hs handshakeBody
		_ = json.Unmarshal(req.Body, &hs)
		log.Info().Str("webhook_id", string(hs.Data.WebhookID)).Msg("clio webhook handshake echoed")
		return crm.WebhookResponse{Status: http.StatusOK, Header: map[string]string{"X-Hook-Secret": secret}}
	}

	var env envelope
	parseErr := json.Unmarshal(req.Body, &env)
	webhookID := string(env.Meta.WebhookID)
	if !c.signatureValid(conn, webhookID, req.Body, req.Header.Get("X-Hook-Signature")) {
		log.Warn().Str("webhook_id", webhookID).Msg("clio webhook rejected: missing or invalid X-Hook-Signature")
		resp := jsonResponse(http.StatusUnauthorized, "invalid signature")
		resp.Rejected = true
		return resp
	}
	if parseErr != nil || len(env.Data) == 0 {
		log.Warn().Str("webhook_id", webhookID).Msg("clio webhook rejected: body is not a delivery")
		resp := jsonResponse(http.StatusBadRequest, "body is not a Clio webhook delivery")
		resp.Rejected = true
		return resp
	}

	var head listHeader
	_ = json.Unmarshal(env.Data, &head)
	received := req.ReceivedAt
	if received.IsZero() {
		received = time.Now().UTC()
	}
	item := store.InboxItem{
		Key:          webhookKey(conn.ID, webhookID, string(head.ID), env.Meta.Event, head.Etag, req.Body),
		Provider:     string(crm.Clio),
		ConnectionID: conn.ID,
		Source:       "webhook",
		Payload:      append([]byte(nil), req.Body...),
		ReceivedAt:   received,
	}

	// Batch shares one commit among concurrent deliveries; the function may
	// run twice, which Enqueue's key check makes harmless.
	stored := 0
	// The health figure is rewritten at most once a second, because a
	// connection write re-seals its tokens and would dominate a busy stream.
	touchHealth := received.Sub(conn.Health.LastWebhookAt) >= time.Second
	err = c.store.Batch(func(tx *store.Tx) error {
		var err error
		if stored, err = tx.Enqueue(item); err != nil || !touchHealth {
			return err
		}
		cur, err := tx.Connection(conn.ID)
		if err != nil {
			return err
		}
		cur.Health.LastWebhookAt = received
		return tx.PutConnection(&cur)
	})
	if err != nil {
		log.Error().Err(err).Str("webhook_id", webhookID).Msg("unable to store the clio webhook; Clio will retry")
		return jsonResponse(http.StatusInternalServerError, "delivery could not be stored")
	}

	log.Debug().Str("webhook_id", webhookID).Str("event_id", item.Key).Int("stored", stored).Msg("clio webhook stored")
	return crm.WebhookResponse{Status: http.StatusOK, Stored: stored}
}

// signatureValid checks X-Hook-Signature, the lowercase hex HMAC-SHA256 of
// the raw body keyed with the webhook's shared secret. A named webhook must
// be one of the connection's; without a name every secret is tried.
func (c *Connector) signatureValid(conn store.Connection, webhookID string, body []byte, header string) bool {
	signature, err := hex.DecodeString(strings.TrimSpace(header))
	if err != nil || len(signature) != sha256.Size {
		return false
	}

	var secrets []string
	if webhookID != "" {
		if wh, ok := conn.Webhooks[webhookID]; ok {
			secrets = append(secrets, wh.SharedSecret)
		}
	} else {
		for _, wh := range conn.Webhooks {
			secrets = append(secrets, wh.SharedSecret)
		}
	}

	for _, secret := range secrets {
		if secret == "" {
			continue
		}
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		if hmac.Equal(mac.Sum(nil), signature) {
			return true
		}
	}
	return false
}

// webhookKey identifies a delivery for deduplication: Clio's deliveries
// carry no event id, so the key is (webhook, record, event, etag), or a hash
// of the body when the etag is missing. An exact redelivery gets the same key.
func webhookKey(connectionID, webhookID, recordID, event, etag string, body []byte) string {
	if etag == "" {
		sum := sha256.Sum256(body)
		etag = "sha256:" + hex.EncodeToString(sum[:12])
	}
	return strings.Join([]string{"clio", "webhook", connectionID, webhookID, recordID, event, etag}, ":")
}
