package matcher

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	bolterrors "go.etcd.io/bbolt/errors"
)

// openTestIndex opens a new index under t.TempDir and closes it at cleanup.
func openTestIndex(t *testing.T) (*Index, string) {
	t.Helper()

	dir := filepath.Join(t.TempDir(), "index")
	ix, rebuilt, err := OpenIndex(dir)
	if err != nil {
		t.Fatalf("OpenIndex(%s): %v", dir, err)
	}
	if !rebuilt {
		t.Errorf("OpenIndex on a missing directory: rebuilt = false, want true")
	}
	t.Cleanup(func() { _ = ix.Close() })
	return ix, dir
}

// seedReferrals indexes referrals for two users, some with the same client.
func seedReferrals(t *testing.T, ix *Index) {
	t.Helper()

	docs := []ReferralDoc{
		{ID: "r1", UserID: "user-a", ClientName: "Adaeze Okafor", ClientEmail: "adaeze.okafor@example.org", ClientCompany: "Brightline Logistics LLC", Note: "warehouse lease dispute", PartnerName: "Mary Osei"},
		{ID: "r2", UserID: "user-a", ClientName: "Zoë Lefèvre", ClientEmail: "zoe@example.fr", Note: "commercial lease"},
		{ID: "r3", UserID: "user-a", ClientName: "Alessandra Rossetti", ClientEmail: "ale@example.it", ClientCompany: "Rossetti Design"},
		{ID: "r4", UserID: "user-a", ClientName: "Bo Lin", ClientEmail: "bo.lin@example.com"},
		{ID: "r5", UserID: "user-b", ClientName: "Adaeze Okafor", ClientEmail: "a.okafor@example.net"},
		{ID: "r6", UserID: "user-b", ClientName: "Quentin Blackwood", ClientCompany: "Blackwood Zoning"},
	}
	for _, d := range docs {
		if err := ix.IndexReferral(d); err != nil {
			t.Fatalf("IndexReferral(%s): %v", d.ID, err)
		}
	}
}

func TestSearchReferrals_Queries(t *testing.T) {
	ix, _ := openTestIndex(t)
	seedReferrals(t, ix)

	tests := []struct {
		name   string
		userID string
		query  string
		want   []string
	}{
		{name: "exact name", userID: "user-a", query: "Adaeze Okafor", want: []string{"r1"}},
		{name: "upper case", userID: "user-a", query: "OKAFOR", want: []string{"r1"}},
		{name: "typo in long word", userID: "user-a", query: "Okafro", want: []string{"r1"}},
		{name: "missing letter", userID: "user-a", query: "Rosetti", want: []string{"r3"}},
		{name: "accent missing in query", userID: "user-a", query: "zoe lefevre", want: []string{"r2"}},
		{name: "accent only in query", userID: "user-a", query: "Rossettì", want: []string{"r3"}},
		{name: "prefix while typing", userID: "user-a", query: "okaf", want: []string{"r1"}},
		{name: "prefix of two words", userID: "user-a", query: "ada oka", want: []string{"r1"}},
		{name: "company", userID: "user-a", query: "brightline", want: []string{"r1"}},
		{name: "company with typo", userID: "user-a", query: "brightlime", want: []string{"r1"}},
		{name: "note", userID: "user-a", query: "warehouse", want: []string{"r1"}},
		{name: "partner name", userID: "user-a", query: "osei", want: []string{"r1"}},
		{name: "note prefix", userID: "user-a", query: "wareh", want: []string{"r1"}},
		{name: "note without typo tolerance", userID: "user-a", query: "warehoose", want: []string{}},
		{name: "email", userID: "user-a", query: "zoe@example.fr", want: []string{"r2"}},
		{name: "every word must match", userID: "user-a", query: "okafor lefevre", want: []string{}},
		{name: "short word without typo tolerance", userID: "user-a", query: "Bo Lun", want: []string{}},
		{name: "short word exact", userID: "user-a", query: "bo lin", want: []string{"r4"}},
		{name: "other user only", userID: "user-a", query: "blackwood", want: []string{}},
		{name: "same client other user", userID: "user-b", query: "okafor", want: []string{"r5"}},
		{name: "unknown user", userID: "user-c", query: "okafor", want: []string{}},
		{name: "empty query", userID: "user-a", query: "   ", want: []string{}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ix.SearchReferrals(tt.userID, tt.query, 10)
			if err != nil {
				t.Fatalf("SearchReferrals(%q, %q): %v", tt.userID, tt.query, err)
			}
			if len(got) == 0 && len(tt.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("SearchReferrals(%q, %q) = %v, want %v", tt.userID, tt.query, got, tt.want)
			}
		})
	}
}

