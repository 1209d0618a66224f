package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

var testKey = []byte("store test secret key")

func openTest(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir, testKey, Options{LockTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return s
}

func TestSecondOpenFailsNamingDirectory(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	defer s.Close()

	start := time.Now()
	_, err := Open(dir, testKey, Options{LockTimeout: 100 * time.Millisecond})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second open error = %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), dir) {
		t.Errorf("error %q does not name the data directory", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("second open waited %v", time.Since(start))
	}
}

func TestNewerSchemaIsRejected(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put([]byte("schema_version"), u64(SchemaVersion+1))
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	_, err = Open(dir, testKey, Options{})
	if err == nil || !strings.Contains(err.Error(), "newer referralpulse") {
		t.Fatalf("open of a newer file = %v, want a refusal that says to run a newer build", err)
	}
}

func TestReopenKeepsSchemaAndData(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	u := User{Email: "Ada@Example.com", Name: "Ada"}
	if err := s.Update(func(tx *Tx) error { return tx.PutUser(&u) }); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = openTest(t, dir)
	defer s.Close()
	if v, err := s.SchemaVersionOf(); err != nil || v != SchemaVersion {
		t.Errorf("schema version = %d, %v", v, err)
	}
	err := s.View(func(tx *Tx) error {
		got, err := tx.UserByEmail(" ada@example.COM ")
		if err != nil {
			return err
		}
		if got.ID != u.ID {
			t.Errorf("user id = %s, want %s", got.ID, u.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestTokensAreEncryptedAtRest(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	c := Connection{UserID: "u1", Provider: "clio", AccessToken: "access-PLAINTEXT-marker", RefreshToken: "refresh-PLAINTEXT-marker",
		Webhooks: map[string]Webhook{"1": {ID: "1", SharedSecret: "hook-PLAINTEXT-marker"}}}
	if err := s.Update(func(tx *Tx) error { return tx.PutConnection(&c) }); err != nil {
		t.Fatal(err)
	}
	s.Close()

	raw, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("PLAINTEXT-marker")) {
		t.Fatal("a token or webhook secret is stored in plain text")
	}

	s = openTest(t, dir)
	defer s.Close()
	err = s.View(func(tx *Tx) error {
		got, err := tx.Connection(c.ID)
		if err != nil {
			return err
		}
		if got.AccessToken != c.AccessToken || got.RefreshToken != c.RefreshToken || got.Webhooks["1"].SharedSecret != "hook-PLAINTEXT-marker" {
			t.Errorf("decrypted connection = %+v", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	other, err := Open(t.TempDir(), []byte("another key"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	other.Close()
}

func TestWrongKeyCannotReadTokens(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	c := Connection{UserID: "u1", Provider: "clio", AccessToken: "a"}
	if err := s.Update(func(tx *Tx) error { return tx.PutConnection(&c) }); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err := Open(dir, []byte("a different secret key"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.View(func(tx *Tx) error { _, err := tx.Connection(c.ID); return err })
	if err == nil || !strings.Contains(err.Error(), "secret_key") {
		t.Errorf("read with the wrong key = %v, want an error that mentions security.secret_key", err)
	}
}

func TestInboxDeduplicatesAndTracksState(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	items := []InboxItem{{Key: "a", Provider: "clio"}, {Key: "b", Provider: "clio"}, {Key: "a", Provider: "clio"}}
	var added int
	err := s.Update(func(tx *Tx) error {
		var err error
		added, err = tx.Enqueue(items...)
		return err
	})
	if err != nil || added != 2 {
		t.Fatalf("added = %d, %v; want 2", added, err)
	}

	err = s.Update(func(tx *Tx) error {
		pending, err := tx.PendingInbox(10)
		if err != nil {
			return err
		}
		if len(pending) != 2 || pending[0].Key != "a" || pending[1].Key != "b" {
			t.Fatalf("pending = %+v, want a then b", pending)
		}
		pending[0].State = InboxFailed
		if err := tx.PutInboxItem(pending[0]); err != nil {
			return err
		}
		pending[1].State = InboxDone
		if err := tx.PutInboxItem(pending[1]); err != nil {
			return err
		}
		if n, _ := tx.Enqueue(InboxItem{Key: "b"}); n != 0 {
			t.Error("a processed key was enqueued again")
		}
		p, f := tx.InboxDepth()
		if p != 0 || f != 1 {
			t.Errorf("depth = %d pending, %d failed; want 0 and 1", p, f)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestBackupIsAReadableCopy(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	u := User{Email: "ada@example.com", Name: "Ada"}
	if err := s.Update(func(tx *Tx) error { return tx.PutUser(&u) }); err != nil {
		t.Fatal(err)
	}
	backupDir := t.TempDir()
	f, err := os.Create(filepath.Join(backupDir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Backup(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	s.Close()

	b := openTest(t, backupDir)
	defer b.Close()
	err = b.View(func(tx *Tx) error { _, err := tx.User(u.ID); return err })
	if err != nil {
		t.Errorf("backup lacks the user: %v", err)
	}
}

func TestReferralIndexesFollowChanges(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	err := s.Update(func(tx *Tx) error {
		r := Referral{UserID: "u", Direction: DirectionReceived, PartnerID: "p", ClientName: "A", Status: StatusOpen}
		if err := tx.PutReferral(&r); err != nil {
			return err
		}
		open, _ := tx.OpenReceivedUnlinked("u", 50)
		if len(open) != 1 || tx.ReferralCount("u", DirectionReceived, StatusOpen) != 1 {
			t.Errorf("open candidates = %d, count = %d; want 1 and 1", len(open), tx.ReferralCount("u", DirectionReceived, StatusOpen))
		}
		r.Status = StatusWon
		if err := tx.PutReferral(&r); err != nil {
			return err
		}
		open, _ = tx.OpenReceivedUnlinked("u", 50)
		if len(open) != 0 {
			t.Error("a won referral stayed an auto-link candidate")
		}
		if tx.ReferralCount("u", DirectionReceived, StatusOpen) != 0 || tx.ReferralCount("u", DirectionReceived, StatusWon) != 1 {
			t.Error("counters did not follow the status change")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestMigrationFillsReferralFacets(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	r := Referral{UserID: "u", Direction: DirectionGiven, PartnerID: "p", ClientName: "A", Status: StatusWon}
	if err := s.Update(func(tx *Tx) error { return tx.PutReferral(&r) }); err != nil {
		t.Fatal(err)
	}
	// Turn the file back into schema version 1, which had no facet index.
	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bucketReferralFacet); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put([]byte("schema_version"), u64(1))
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = openTest(t, dir)
	defer s.Close()
	if v, _ := s.SchemaVersionOf(); v != SchemaVersion {
		t.Errorf("schema version after migration = %d, want %d", v, SchemaVersion)
	}
	err = s.View(func(tx *Tx) error {
		for _, f := range []ReferralFilter{{Status: StatusWon}, {Direction: DirectionGiven}, {Direction: DirectionGiven, Status: StatusWon}} {
			got, _, err := tx.UserReferrals("u", f, Page{})
			if err != nil {
				return err
			}
			if len(got) != 1 || got[0].ID != r.ID {
				t.Errorf("filter %+v after migration = %d referrals, want the one", f, len(got))
			}
		}
		none, _, _ := tx.UserReferrals("u", ReferralFilter{Status: StatusOpen}, Page{})
		if len(none) != 0 {
			t.Errorf("open filter = %d, want 0", len(none))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
