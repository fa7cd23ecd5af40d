/* seed: the files of a mount that hold no secret (gcloud-config, static)
 * written into the covered directory before it is served, so that they are
 * ordinary files there: gcloud writes them, its other configurations sit
 * beside them, and a remount keeps what the user set. */
#include "daemon/seed.h"
#include "core/config.h"
#include "core/error.h"
#include "core/render_gcp.h"
#include "core/secmem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A gcloud configuration is a few hundred bytes. */
#define SEED_MAX (1 << 20)

/* The directory of path's last component under dirfd (created as the
 * directory above it is owned, mode 0700, where absent), never through a
 * symlink; the component's name in *name. */
static int seed_dir(int dirfd, const char *path, const char **name,
		    struct stat *dst)
{
	int d = dup(dirfd), nd;
	const char *p = path, *s;

	if (d < 0)
		return -errno;
	if (fstat(d, dst) < 0)
		goto fail;
	while ((s = strchr(p, '/'))) {
		char comp[256];
		if ((size_t)(s - p) >= sizeof(comp)) {
			errno = ENAMETOOLONG;
			goto fail;
		}
		memcpy(comp, p, (size_t)(s - p));
		comp[s - p] = 0;
		if (mkdirat(d, comp, 0700) == 0) {
			if (geteuid() == 0 &&
			    fchownat(d, comp, dst->st_uid, dst->st_gid,
				     AT_SYMLINK_NOFOLLOW) < 0)
				goto fail;
		} else if (errno != EEXIST) {
			goto fail;
		}
		nd = openat(d, comp,
			    O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nd < 0 || fstat(nd, dst) < 0) {
			if (nd >= 0)
				close(nd);
			goto fail;
		}
		close(d);
		d = nd;
		p = s + 1;
	}
	*name = p;
	return d;
fail:;
	int r = -errno;
	close(d);
	return r;
}

/* What the directory holds at name: 1 with *old set, 0 when absent. */
static int seed_read(int d, const char *name, char **old, size_t *len)
{
	int fd = openat(d, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	ssize_t k;
	int r;

	*old = NULL;
	*len = 0;
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > SEED_MAX) {
		r = S_ISREG(st.st_mode) ? -EFBIG : -EINVAL;
		goto out;
	}
	if (!(*old = malloc((size_t)st.st_size + 1))) {
		r = -ENOMEM;
		goto out;
	}
	while (*len < (size_t)st.st_size &&
	       (k = read(fd, *old + *len, (size_t)st.st_size - *len)) > 0)
		*len += (size_t)k;
	(*old)[*len] = 0;
	r = 1;
out:
	close(fd);
	return r;
}

/* data into d/name: a temporary file, owned as the directory is, in the
 * file's mode, renamed over name. */
static int seed_write(int d, const char *name, const struct stat *dst,
		      mode_t mode, const char *data, size_t len)
{
	char tmp[300];
	size_t done = 0;
	ssize_t k;
	int fd, r = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), ".%s.credfs-%ld", name,
			     (long)getpid()) >= sizeof(tmp))
		return -ENAMETOOLONG;
	(void)unlinkat(d, tmp, 0); /* a leftover of a crash */
	fd = openat(d, tmp,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	while (done < len && (k = write(fd, data + done, len - done)) > 0)
		done += (size_t)k;
	if (done < len)
		r = -EIO;
	else if ((geteuid() == 0 && fchown(fd, dst->st_uid, dst->st_gid) < 0) ||
		 fchmod(fd, mode) < 0 || fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && renameat(d, tmp, d, name) < 0)
		r = -errno;
	if (r)
		(void)unlinkat(d, tmp, 0);
	return r;
}

static int seed_one(const struct config *cfg, const struct file_cfg *f,
		    int dirfd, struct error *err)
{
	struct secbuf out = {0};
	const char *name = NULL;
	struct stat dst;
	char *old = NULL;
	size_t len = 0;
	int d, r;

	if ((d = seed_dir(dirfd, f->path, &name, &dst)) < 0) {
		r = d;
		error_set(err, -r, "file %s: its directory: %s", f->path,
			  strerror(-r));
		return r;
	}
	if ((r = seed_read(d, name, &old, &len)) < 0) {
		error_set(err, -r,
			  "file %s: what is there cannot be read as "
			  "a regular file: %s",
			  f->path, strerror(-r));
		goto out;
	}
	r = render_gcp_seed(f, cfg->mountpoint, r ? old : NULL, len, &out, err);
	if (r == 1) {
		r = 0;
		goto out;
	}
	if (r < 0) {
		if (r == -ENOMEM)
			error_set(err, ENOMEM, "file %s: out of memory",
				  f->path);
		goto out;
	}
	if ((r = seed_write(d, name, &dst, f->mode, out.data, out.len)) < 0)
		error_set(err, -r, "file %s: cannot be written: %s", f->path,
			  strerror(-r));
out:
	secbuf_wipe(&out);
	free(old);
	close(d);
	return r;
}

int seed_files(const struct config *cfg, int dirfd, struct error *err)
{
	int r;

	for (size_t i = 0; i < cfg->nfiles; i++)
		if (render_gcp_seeded(&cfg->files[i]) &&
		    (r = seed_one(cfg, &cfg->files[i], dirfd, err)) < 0)
			return r;
	return 0;
}
