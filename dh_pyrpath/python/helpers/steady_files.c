/* Preloaded into the PGO training (training.py): what the training's process sees of files is
 * the same on every machine, in every chroot, for every build user.
 *
 * The profile counts allocations, and CPython makes every field of a stat result into an int
 * object: below 257 a cached one, above it a new one. So:
 * - uid and gid are 0, the process's and every file's. The same instrumented tree trained as
 *   uid 999 (sbuild's system build user) instead of root changed 6 profile files. A user
 *   namespace would do the same, but a process inside a chroot (sbuild's unshare backend,
 *   pbuilder) may not make one.
 * - device and inode numbers are always large (tmpfs numbers its inodes from 2 and has a small
 *   device number), and a directory's size, blocks and link count are fixed (ext4 says 4096,
 *   tmpfs 20 bytes an entry).
 * - directory listings come in name order (ext4 keeps hash order, with a seed of each file
 *   system; tmpfs keeps creation order), kept in an anonymous mapping of their own rather than
 *   malloc'd, since the order entries arrive in would otherwise change the C heap.
 * Measured on one instrumented tree: its build directory on ext4, on tmpfs and on a fresh ext4
 * with another hash seed changed 13 or 14 profile files before, none with this library.
 *
 * This file is small on purpose: the kernel places a file mapping of 2 MiB or more on a 2 MiB
 * boundary on ext4 and not on tmpfs, which moves every mapping after it (a 16 MiB .bss here
 * did). Only fields are changed: every call still reaches glibc, with its errors.
 *
 * Compiled in the build directory by the build's own compiler (part of the cache key); this
 * source's hash is part of the recipe. */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

uid_t getuid(void) { return 0; }
uid_t geteuid(void) { return 0; }
gid_t getgid(void) { return 0; }
gid_t getegid(void) { return 0; }

#define LARGE (1ULL << 40)

#define STEADY(buf)                                                            \
    do {                                                                       \
        (buf)->st_uid = 0;                                                     \
        (buf)->st_gid = 0;                                                     \
        (buf)->st_dev |= LARGE;                                                \
        (buf)->st_ino |= LARGE;                                                \
        if (S_ISDIR((buf)->st_mode)) {                                         \
            (buf)->st_size = 4096;                                             \
            (buf)->st_blocks = 8;                                              \
            (buf)->st_nlink = 2;                                               \
        }                                                                      \
    } while (0)

/* CPython built with _FILE_OFFSET_BITS=64 calls the *64 names (glibc >= 2.33 exports both);
 * the plain ones are wrapped for anything else the training loads. */
#define STEADY_STAT(name, params, args, buf)                                   \
    int name params {                                                          \
        static int (*real) params;                                             \
        if (!real)                                                             \
            real = (int (*) params) dlsym(RTLD_NEXT, #name);                   \
        int rc = real args;                                                    \
        if (rc == 0)                                                           \
            STEADY(buf);                                                       \
        return rc;                                                             \
    }

STEADY_STAT(stat64, (const char *path, struct stat64 *buf), (path, buf), buf)
STEADY_STAT(lstat64, (const char *path, struct stat64 *buf), (path, buf), buf)
STEADY_STAT(fstat64, (int fd, struct stat64 *buf), (fd, buf), buf)
STEADY_STAT(fstatat64, (int dirfd, const char *path, struct stat64 *buf, int flags),
            (dirfd, path, buf, flags), buf)
STEADY_STAT(stat, (const char *path, struct stat *buf), (path, buf), buf)
STEADY_STAT(lstat, (const char *path, struct stat *buf), (path, buf), buf)
STEADY_STAT(fstat, (int fd, struct stat *buf), (fd, buf), buf)
STEADY_STAT(fstatat, (int dirfd, const char *path, struct stat *buf, int flags),
            (dirfd, path, buf, flags), buf)

/* Directory listings, read whole on the first readdir and handed out in name order. */
#define POOL_SIZE (16 << 20)
static char *pool;
static size_t top;

struct listing {
    DIR *dir;
    struct dirent64 **entries;
    size_t count, next;
    struct listing *link;
};
static struct listing *listings;

static void *take(size_t size) {
    size = (size + 15) & ~(size_t) 15;
    if (!pool) {
        pool = mmap(NULL, POOL_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (pool == MAP_FAILED)
            pool = NULL;
    }
    if (!pool || top + size > POOL_SIZE) {
        /* better no training than one that depends on the machine */
        static const char msg[] = "steady_files: no room for a directory listing\n";
        write(2, msg, sizeof msg - 1);
        abort();
    }
    void *p = pool + top;
    top += size;
    return p;
}

static void sort_by_name(struct dirent64 **e, size_t n) {
    /* Shell sort: qsort may malloc */
    for (size_t gap = n / 2; gap > 0; gap /= 2)
        for (size_t i = gap; i < n; i++)
            for (size_t j = i; j >= gap && strcmp(e[j - gap]->d_name, e[j]->d_name) > 0;
                 j -= gap) {
                struct dirent64 *t = e[j];
                e[j] = e[j - gap];
                e[j - gap] = t;
            }
}

static void forget(DIR *dir) {
    for (struct listing **p = &listings; *p; p = &(*p)->link)
        if ((*p)->dir == dir) {
            *p = (*p)->link;
            break;
        }
    if (!listings)
        top = 0; /* nothing open: the pool starts over */
}

struct dirent64 *readdir64(DIR *dir) {
    static struct dirent64 *(*real)(DIR *);
    if (!real)
        real = (struct dirent64 * (*)(DIR *)) dlsym(RTLD_NEXT, "readdir64");
    struct listing *l = listings;
    while (l && l->dir != dir)
        l = l->link;
    if (!l) {
        l = take(sizeof *l);
        l->dir = dir;
        l->count = l->next = 0;
        char *first = NULL;
        struct dirent64 *e;
        while ((e = real(dir)) != NULL) {
            void *copy = take(e->d_reclen);
            if (!first)
                first = copy;
            memcpy(copy, e, e->d_reclen);
            l->count++;
        }
        l->entries = take(l->count * sizeof *l->entries);
        for (size_t i = 0; i < l->count; i++) {
            l->entries[i] = (struct dirent64 *) first;
            first += (((struct dirent64 *) first)->d_reclen + 15) & ~(size_t) 15;
        }
        sort_by_name(l->entries, l->count);
        l->link = listings;
        listings = l;
    }
    return l->next < l->count ? l->entries[l->next++] : NULL;
}

/* the same layout on 64-bit glibc */
struct dirent *readdir(DIR *dir) { return (struct dirent *) readdir64(dir); }

int closedir(DIR *dir) {
    static int (*real)(DIR *);
    if (!real)
        real = (int (*)(DIR *)) dlsym(RTLD_NEXT, "closedir");
    forget(dir);
    return real(dir);
}

void rewinddir(DIR *dir) {
    static void (*real)(DIR *);
    if (!real)
        real = (void (*)(DIR *)) dlsym(RTLD_NEXT, "rewinddir");
    forget(dir);
    real(dir);
}
