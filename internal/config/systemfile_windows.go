package config

// checkSystemFile: %ProgramData% is writable by administrators only by
// default; ACLs are not inspected.
func checkSystemFile(string) error { return nil }
