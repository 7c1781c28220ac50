/* civet_version.h: refuses, at compile time, a civetweb this project was not
 * written for. civetweb_build.c reaches into civetweb's internals (its context
 * and connection structs, worker start, socket queue, head parser), which
 * change between releases without notice; a clear #error here beats a wall of
 * "no member named" errors, or worse, a build that compiles and misbehaves.
 * Included right after civetweb.c, so CIVETWEB_VERSION_* come from the tree
 * actually compiled. Supported: 1.15 (Debian 12), 1.16 (Debian 13, Ubuntu
 * 24.04); ci/setup.sh checks the same before it installs a tree. */
#ifndef MK_CIVET_VERSION_H
#define MK_CIVET_VERSION_H

#if !defined(CIVETWEB_VERSION_MAJOR) || !defined(CIVETWEB_VERSION_MINOR)
#error "civetweb.h defines no CIVETWEB_VERSION_MAJOR/MINOR: mockapi builds with civetweb 1.15 or 1.16 (ci/setup.sh --civetweb-src DIR)"
#elif CIVETWEB_VERSION_MAJOR != 1 || (CIVETWEB_VERSION_MINOR != 15 && CIVETWEB_VERSION_MINOR != 16)
#error "unsupported civetweb version (see CIVETWEB_VERSION in build/third_party/civetweb/include/civetweb.h): mockapi builds with civetweb 1.15 or 1.16 (ci/setup.sh --civetweb-src DIR)"
#endif

#endif
