package middleware

// ForCommand finds the per-command settings of the command name in m, as
// middleware configuration sections give them:
//
//	commands:
//	  inventory.Reserve: {rate: 5}   # one command
//	  inventory.*:       {rate: 50}  # every command of a service
//	  "*":               {rate: 500} # every command
//
// Keys are [Pattern]s and the most specific one that matches wins (see
// [Pattern.Specificity]): the exact name, then the longest service
// pattern ("billing.invoices.*" before "billing.*"), then "*" — the same
// rule as the catalog's routes. Keys match without regard to case,
// because configuration keys are lower-cased; keys that are not valid
// patterns match nothing (configuration loading rejects them, see
// [ValidCommandPattern]). Call it in [Middleware.Wrap], once per command,
// not per call.
func ForCommand[T any](m map[string]T, name string) (T, bool) {
	var best T
	rank := 0
	for k, v := range m {
		p, err := ParsePattern(k)
		if err != nil {
			continue
		}
		if s := p.Specificity(); s > rank && p.Match(name) {
			best, rank = v, s
		}
	}
	return best, rank > 0
}

// ValidCommandPattern reports whether key is a valid key of a per-command
// map: a [Pattern], "service.Operation", "service.*" or "*".
func ValidCommandPattern(key string) bool {
	_, err := ParsePattern(key)
	return err == nil
}
