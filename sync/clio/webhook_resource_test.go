package clio

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

func TestWebhookCreateResponseCase(t *testing.T) {
	raw, err := os.ReadFile("testdata/webhook-create-response.json")
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Data webhookResource `json:"data"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("decode the create response: %v", err)
	}
	wh := out.Data.toStore(subscriptions[0])

	if wh.ID != "3300117" {
		t.Errorf("id = %q, want the numeric id as a string", wh.ID)
	}
	if wh.Status != "pending" {
		t.Errorf("status = %q, want pending", wh.Status)
	}
	if wh.SharedSecret != "<opaque string>" {
		t.Errorf("shared secret = %q", wh.SharedSecret)
	}
	if want := time.Date(2026, 5, 30, 0, 0, 0, 0, time.UTC); !wh.ExpiresAt.Equal(want) {
		t.Errorf("expires_at = %v, want %v", wh.ExpiresAt, want)
	}
	want := []string{"created", "updated", "deleted", "matter_closed"}
	if wh.Model != "matter" || strings.Join(wh.Events, ",") != strings.Join(want, ",") {
		t.Errorf("model %q events %v, want matter with the events Clio echoed, %v", wh.Model, wh.Events, want)
	}
}
