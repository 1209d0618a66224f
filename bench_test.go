package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	bolt "go.etcd.io/bbolt"

	"github.com/referralpulse/referralpulse/store"
	"github.com/referralpulse/referralpulse/sync/clio/cliotest"
)

// benchClient sends many concurrent requests over loopback keep-alive connections.
var benchClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128, MaxConnsPerHost: 128}, Timeout: 10 * time.Second}

// BenchmarkWebhookIngest measures a Clio delivery through the running
// appliance: signature check, durable inbox write, then 200. Every request
// carries a new etag, so each one is a real inbox write, not a duplicate.
func BenchmarkWebhookIngest(b *testing.B) {
	fake := cliotest.New(cliotest.Options{ClientID: clioTestClient, ClientSecret: clioTestSecret, AllowHTTPWebhooks: true})
	defer fake.Close()
	a := startAppliance(b, func(c *config) {
		c.ClioClientID, c.ClioClientSecret, c.ClioBaseURL = clioTestClient, clioTestSecret, fake.URL()
	})
	// Keep the worker from competing for the database while ingest is measured.
	a.srv.cancel()

	u, tok := a.user("ada@example.com", "Ada")
	_ = u
	tokens := fake.IssueTokens()
	var conn struct{ ID string }
	a.mustCall(201, tok, "POST", "/api/v1/connections", map[string]any{
		"provider": "clio", "region": "us", "access_token": tokens.AccessToken,
		"refresh_token": tokens.RefreshToken, "expires_in": tokens.ExpiresIn,
	}, &conn)

	var webhookID, secret string
	err := a.srv.store.View(func(tx *store.Tx) error {
		c, err := tx.Connection(conn.ID)
		for id, wh := range c.Webhooks {
			if wh.Model == "matter" {
				webhookID, secret = id, wh.SharedSecret
			}
		}
		return err
	})
	if err != nil || secret == "" {
		b.Fatalf("no matter webhook secret: %v", err)
	}
	url := a.base + "/webhooks/clio/" + conn.ID

	var seq atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := seq.Add(1)
			body := []byte(fmt.Sprintf(`{"data":{"id":%d,"etag":"\"e%d\"","display_number":"00%d-Okafor","description":"Okafor v. Brightline","status":"Open","updated_at":"2026-03-02T09:14:55-05:00","client":{"id":9900312,"name":"Adaeze Okafor","primary_email_address":"adaeze.okafor@example.org"}},"meta":{"event":"updated","webhook_id":%s}}`, n, n, n, webhookID))
			mac := hmac.New(sha256.New, []byte(secret))
			mac.Write(body)
			req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Hook-Signature", hex.EncodeToString(mac.Sum(nil)))
			resp, err := benchClient.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkBaselineFiberBatch is the reference point for ingest: a bare
// Fiber handler that writes each 1 KB body to bbolt with Batch
// (MaxBatchSize 64) and returns 200, measured the same way.
func BenchmarkBaselineFiberBatch(b *testing.B) {
	db, err := bolt.Open(b.TempDir()+"/baseline.db", 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.MaxBatchSize = 64
	db.MaxBatchDelay = 2 * time.Millisecond
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("b")); return err }); err != nil {
		b.Fatal(err)
	}
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	var seq atomic.Uint64
	app.Post("/", func(c *fiber.Ctx) error {
		body := append([]byte(nil), c.Body()...)
		key := strconv.FormatUint(seq.Add(1), 10)
		if err := db.Batch(func(tx *bolt.Tx) error { return tx.Bucket([]byte("b")).Put([]byte(key), body) }); err != nil {
			return err
		}
		return c.SendStatus(200)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go app.Listener(ln)
	defer app.Shutdown()
	body := bytes.Repeat([]byte("x"), 1024)
	url := "http://" + ln.Addr().String() + "/"

	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := benchClient.Post(url, "application/octet-stream", bytes.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}
