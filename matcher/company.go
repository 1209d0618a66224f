package matcher

// legalSuffixes are company-form words that are ignored at the end of a
// company name, so "Northgate Logistics LLC" is found in a matter named
// "Northgate Logistics - Whitfield". Dots are already removed ("S.A." is "sa").
var legalSuffixes = map[string]bool{
	"llc": true, "inc": true, "incorporated": true, "ltd": true, "limited": true,
	"gmbh": true, "llp": true, "plc": true, "corp": true, "corporation": true,
	"co": true, "company": true, "lp": true, "sa": true, "ag": true, "bv": true,
	"nv": true, "pty": true, "pc": true, "pllc": true, "lllp": true, "srl": true,
	"sarl": true, "sas": true, "spa": true, "kg": true, "ug": true, "oy": true,
	"ab": true, "as": true, "aps": true,
}

// minCompanyBytes is the shortest normalized company name the company rule
// accepts, so a stray "A" or "XY" in the company field matches nothing.
const minCompanyBytes = 3

// companyWords contains a referral's company without its legal suffix: the
// normalized words to look for and the name as written for the reason text.
type companyWords struct {
	words   []token
	written string
}

// parseCompany strips trailing legal suffixes from a company name. A name
// that is only suffixes ("LLC") or shorter than minCompanyBytes gives no words.
func parseCompany(company string) companyWords {
	words := tokenize(company, tokenizeOptions{dropDots: true})

	end := len(words)
	for end > 0 && legalSuffixes[words[end-1].norm] {
		end--
	}
	words = words[:end]

	letters := 0
	for _, w := range words {
		letters += len(w.norm)
	}
	if len(words) == 0 || letters < minCompanyBytes {
		return companyWords{}
	}

	// The written form runs from the first kept word to the last one, so
	// "Smith & Sons, Inc." reads "Smith & Sons".
	last := words[len(words)-1]
	written := company[words[0].start : last.start+len(last.raw)]
	return companyWords{words: words, written: written}
}

// findWords returns the index in haystack where needle starts as a run of
// whole words, or -1.
func findWords(haystack, needle []token) int {
	if len(needle) == 0 {
		return -1
	}
	for i := 0; i+len(needle) <= len(haystack); i++ {
		matched := true
		for j := range needle {
			if haystack[i+j].norm != needle[j].norm {
				matched = false
				break
			}
		}
		if matched {
			return i
		}
	}
	return -1
}

// sharedNameWord returns the longest word of the referral's client name that
// also appears in the entity name outside the company's own words, as written
// in the referral. Words of one letter never count. The boolean is false when
// no word is shared.
func sharedNameWord(entityWords []token, companyStart, companyLen int, clientWords []token) (string, bool) {
	best := ""
	bestLen := 0
	for _, cw := range clientWords {
		if len(cw.norm) < 2 || len(cw.norm) < bestLen {
			continue
		}
		for i, ew := range entityWords {
			if i >= companyStart && i < companyStart+companyLen {
				continue
			}
			if ew.norm == cw.norm {
				best, bestLen = cw.raw, len(cw.norm)
				break
			}
		}
	}
	return best, bestLen > 0
}
