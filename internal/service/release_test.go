package service

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The release files live in packaging/ (no Go code there); these tests
// keep each of its pairs from drifting apart.
var packagingDir = filepath.Join("..", "..", "packaging")

// packagedUnitHeader opens packaging/sfmcp.service; the rest of that file
// is the template rendered for the packages.
const packagedUnitHeader = `# The systemd user unit the .deb and .rpm install in
# /usr/lib/systemd/user/sfmcp.service. Enable it per user with:
#   systemctl --user enable --now sfmcp.service
# (or: sfmcp-token service install, which does that for a packaged unit).
# Generated from internal/service/sfmcp.service.tmpl, as service install
# writes a user's own unit: go test ./internal/service -run PackagedUnit -update
`

// The packaged unit is the user unit's template rendered by kardianos,
// as service install renders it, for the packages' binary
// (/usr/bin/sfmcp-token-full daemon) and no environment.
func TestPackagedUnitIsTheTemplate(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("kardianos renders the systemd template on Linux only")
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("PATH", t.TempDir()) // no systemctl
	svc := testServiceAt(t, home, "/usr/bin/sfmcp-token-full")
	if svc.Packaged {
		t.Skip("a package's unit is installed here: install would enable it")
	}
	if _, err := svc.Install(); err != nil {
		t.Fatal(err)
	}
	rendered, err := os.ReadFile(svc.own)
	if err != nil {
		t.Fatal(err)
	}
	want := packagedUnitHeader + string(rendered)
	path := filepath.Join(packagingDir, "sfmcp.service")
	if *update {
		os.WriteFile(path, []byte(want), 0o644)
	}
	if got, _ := os.ReadFile(path); string(got) != want {
		t.Fatalf("%s is not the template rendered for the packages (go test ./internal/service -run PackagedUnit -update):\n%s\nwant:\n%s", path, got, want)
	}
}

// packageFile is one entry of a package's contents.
type packageFile struct {
	Src      string `yaml:"src"`
	Dst      string `yaml:"dst"`
	Type     string `yaml:"type,omitempty"`
	FileInfo struct {
		Mode  string `yaml:"mode,omitempty"`
		Owner string `yaml:"owner,omitempty"`
		Group string `yaml:"group,omitempty"`
	} `yaml:"file_info"`
}

// packageMeta is what both nfpm.yaml and goreleaser's nfpms hold under
// the same keys.
type packageMeta struct {
	Maintainer  string            `yaml:"maintainer"`
	Description string            `yaml:"description"`
	Homepage    string            `yaml:"homepage"`
	License     string            `yaml:"license"`
	Vendor      string            `yaml:"vendor"`
	Section     string            `yaml:"section"`
	Priority    string            `yaml:"priority"`
	Recommends  []string          `yaml:"recommends"`
	Suggests    []string          `yaml:"suggests"`
	Conflicts   []string          `yaml:"conflicts"`
	Replaces    []string          `yaml:"replaces"`
	Provides    []string          `yaml:"provides"`
	Scripts     map[string]string `yaml:"scripts"`
	Contents    []packageFile     `yaml:"contents"`
}

// nfpmConfig is packaging/nfpm.yaml, every key it may hold: a key added
// there fails this test until it is compared with goreleaser's too.
type nfpmConfig struct {
	Name        string   `yaml:"name"`
	Arch        string   `yaml:"arch"`
	Platform    string   `yaml:"platform"`
	Version     string   `yaml:"version"`
	Depends     []string `yaml:"depends"`
	packageMeta `yaml:",inline"`
}

// goreleaserNFPM is one entry of goreleaser's nfpms, every key it may
// hold, as for nfpmConfig.
type goreleaserNFPM struct {
	ID           string   `yaml:"id"`
	PackageName  string   `yaml:"package_name"`
	Formats      []string `yaml:"formats"`
	Bindir       string   `yaml:"bindir"`
	Dependencies []string `yaml:"dependencies"`
	packageMeta  `yaml:",inline"`
}

