"""dh_pyrpath --audit: are the packages dh-pyrpath built still up to date with their security
fixes? A private CPython gets none of apt's upgrades, so this is what tells a team a rebuild
is due.

- `inputs`: the packages to audit (.deb files, a pool directory, or the installed ones) and
  what their build-info.json and SBOM say;
- `interpreter`: the CPython's Debian revision against the newest one apt's binary index
  lists, and the CVE ids the newer revision's changelog names;
- `advisories`: the installed distributions against OSV records (--osv) and the package
  index's JSON API;
- `check`: one audit run, input by input;
- `report`: the findings, the table, the JSON and the exit code.

Nothing here builds or changes anything; only the command line imports this package.
"""
