/* imwire's version and built-in paths, made at build time: the version
 * from scripts/version.sh (a release tarball's VERSION file, else git
 * describe or CHANGELOG.md and the commit), the configuration directory
 * from the Makefile's sysconfdir. Shown by --version, at start-up, in
 * stats and metrics. */
#ifndef IMW_VERSION_H
#define IMW_VERSION_H

const char *imw_version(void);
/* SYSCONFDIR/imwire/imwire.conf: what imwired and imwire read by default. */
const char *imw_default_config(void);

#endif