func TestSearchReferrals_ExactRanksFirst(t *testing.T) {
	ix, _ := openTestIndex(t)
	docs := []ReferralDoc{
		{ID: "typo", UserID: "u1", ClientName: "Marcus Hollowey"},
		{ID: "exact", UserID: "u1", ClientName: "Marcus Holloway"},
	}
	for _, d := range docs {
		if err := ix.IndexReferral(d); err != nil {
			t.Fatalf("IndexReferral(%s): %v", d.ID, err)
		}
	}

	got, err := ix.SearchReferrals("u1", "holloway", 10)
	if err != nil {
		t.Fatalf("SearchReferrals: %v", err)
	}
	if want := []string{"exact", "typo"}; !reflect.DeepEqual(got, want) {
		t.Errorf("SearchReferrals(holloway) = %v, want %v", got, want)
	}
}

func TestSearchReferrals_UserIsolation(t *testing.T) {
	ix, _ := openTestIndex(t)
	for i := range 30 {
		for _, user := range []string{"alice", "bob"} {
			d := ReferralDoc{
				ID:         fmt.Sprintf("%s-%02d", user, i),
				UserID:     user,
				ClientName: fmt.Sprintf("Jonathan Pryce %02d", i),
			}
			if err := ix.IndexReferral(d); err != nil {
				t.Fatalf("IndexReferral(%s): %v", d.ID, err)
			}
		}
	}

	for _, query := range []string{"pryce", "jonathan", "pryc", "Prcye", "jonathan pryce"} {
		t.Run(query, func(t *testing.T) {
			got, err := ix.SearchReferrals("alice", query, 100)
			if err != nil {
				t.Fatalf("SearchReferrals(alice, %q): %v", query, err)
			}
			if len(got) != 30 {
				t.Errorf("got %d results for alice, want 30", len(got))
			}
			for _, id := range got {
				if !strings.HasPrefix(id, "alice-") {
					t.Errorf("alice's search for %q returned %s, which belongs to another user", query, id)
				}
			}
		})
	}
}

func TestSearchReferrals_MissingUser(t *testing.T) {
	ix, _ := openTestIndex(t)
	seedReferrals(t, ix)

	if _, err := ix.SearchReferrals("", "okafor", 10); err == nil {
		t.Errorf("SearchReferrals with an empty user id returned no error")
	}
}

func TestSearchReferrals_Limit(t *testing.T) {
	ix, _ := openTestIndex(t)
	for i := range 25 {
		d := ReferralDoc{ID: fmt.Sprintf("r%02d", i), UserID: "u1", ClientName: "Dana Whitfield"}
		if err := ix.IndexReferral(d); err != nil {
			t.Fatalf("IndexReferral(%s): %v", d.ID, err)
		}
	}

	tests := []struct {
		limit int
		want  int
	}{
		{limit: 5, want: 5},
		{limit: 0, want: defaultSearchLimit},
		{limit: -1, want: defaultSearchLimit},
		{limit: 1000, want: 25},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.limit), func(t *testing.T) {
			got, err := ix.SearchReferrals("u1", "whitfield", tt.limit)
			if err != nil {
				t.Fatalf("SearchReferrals: %v", err)
			}
			if len(got) != tt.want {
				t.Errorf("limit %d gave %d results, want %d", tt.limit, len(got), tt.want)
			}
		})
	}
}

func TestDeleteReferral_RemovesFromSearch(t *testing.T) {
	ix, _ := openTestIndex(t)
	seedReferrals(t, ix)

	if err := ix.DeleteReferral("r1"); err != nil {
		t.Fatalf("DeleteReferral(r1): %v", err)
	}

	got, err := ix.SearchReferrals("user-a", "okafor", 10)
	if err != nil {
		t.Fatalf("SearchReferrals: %v", err)
	}
	if len(got) != 0 {
		t.Errorf("search after delete = %v, want none", got)
	}
	count, err := ix.DocCount()
	if err != nil {
		t.Fatalf("DocCount: %v", err)
	}
	if count != 5 {
		t.Errorf("DocCount after delete = %d, want 5", count)
	}
	if err := ix.DeleteReferral("never-indexed"); err != nil {
		t.Errorf("DeleteReferral of an unknown id: %v, want nil", err)
	}
	if err := ix.DeleteReferral(""); err == nil {
		t.Errorf("DeleteReferral with an empty id returned no error")
	}
}

