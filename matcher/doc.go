// Package matcher decides whether a new CRM matter or deal belongs to one of
// a user's received referrals, and keeps the Bleve full-text index of
// referral clients and CRM entities used by search and the link dialog.
//
// Decide is pure and in memory: the caller loads the candidates (the user's
// newest Open, unlinked, received referrals) and acts on the outcome. An
// email match links silently, while a name match or a company match only
// suggests.
//
// # Name matching
//
// Names are compared word by word after folding case and Latin accents
// (Zoë is Zoe, ß is ss), dropping punctuation, apostrophes and honorifics,
// splitting at hyphens, and dropping single-letter middle initials. Word
// order is ignored. Both names need the same number of words, at least two,
// so a surname alone never matches. One word may differ by a single edit
// (a typo) only when both spellings have six or more letters: "Bo Lin" and
// "Bo Liu" stay different people.
//
// # Index
//
// The index is derived data. OpenIndex recreates a missing, unreadable or
// outdated index and reports it, and the caller then refills it from the
// store with Batch. Search is fuzzy: words of five or more letters tolerate
// one edit, and every word also matches as a prefix, so partial typing
// finds results. Every search is filtered by user id or connection id.
// Index methods are safe for concurrent use, except Close.
package matcher
