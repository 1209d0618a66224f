package matcher

import "unicode/utf8"

// nameMatch is the degree of agreement between two person names.
type nameMatch int

const (
	nameDifferent nameMatch = iota
	nameOneTypo
	nameEqual
)

// minTypoRunes is the shortest word in which a one-letter difference is
// still read as a typo. Shorter words one letter apart (Lin and Liu, Jon and
// Jan) usually belong to different people.
const minTypoRunes = 6

// honorifics are titles and generational suffixes, which do not identify
// the person a name belongs to. Titles that are also common surnames
// (Lord, Master) are left out on purpose.
var honorifics = map[string]bool{
	"mr": true, "mrs": true, "ms": true, "miss": true, "mx": true, "mister": true,
	"dr": true, "doctor": true, "prof": true, "professor": true,
	"sir": true, "dame": true, "rev": true, "reverend": true, "fr": true, "hon": true,
	"jr": true, "sr": true, "ii": true, "iii": true, "iv": true, "esq": true, "phd": true,
}

// personTokens returns the words of a person's name that identify them:
// honorifics are removed, and so are single-letter initials when at least
// two longer words remain ("Marcus T. Holloway" keeps marcus and holloway,
// while "J. Smith" keeps both words).
func personTokens(name string) []token {
	words := tokenize(name, tokenizeOptions{})

	withoutTitles := words[:0]
	longWords := 0
	for _, w := range words {
		if honorifics[w.norm] {
			continue
		}
		withoutTitles = append(withoutTitles, w)
		if len(w.norm) > 1 {
			longWords++
		}
	}
	if longWords < 2 {
		return withoutTitles
	}

	withoutInitials := withoutTitles[:0]
	for _, w := range withoutTitles {
		if len(w.norm) > 1 {
			withoutInitials = append(withoutInitials, w)
		}
	}
	return withoutInitials
}

// compareNames reports whether two names, given as personTokens, belong to
// the same person. Word order is ignored, so "Pryce, Jonathan" equals
// "Jonathan Pryce". Both names need at least two words and the same number
// of words: a lone surname is never enough. At most one word may differ, by
// one edit, and only when both spellings have minTypoRunes or more.
func compareNames(a, b []token) nameMatch {
	if len(a) < 2 || len(a) != len(b) {
		return nameDifferent
	}

	// Names have a handful of words, so a used-flag per word of b is cheaper
	// than sorting or building a map.
	var usedStorage [8]bool
	used := usedStorage[:0]
	if len(b) <= len(usedStorage) {
		used = usedStorage[:len(b)]
	} else {
		used = make([]bool, len(b))
	}

	unmatchedA := -1
	for i, wa := range a {
		found := false
		for j, wb := range b {
			if !used[j] && wa.norm == wb.norm {
				used[j] = true
				found = true
				break
			}
		}
		if found {
			continue
		}
		if unmatchedA >= 0 {
			return nameDifferent
		}
		unmatchedA = i
	}
	if unmatchedA < 0 {
		return nameEqual
	}

	unmatchedB := -1
	for j := range b {
		if !used[j] {
			unmatchedB = j
			break
		}
	}

	wa, wb := a[unmatchedA].norm, b[unmatchedB].norm
	if utf8.RuneCountInString(wa) < minTypoRunes || utf8.RuneCountInString(wb) < minTypoRunes {
		return nameDifferent
	}
	if !withinOneEdit(wa, wb) {
		return nameDifferent
	}
	return nameOneTypo
}

// withinOneEdit reports whether a and b differ by at most one inserted,
// deleted or substituted rune, or by two adjacent runes swapped.
func withinOneEdit(a, b string) bool {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > len(rb) {
		ra, rb = rb, ra
	}
	if len(rb)-len(ra) > 1 {
		return false
	}

	prefix := 0
	for prefix < len(ra) && ra[prefix] == rb[prefix] {
		prefix++
	}
	if prefix == len(ra) {
		return true
	}

	if len(ra) == len(rb) {
		if equalRunes(ra[prefix+1:], rb[prefix+1:]) {
			return true
		}
		swapped := prefix+1 < len(ra) &&
			ra[prefix] == rb[prefix+1] && ra[prefix+1] == rb[prefix]
		return swapped && equalRunes(ra[prefix+2:], rb[prefix+2:])
	}
	return equalRunes(ra[prefix:], rb[prefix+1:])
}

func equalRunes(a, b []rune) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