// The .deb and .rpm that scripts/package builds (nfpm.yaml) and those a
// release builds (goreleaser.yaml's nfpms) hold the same files, at the
// same places, with the same modes, the same dependencies and the same
// description; nfpm.yaml lists the binaries that goreleaser puts in
// bindir from its builds. The unit is the one service install enables.
func TestPackageContentsAgree(t *testing.T) {
	var nfpm nfpmConfig
	decodeStrict(t, readPackaging(t, "nfpm.yaml"), &nfpm)
	var release struct {
		Builds []struct {
			Binary string   `yaml:"binary"`
			Goos   []string `yaml:"goos"`
		} `yaml:"builds"`
		NFPMs []yaml.Node `yaml:"nfpms"`
	}
	if err := yaml.Unmarshal(readPackaging(t, "goreleaser.yaml"), &release); err != nil {
		t.Fatal(err)
	}
	if len(release.NFPMs) != 1 {
		t.Fatalf("goreleaser.yaml has %d nfpms entries; this test compares one", len(release.NFPMs))
	}
	var gr goreleaserNFPM
	text, _ := yaml.Marshal(&release.NFPMs[0])
	decodeStrict(t, text, &gr)

	if nfpm.Name != gr.PackageName || !slices.Equal(nfpm.Depends, gr.Dependencies) || !reflect.DeepEqual(nfpm.packageMeta.withoutContents(), gr.packageMeta.withoutContents()) {
		t.Errorf("the packages differ:\nnfpm.yaml:       %q %q %+v\ngoreleaser.yaml: %q %q %+v", nfpm.Name, nfpm.Depends, nfpm.packageMeta.withoutContents(), gr.PackageName, gr.Dependencies, gr.packageMeta.withoutContents())
	}
	want := slices.Clone(gr.Contents)
	for _, b := range release.Builds {
		if !slices.Contains(b.Goos, "linux") {
			continue
		}
		f := packageFile{Src: "build/pkg/" + b.Binary, Dst: gr.Bindir + "/" + b.Binary}
		f.FileInfo.Mode = "0755"
		want = append(want, f)
	}
	if !sameFiles(nfpm.Contents, want) {
		t.Errorf("the packages' contents differ:\nnfpm.yaml:       %+v\ngoreleaser.yaml: %+v", nfpm.Contents, want)
	}
	// The bash completion the packages install needs bash-completion's
	// functions (_get_comp_words_by_ref); stock Debian lacks them.
	if !slices.Contains(nfpm.Recommends, "bash-completion") {
		t.Errorf("the packages do not recommend bash-completion: %q", nfpm.Recommends)
	}
	unit := slices.IndexFunc(nfpm.Contents, func(f packageFile) bool { return f.Dst == PackagedUnit })
	if unit < 0 || nfpm.Contents[unit].Src != "packaging/sfmcp.service" {
		t.Errorf("the packages do not install packaging/sfmcp.service as %s", PackagedUnit)
	}
}

func (m packageMeta) withoutContents() packageMeta {
	m.Contents = nil
	return m
}

// sameFiles reports whether a and b list the same files, in any order.
func sameFiles(a, b []packageFile) bool {
	key := func(f packageFile) string { return f.Dst + "\x00" + f.Src }
	cmp := func(x, y packageFile) int {
		if key(x) < key(y) {
			return -1
		}
		if key(x) > key(y) {
			return 1
		}
		return 0
	}
	a, b = slices.Clone(a), slices.Clone(b)
	slices.SortFunc(a, cmp)
	slices.SortFunc(b, cmp)
	return reflect.DeepEqual(a, b)
}

func readPackaging(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(packagingDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// decodeStrict decodes data into v, refusing any key v does not name.
func decodeStrict(t *testing.T, data []byte, v any) {
	t.Helper()
	d := yaml.NewDecoder(bytes.NewReader(data))
	d.KnownFields(true)
	if err := d.Decode(v); err != nil {
		t.Fatalf("%v (compare the new key in both files here)", err)
	}
}
