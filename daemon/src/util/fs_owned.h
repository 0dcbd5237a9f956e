/* Directories and files a daemon makes while still root, for the user it
 * becomes afterwards (user=, group=): what it makes here is that user's;
 * what already existed is left exactly as it was, never chowned (a
 * stats_file=/etc/x.json must not hand /etc to the daemon user). Nothing
 * here follows a symbolic link it did not expect: a directory or file in
 * the way is reported, a file is made with O_EXCL and handed over by its
 * descriptor. */
#ifndef IMW_UTIL_FS_OWNED_H
#define IMW_UTIL_FS_OWNED_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Who gets what is made; uid -1: whoever makes it (root) keeps it. */
struct fs_owner {
	int uid;
	int gid;
};

/* The owner for user (NULL: nobody is handed anything) and group (NULL:
 * the user's primary group). 0, or -1 with a one-line reason in err. */
int fs_owner_of(struct fs_owner *o, const char *user, const char *group, char *err,
		size_t err_size);

/* mkdir -p dir with mode: each directory made here goes to o, those that
 * existed are left alone. *made (may be NULL) tells whether dir itself
 * was made. 0, or -1 with "DIR: reason" in err. */
int fs_make_dirs(const char *dir, mode_t mode, const struct fs_owner *o, bool *made, char *err,
		 size_t err_size);

/* The directory holding path, as fs_make_dirs (nothing for a bare file
 * name or a file in /). */
int fs_make_parent(const char *path, mode_t mode, const struct fs_owner *o, char *err,
		   size_t err_size);

/* path as an empty regular file with mode, handed to o, when it does not
 * exist; an existing file is left alone (anything but a regular file
 * there is an error). 0, or -1 with "PATH: reason" in err. */
int fs_make_file(const char *path, mode_t mode, const struct fs_owner *o, char *err,
		 size_t err_size);

/* The directory part of path in out ("." for a bare name, "/" for a file
 * in /). false when it does not fit. */
bool fs_dirname(const char *path, char *out, size_t size);

#endif
