package matcher

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"
)

// Search limits. A limit of zero or less means defaultSearchLimit, and
// larger limits are capped at maxSearchLimit.
const (
	defaultSearchLimit = 20
	maxSearchLimit     = 200
)

// minFuzzyRunes is the shortest query word matched with one edit of
// tolerance. Shorter words would match too many unrelated names.
const minFuzzyRunes = 5

// minPrefixRunes is the shortest query word also matched as a prefix.
const minPrefixRunes = 2

// Boosts rank an exact word above a completed prefix, and both above a
// word one edit away.
const (
	boostExact  = 3
	boostPrefix = 2
	boostFuzzy  = 1
)

// SearchReferrals returns the ids of userID's referrals that match q, best
// first. Every word of q must match the client name, company, email or note
// exactly or as a prefix. Words of five or more letters also match the client
// name or company with one typo. An empty q returns no ids.
func (ix *Index) SearchReferrals(userID, q string, limit int) ([]string, error) {
	if userID == "" {
		return nil, errors.New("search referrals: missing user id")
	}

	words, err := ix.queryWords(q)
	if err != nil || len(words) == 0 {
		return nil, err
	}

	owner := bleve.NewTermQuery(userID)
	owner.SetField(fieldUserID)
	req := bleve.NewSearchRequestOptions(wordsQuery(owner, words, referralSearchFields), clampLimit(limit), 0, false)

	res, err := ix.idx.Search(req)
	if err != nil {
		return nil, fmt.Errorf("search referrals of user %s: %w", userID, err)
	}

	ids := make([]string, 0, len(res.Hits))
	for _, hit := range res.Hits {
		ids = append(ids, strings.TrimPrefix(hit.ID, referralIDPrefix))
	}
	return ids, nil
}

// SearchEntities returns the matters or deals of connectionID that match q,
// best first. Every word of q must match the entity name or client name
// exactly, as a prefix or, for words of five or more letters, with one typo.
func (ix *Index) SearchEntities(connectionID, q string, limit int) ([]EntityDoc, error) {
	if connectionID == "" {
		return nil, errors.New("search entities: missing connection id")
	}

	words, err := ix.queryWords(q)
	if err != nil || len(words) == 0 {
		return nil, err
	}

	owner := bleve.NewTermQuery(connectionID)
	owner.SetField(fieldConnectionID)
	req := bleve.NewSearchRequestOptions(wordsQuery(owner, words, entitySearchFields), clampLimit(limit), 0, false)
	req.Fields = []string{fieldEntityType, fieldEntityID, fieldName, fieldClientName}

	res, err := ix.idx.Search(req)
	if err != nil {
		return nil, fmt.Errorf("search entities of connection %s: %w", connectionID, err)
	}

	docs := make([]EntityDoc, 0, len(res.Hits))
	for _, hit := range res.Hits {
		docs = append(docs, EntityDoc{
			ConnectionID: connectionID,
			EntityType:   storedString(hit.Fields, fieldEntityType),
			EntityID:     storedString(hit.Fields, fieldEntityID),
			Name:         storedString(hit.Fields, fieldName),
			ClientName:   storedString(hit.Fields, fieldClientName),
		})
	}
	return docs, nil
}

// queryWords splits q into words with the index's own analyzer, so a query
// folds accents and case exactly as the indexed text did.
func (ix *Index) queryWords(q string) ([]string, error) {
	q = strings.TrimSpace(q)
	if q == "" {
		return nil, nil
	}

	im := ix.idx.Mapping()
	analyzer := im.AnalyzerNamed(textAnalyzer)
	if analyzer == nil {
		return nil, fmt.Errorf("search: analyzer %s missing from the index mapping: reopen the index to rebuild it", textAnalyzer)
	}

	stream := analyzer.Analyze([]byte(q))
	words := make([]string, 0, len(stream))
	for _, tok := range stream {
		words = append(words, string(tok.Term))
	}
	return words, nil
}

// wordsQuery requires the owner filter and every word, where a word matches
// any of fields exactly, as a prefix or, in fuzzy fields when long enough,
// with one edit.
func wordsQuery(owner query.Query, words []string, fields []searchField) query.Query {
	conjuncts := make([]query.Query, 0, len(words)+1)
	conjuncts = append(conjuncts, owner)

	for _, word := range words {
		runes := utf8.RuneCountInString(word)
		alternatives := make([]query.Query, 0, 3*len(fields))
		for _, field := range fields {
			exact := bleve.NewTermQuery(word)
			exact.SetField(field.name)
			exact.SetBoost(boostExact)
			alternatives = append(alternatives, exact)

			if runes >= minPrefixRunes {
				prefix := bleve.NewPrefixQuery(word)
				prefix.SetField(field.name)
				prefix.SetBoost(boostPrefix)
				alternatives = append(alternatives, prefix)
			}
			if field.fuzzy && runes >= minFuzzyRunes {
				fuzzy := bleve.NewFuzzyQuery(word)
				fuzzy.SetField(field.name)
				fuzzy.SetFuzziness(1)
				fuzzy.SetBoost(boostFuzzy)
				alternatives = append(alternatives, fuzzy)
			}
		}
		conjuncts = append(conjuncts, bleve.NewDisjunctionQuery(alternatives...))
	}
	return bleve.NewConjunctionQuery(conjuncts...)
}

func clampLimit(limit int) int {
	if limit <= 0 {
		return defaultSearchLimit
	}
	return min(limit, maxSearchLimit)
}

func storedString(fields map[string]any, name string) string {
	s, _ := fields[name].(string)
	return s
}
