//go:build windows

package client

import "os"

const noFollow = 0

func checkOwnRegularFile(*os.File) error { return nil }
