package sigma

// Matching semantics where the specification leaves a choice, decided here once:
//
//   - Strings compare case-insensitively under simple Unicode case folding (ASCII fast
//     paths); `cased` makes them exact. Values produced by base64/base64offset/utf16*
//     are compared exactly, since encoded bytes are case-significant.
//   - Escaping follows the specification: a backslash escapes '*', '?' and itself; any
//     other backslash is literal (`C:\Windows` needs no doubling).
//   - Bare file names: an endswith pattern that begins with a backslash also matches a
//     value equal to the pattern without that backslash, so `ParentImage|endswith:
//     '\dns.exe'` fires on a record that only carries the name "dns.exe" (ECS
//     process.parent.name), while `C:\x\notdns.exe` still does not match.
//   - Keywords (values without a field) match when any original field value or the
//     rendered message contains them.
//   - `null` matches an absent or empty field; `''` only a present, empty one.
//   - `neq` requires the field to be present and different from every value.
//   - Time modifiers read the field as "YYYY-MM-DD[T ]hh:mm" (UTC) and fall back to the
//     event's own time when the field is absent.
//   - Field names resolve once at compile time: Sigma, 4688 and ECS names of the same
//     thing (Image, NewProcessName, process.executable) read the normalized Event field
//     when set, else the original field by exact then case-insensitive name.
//   - Logsource: process_creation applies to process starts only (Sysmon 1, 4688, ECS),
//     process_termination to process ends; other Windows categories route by Sysmon or
//     PowerShell event ID and channel, services by channel; anything else is checked on
//     its fields alone.
