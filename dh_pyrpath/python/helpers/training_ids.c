/* Preloaded into the PGO training (training.py): the process and every file it stats belong
 * to uid and gid 0, whoever builds.
 *
 * Every import stats the build directory's files, and CPython makes the ids of a stat result
 * into int objects: an id below 257 is a cached int, a larger one a new object, and that
 * changes the allocations the profile counts (measured: the same instrumented tree trained as
 * uid 999, sbuild's system build user, instead of root changed 6 profile files; with this
 * library preloaded, none). A user namespace would do the same, but a process inside a
 * chroot (sbuild's unshare backend, pbuilder) may not make one.
 *
 * Compiled in the build directory by the build's own compiler (part of the cache key); its
 * source's hash is part of the recipe. Only the fields are changed: the calls still reach
 * glibc, with their errors. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

uid_t getuid(void) { return 0; }
uid_t geteuid(void) { return 0; }
gid_t getgid(void) { return 0; }
gid_t getegid(void) { return 0; }

/* CPython built with _FILE_OFFSET_BITS=64 calls the *64 names (glibc >= 2.33 exports both);
 * the plain ones are wrapped for anything else the training loads. */
#define OWNED_BY_ROOT(name, params, args, buf)                                   \
    int name params {                                                          \
        static int (*real) params;                                             \
        if (!real)                                                             \
            real = (int (*) params) dlsym(RTLD_NEXT, #name);                   \
        int rc = real args;                                                    \
        if (rc == 0) {                                                         \
            (buf)->st_uid = 0;                                                 \
            (buf)->st_gid = 0;                                                 \
        }                                                                      \
        return rc;                                                             \
    }

OWNED_BY_ROOT(stat64, (const char *path, struct stat64 *buf), (path, buf), buf)
OWNED_BY_ROOT(lstat64, (const char *path, struct stat64 *buf), (path, buf), buf)
OWNED_BY_ROOT(fstat64, (int fd, struct stat64 *buf), (fd, buf), buf)
OWNED_BY_ROOT(fstatat64, (int dirfd, const char *path, struct stat64 *buf, int flags),
              (dirfd, path, buf, flags), buf)
OWNED_BY_ROOT(stat, (const char *path, struct stat *buf), (path, buf), buf)
OWNED_BY_ROOT(lstat, (const char *path, struct stat *buf), (path, buf), buf)
OWNED_BY_ROOT(fstat, (int fd, struct stat *buf), (fd, buf), buf)
OWNED_BY_ROOT(fstatat, (int dirfd, const char *path, struct stat *buf, int flags),
              (dirfd, path, buf, flags), buf)
