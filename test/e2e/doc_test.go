// Package e2e runs the real sfmcp-token binaries, built from cmd/, as a
// user, a shell, Claude Code and other MCP clients would, against the
// in-process Snowflake stand-in.
package e2e