func TestIndexReferral_ReplacesSameID(t *testing.T) {
	ix, _ := openTestIndex(t)
	if err := ix.IndexReferral(ReferralDoc{ID: "r1", UserID: "u1", ClientName: "Dana Whitfield"}); err != nil {
		t.Fatalf("IndexReferral: %v", err)
	}
	if err := ix.IndexReferral(ReferralDoc{ID: "r1", UserID: "u1", ClientName: "Dana Okafor"}); err != nil {
		t.Fatalf("IndexReferral again: %v", err)
	}

	old, err := ix.SearchReferrals("u1", "whitfield", 10)
	if err != nil {
		t.Fatalf("SearchReferrals(whitfield): %v", err)
	}
	if len(old) != 0 {
		t.Errorf("old client name still found: %v", old)
	}
	count, err := ix.DocCount()
	if err != nil {
		t.Fatalf("DocCount: %v", err)
	}
	if count != 1 {
		t.Errorf("DocCount = %d, want 1", count)
	}
}

func TestIndexDocs_Invalid(t *testing.T) {
	ix, _ := openTestIndex(t)

	referrals := []ReferralDoc{
		{UserID: "u1", ClientName: "No ID"},
		{ID: "r1", ClientName: "No User"},
	}
	for _, d := range referrals {
		if err := ix.IndexReferral(d); err == nil {
			t.Errorf("IndexReferral(%+v) returned no error", d)
		}
	}

	entities := []EntityDoc{
		{EntityType: "matter", EntityID: "1"},
		{ConnectionID: "c1", EntityID: "1"},
		{ConnectionID: "c1", EntityType: "matter"},
		{ConnectionID: "c1\x00x", EntityType: "matter", EntityID: "1"},
	}
	for _, d := range entities {
		if err := ix.IndexEntity(d); err == nil {
			t.Errorf("IndexEntity(%+v) returned no error", d)
		}
	}

	count, err := ix.DocCount()
	if err != nil {
		t.Fatalf("DocCount: %v", err)
	}
	if count != 0 {
		t.Errorf("DocCount after invalid documents = %d, want 0", count)
	}
}

func TestSearchEntities_ByConnection(t *testing.T) {
	ix, _ := openTestIndex(t)
	docs := []EntityDoc{
		{ConnectionID: "clio-1", EntityType: "matter", EntityID: "217", Name: "00217-Okafor Okafor v. Brightline Logistics", ClientName: "Adaeze Okafor"},
		{ConnectionID: "clio-1", EntityType: "matter", EntityID: "311", Name: "00311-Lefèvre lease", ClientName: "Zoë Lefèvre"},
		{ConnectionID: "hubspot-1", EntityType: "deal", EntityID: "9001", Name: "Okafor onboarding", ClientName: "Adaeze Okafor"},
	}
	for _, d := range docs {
		if err := ix.IndexEntity(d); err != nil {
			t.Fatalf("IndexEntity(%s): %v", d.EntityID, err)
		}
	}

	tests := []struct {
		name         string
		connectionID string
		query        string
		want         []EntityDoc
	}{
		{name: "name with typo", connectionID: "clio-1", query: "Brightlin", want: docs[:1]},
		{name: "accent folded", connectionID: "clio-1", query: "lefevre", want: docs[1:2]},
		{name: "prefix", connectionID: "hubspot-1", query: "onboa", want: docs[2:3]},
		{name: "matter number prefix", connectionID: "clio-1", query: "0021", want: docs[:1]},
		{name: "other connection hidden", connectionID: "hubspot-1", query: "brightline", want: nil},
		{name: "unknown connection", connectionID: "clio-2", query: "okafor", want: nil},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ix.SearchEntities(tt.connectionID, tt.query, 10)
			if err != nil {
				t.Fatalf("SearchEntities(%q, %q): %v", tt.connectionID, tt.query, err)
			}
			if len(got) == 0 && len(tt.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("SearchEntities(%q, %q) =\n %+v\nwant\n %+v", tt.connectionID, tt.query, got, tt.want)
			}
		})
	}
}

