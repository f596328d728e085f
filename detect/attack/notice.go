package attack

// Notice is MITRE's copyright designation and the ATT&CK licence, which the ATT&CK
// Terms of Use require in every copy: vigil embeds the catalog, so `vigil --version
// --legal` prints this. It is the ATT&CK section of LICENSE-ATTACK.txt (CAPEC is not
// embedded); a test keeps it in step with that file and the catalog's meta.
const Notice = `MITRE ATT&CK® Enterprise v18.1 (embedded by vigil; source https://github.com/mitre/cti
commit 421deacb77191b38bdd1bf63268954e93da91365)

` + attackLicence

const attackLicence = `ATT&CK®
===========================
License
-------
The MITRE Corporation (MITRE) hereby grants you a non-exclusive, royalty-free license to use ATT&CK® for research,
development, and commercial purposes. Any copy you make for such purposes is authorized provided that you reproduce
MITRE's copyright designation and this license in any such copy.

"© 2025 The MITRE Corporation. This work is reproduced and distributed with the permission of The MITRE Corporation."

Disclaimers
-----------
MITRE does not claim ATT&CK enumerates all possibilities for the types of actions and behaviors documented as part
of its adversary model and framework of techniques. Using the information contained within ATT&CK to address or
cover full categories of techniques will not guarantee full defensive coverage as there may be undisclosed techniques
or variations on existing techniques not documented by ATT&CK.

ALL DOCUMENTS AND THE INFORMATION CONTAINED THEREIN ARE PROVIDED ON AN "AS IS" BASIS AND THE CONTRIBUTOR, THE
ORGANIZATION HE/SHE REPRESENTS OR IS SPONSORED BY (IF ANY), THE MITRE CORPORATION, ITS BOARD OF TRUSTEES, OFFICERS,
AGENTS, AND EMPLOYEES, DISCLAIM ALL WARRANTIES, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO ANY WARRANTY THAT THE
USE OF THE INFORMATION THEREIN WILL NOT INFRINGE ANY RIGHTS OR ANY IMPLIED WARRANTIES OF MERCHANTABILITY OR FITNESS
FOR A PARTICULAR PURPOSE.
`
