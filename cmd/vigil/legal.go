package main

// legalNotice is replaced by the embedded MITRE ATT&CK and Sigma notices (detect/attack, detect/rules).
func legalNotice() string { return "" }
