package main

import (
	"github.com/vigil-soc/vigil/detect/attack"
	"github.com/vigil-soc/vigil/detect/rules"
)

// legalNotice is what `vigil --version --legal` prints after the version: the notices the
// third-party data compiled into vigil asks to travel with every copy. MITRE's ATT&CK
// terms require its copyright designation and licence; the Detection Rule License asks
// that the built-in rule's upstream authors, a link and the licence be kept.
func legalNotice() string {
	return "\nvigil is licensed under the Apache License, Version 2.0. It embeds the following third-party data.\n\n" +
		"== MITRE ATT&CK ==\n" + attack.Notice +
		"\n== Sigma rules (Detection Rule License 1.1) ==\n" + rules.Notice()
}
