#!/usr/bin/perl
# dh sequence addon for dh_pyrpath: declarations only, the logic lives in dh_pyrpath (Python).
use strict;
use warnings;
use Debian::Debhelper::Dh_Lib;

# The system Python's build steps must not run on the project: dh_pyrpath builds and
# installs it with the package's own interpreter instead.
remove_command('dh_auto_configure');
remove_command('dh_auto_build');
remove_command('dh_auto_test');
remove_command('dh_auto_install');
remove_command('dh_auto_clean');

# Before dh_install, so users can still add files, units and links to the tree.
insert_before('dh_install', 'dh_pyrpath');

# Vendored libraries of manylinux wheels (<pkg>.libs/) break when stripped or run through dwz,
# and are resolved through their own $ORIGIN rpaths.
add_command_options('dh_strip', '-X.libs/');
add_command_options('dh_dwz', '-X.libs/', '-X/site-packages/');
# The private CPython's own Depends were computed once, with its cache entry, and are in
# ${misc:Depends} (dh_pyrpath's shlibs.py): rescanning its ~70 files took 4-5 s a build.
add_command_options('dh_shlibdeps', '-X.libs/', '-Xlibpython', '-X/lib-dynload/',
                    '-X/bin/python3.');
# The prefix is deterministic by construction (no bytecode, wheels' own bytes); running
# file(1) on each of its thousands of files took dh_strip_nondeterminism 17 s per build.
add_command_options('dh_strip_nondeterminism', '-X/lib/python3.');
# The private libpython and vendored libraries are nobody else's to link against: no shlibs
# entries or ldconfig triggers for them.
add_command_options('dh_makeshlibs', '-Xlibpython', '-X.libs/', '-X/site-packages/',
                    '-X/lib-dynload/');

1;