func TestDeleteEntity_RemovesFromSearch(t *testing.T) {
	ix, _ := openTestIndex(t)
	d := EntityDoc{ConnectionID: "clio-1", EntityType: "matter", EntityID: "217", Name: "Okafor v. Brightline", ClientName: "Adaeze Okafor"}
	if err := ix.IndexEntity(d); err != nil {
		t.Fatalf("IndexEntity: %v", err)
	}

	if err := ix.DeleteEntity("clio-1", "matter", "217"); err != nil {
		t.Fatalf("DeleteEntity: %v", err)
	}

	got, err := ix.SearchEntities("clio-1", "okafor", 10)
	if err != nil {
		t.Fatalf("SearchEntities: %v", err)
	}
	if len(got) != 0 {
		t.Errorf("search after delete = %+v, want none", got)
	}
}

func TestBatch_IndexesAll(t *testing.T) {
	ix, _ := openTestIndex(t)
	referrals := make([]ReferralDoc, 2500)
	for i := range referrals {
		referrals[i] = ReferralDoc{ID: fmt.Sprintf("r%04d", i), UserID: "u1", ClientName: fmt.Sprintf("Client %04d Harrow", i)}
	}
	entities := make([]EntityDoc, 1200)
	for i := range entities {
		entities[i] = EntityDoc{ConnectionID: "c1", EntityType: "deal", EntityID: fmt.Sprint(i), Name: fmt.Sprintf("Deal %04d Harrow", i)}
	}

	if err := ix.Batch(referrals, entities); err != nil {
		t.Fatalf("Batch: %v", err)
	}

	count, err := ix.DocCount()
	if err != nil {
		t.Fatalf("DocCount: %v", err)
	}
	if count != 3700 {
		t.Errorf("DocCount = %d, want 3700", count)
	}
	got, err := ix.SearchReferrals("u1", "2499", 10)
	if err != nil {
		t.Fatalf("SearchReferrals: %v", err)
	}
	if !reflect.DeepEqual(got, []string{"r2499"}) {
		t.Errorf("SearchReferrals(2499) = %v, want [r2499]", got)
	}
}

func TestBatch_InvalidWritesNothing(t *testing.T) {
	ix, _ := openTestIndex(t)
	referrals := []ReferralDoc{
		{ID: "r1", UserID: "u1", ClientName: "Dana Whitfield"},
		{ID: "r2", ClientName: "No User"},
	}

	if err := ix.Batch(referrals, nil); err == nil {
		t.Fatalf("Batch with a referral missing its user id returned no error")
	}

	count, err := ix.DocCount()
	if err != nil {
		t.Fatalf("DocCount: %v", err)
	}
	if count != 0 {
		t.Errorf("DocCount = %d, want 0", count)
	}
}

func TestOpenIndex_ReopenKeepsDocuments(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "index")
	ix, _, err := OpenIndex(dir)
	if err != nil {
		t.Fatalf("OpenIndex: %v", err)
	}
	seedReferrals(t, ix)
	if err := ix.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	reopened, rebuilt, err := OpenIndex(dir)
	if err != nil {
		t.Fatalf("OpenIndex again: %v", err)
	}
	defer reopened.Close()

	if rebuilt {
		t.Errorf("reopening a healthy index: rebuilt = true, want false")
	}
	count, err := reopened.DocCount()
	if err != nil {
		t.Fatalf("DocCount: %v", err)
	}
	if count != 6 {
		t.Errorf("DocCount after reopen = %d, want 6", count)
	}
	got, err := reopened.SearchReferrals("user-a", "lefevre", 10)
	if err != nil {
		t.Fatalf("SearchReferrals after reopen: %v", err)
	}
	if !reflect.DeepEqual(got, []string{"r2"}) {
		t.Errorf("SearchReferrals after reopen = %v, want [r2]", got)
	}
}

