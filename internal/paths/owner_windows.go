package paths

// Windows has no runtime directory or session bus; the cache fallback and
// an empty bus address apply.
func privateDir(string, int) bool { return false }

func ownSocket(string, int) bool { return false }
