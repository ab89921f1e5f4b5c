"""The benchmark's library: bench/run and bench/matrix are thin commands over it.

- proc.py      running commands (logged, time-stamped), apt-get, the CPU timed processes use
- host.py      the build host: its default python3.X, dh-virtualenv installed, the snapshot of
               this checkout's dh_pyrpath every build uses, the checkout's git state
- projects.py  the bench projects, their package names, prefixes and interpreters
- variants.py  the generated debian/ of each variant (dh-pyrpath, --optimize, dh-virtualenv)
- builds.py    one timed dpkg-buildpackage, its log's step and stage times, the .deb's sizes
- timing.py    installed packages: start-up rounds, paired ratios, smoke runs, files written
- installs.py  `dpkg -i` timed on this host (the install-on-a-target figure); purging
- speed.py     bench/pybench.py run in paired rounds
- report.py    the report (text) from the raw results (JSON)
- targets.py   the targets block of the report
- cli.py       bench/run: options and the order of the measurements
- aptsrc.py    private APT configurations with another Debian release's deb-src
- matrix.py    bench/matrix: one tiny service per CPython version
"""