func TestOpenIndex_RecreatesDamaged(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, dir string)
	}{
		{
			name: "garbage index_meta.json",
			damage: func(t *testing.T, dir string) {
				writeGarbage(t, filepath.Join(dir, "index_meta.json"))
			},
		},
		{
			name: "garbage root.bolt",
			damage: func(t *testing.T, dir string) {
				writeGarbage(t, filepath.Join(dir, "store", "root.bolt"))
			},
		},
		{
			name: "store removed",
			damage: func(t *testing.T, dir string) {
				if err := os.RemoveAll(filepath.Join(dir, "store")); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "empty directory",
			damage: func(t *testing.T, dir string) {
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
				if err := os.Mkdir(dir, 0o700); err != nil {
					t.Fatal(err)
				}
			},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "index")
			ix, _, err := OpenIndex(dir)
			if err != nil {
				t.Fatalf("OpenIndex: %v", err)
			}
			seedReferrals(t, ix)
			if err := ix.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}

			tt.damage(t, dir)

			reopened, rebuilt, err := OpenIndex(dir)
			if err != nil {
				t.Fatalf("OpenIndex on a damaged index: %v", err)
			}
			defer reopened.Close()

			if !rebuilt {
				t.Errorf("rebuilt = false, want true")
			}
			count, err := reopened.DocCount()
			if err != nil {
				t.Fatalf("DocCount: %v", err)
			}
			if count != 0 {
				t.Errorf("DocCount of the recreated index = %d, want 0", count)
			}
			if err := reopened.IndexReferral(ReferralDoc{ID: "r1", UserID: "u1", ClientName: "Dana Whitfield"}); err != nil {
				t.Errorf("IndexReferral into the recreated index: %v", err)
			}
		})
	}
}

func writeGarbage(t *testing.T, path string) {
	t.Helper()
	garbage := []byte("\x00\xffthis is not an index file\x13\x37")
	if err := os.WriteFile(path, garbage, 0o600); err != nil {
		t.Fatalf("write garbage into %s: %v", path, err)
	}
}

func TestOpenIndex_OutdatedMappingRebuilt(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "index")
	ix, _, err := OpenIndex(dir)
	if err != nil {
		t.Fatalf("OpenIndex: %v", err)
	}
	seedReferrals(t, ix)
	if err := ix.idx.SetInternal(mappingVersionKey, []byte("0")); err != nil {
		t.Fatalf("SetInternal: %v", err)
	}
	if err := ix.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	reopened, rebuilt, err := OpenIndex(dir)
	if err != nil {
		t.Fatalf("OpenIndex: %v", err)
	}
	defer reopened.Close()

	if !rebuilt {
		t.Errorf("rebuilt = false for an index with mapping version 0, want true")
	}
	count, err := reopened.DocCount()
	if err != nil {
		t.Fatalf("DocCount: %v", err)
	}
	if count != 0 {
		t.Errorf("DocCount = %d, want 0", count)
	}
}

func TestOpenIndex_RefusesForeignPaths(t *testing.T) {
	t.Run("directory with other files", func(t *testing.T) {
		dir := t.TempDir()
		keep := filepath.Join(dir, "referrals.db")
		if err := os.WriteFile(keep, []byte("not an index"), 0o600); err != nil {
			t.Fatal(err)
		}

		if _, _, err := OpenIndex(dir); err == nil {
			t.Fatalf("OpenIndex on a directory of other files returned no error")
		}
		if _, err := os.Stat(keep); err != nil {
			t.Errorf("OpenIndex removed an unrelated file: %v", err)
		}
	})

	t.Run("regular file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "index")
		if err := os.WriteFile(path, []byte("not a directory"), 0o600); err != nil {
			t.Fatal(err)
		}

		if _, _, err := OpenIndex(path); err == nil {
			t.Fatalf("OpenIndex on a regular file returned no error")
		}
		if _, err := os.Stat(path); err != nil {
			t.Errorf("OpenIndex removed the file: %v", err)
		}
	})
}

func TestOpenIndex_LockedFailsFast(t *testing.T) {
	ix, dir := openTestIndex(t)
	seedReferrals(t, ix)

	start := time.Now()
	second, _, err := OpenIndex(dir)
	if err == nil {
		_ = second.Close()
		t.Fatalf("second OpenIndex on an open index returned no error")
	}
	if !errors.Is(err, bolterrors.ErrTimeout) {
		t.Errorf("second OpenIndex error = %v, want a lock timeout", err)
	}
	if elapsed := time.Since(start); elapsed > 10*time.Second {
		t.Errorf("second OpenIndex took %s, want about %s", elapsed, openLockTimeout)
	}

	got, err := ix.SearchReferrals("user-a", "okafor", 10)
	if err != nil {
		t.Fatalf("first index unusable after the refused open: %v", err)
	}
	if !reflect.DeepEqual(got, []string{"r1"}) {
		t.Errorf("first index lost documents after the refused open: got %v, want [r1]", got)
	}
}
