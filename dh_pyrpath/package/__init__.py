"""Making the staged tree right for a .deb: relocation to the final prefix (relocate.py),
symbol tables stripped (strip.py), the isolation check (verify.py), maintainer scripts
(maintscripts.py), the CycloneDX SBOM (sbom.py) and lintian overrides (lintian.py). These are
tools for a tree; they use only the bottom modules (errors, log, host), so that python/ may
use them on an interpreter entry too.
"""
