/* imwire's version, made at build time from scripts/version.sh (a release
 * tarball's VERSION file, else git describe or CHANGELOG.md and the
 * commit). Shown by --version, at start-up, in stats and metrics. */
#ifndef IMW_VERSION_H
#define IMW_VERSION_H

const char *imw_version(void);

#endif
