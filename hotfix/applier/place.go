package applier

import "github.com/hotchain/hotchain/internal/fileops"

// place puts the hotfix entry src at target: written beside it under a fixed temporary name,
// then renamed over it. A crash leaves the old entry or the new one, plus at most the
// temporary, which recovery removes.
func place(src, target string, o op) error {
	if o.Kind == kindFile {
		// The journal of an apply begun by an older hotchain may still ask for setuid or
		// setgid: placedMode drops them.
		return fileops.PlaceFile(src, target, placedMode(o.Mode))
	}
	return fileops.PlaceEntry(src, target)
}
