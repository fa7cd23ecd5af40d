/* node: the inode table of the FUSE front end (internal to fs/).
 *
 * A FUSE node id is the address of a struct node (the root is
 * FUSE_ROOT_ID).  Passthrough nodes hold an O_PATH fd of the object
 * underneath and are counted by the kernel's lookups (forget frees them);
 * virtual files and directories are fixed by the config and live as long
 * as the vfs.
 */
#ifndef CREDFS_FS_NODE_H
#define CREDFS_FS_NODE_H

#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

struct config;
struct open_pipeline;

enum node_kind { N_PASS, N_VFILE, N_VDIR };

struct node {
	enum node_kind kind;
	int fd;	   /* N_PASS: O_PATH, O_NOFOLLOW */
	dev_t dev; /* N_PASS: identity underneath */
	ino_t ino;
	uint64_t nlookup;  /* N_PASS: under vfs.mu */
	struct node *next; /* N_PASS: hash chain */
	/* N_VFILE: config file index; N_VDIR and the root: index of the
	 * virtual directory (vdirs[0] is the root). */
	size_t idx;
	mode_t type; /* S_IFMT of a passthrough node, for quick checks */
	_Atomic long long size_told; /* N_VFILE: st_size last replied */
};

/* A name in a virtual directory. */
struct vent {
	size_t dir; /* vdirs index of the directory it is in */
	char *name;
	struct node *node;
};

struct vfs {
	const struct config *cfg;
	struct open_pipeline *pipe;
	char *mountpoint;
	struct node root;    /* N_PASS over the covered directory, vdir 0 */
	struct node *vfiles; /* one per config file */
	struct node *vdirs;  /* [0] unused (the root), then each directory */
	size_t nvdirs;
	struct vent *vents;
	size_t nvents;
	pthread_mutex_t mu; /* the hash table */
	struct node **hash;
	size_t nhash;
	bool root_daemon; /* may act as each caller (setfsuid) */
	gid_t *groups;	  /* the daemon's own supplementary groups */
	int ngroups;
	struct fuse_session *se;
	bool mounted;
	double vattr_timeout; /* attributes of a shared-view virtual file */
};

static inline struct vfs *vfs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

struct node *node_of(struct vfs *v, fuse_ino_t ino);
/* A virtual name in directory node dir (the root or a virtual directory),
 * or NULL. */
struct node *node_virtual_child(struct vfs *v, const struct node *dir,
				const char *name);
/* Looks name up under the passthrough directory parent: a referenced
 * node in e (attr, ino), or -errno. */
int node_lookup_pass(struct vfs *v, struct node *parent, const char *name,
		     struct fuse_entry_param *e);
void node_forget(struct vfs *v, struct node *n, uint64_t count);
/* Attributes and timeouts of any node. */
int node_entry(struct vfs *v, fuse_req_t req, struct node *n,
	       struct fuse_entry_param *e);

/* Acting as the caller (root daemon only): the caller's fsuid, fsgid and
 * supplementary groups on this thread, so what the layer underneath
 * creates and refuses is what it would for the caller itself. */
struct as_caller {
	bool active;
};
int as_caller_begin(struct vfs *v, fuse_req_t req, struct as_caller *s);
void as_caller_end(struct vfs *v, struct as_caller *s);

/* Passthrough operations (fs/pass.c): pass_ops fills all but those on
 * any node (lookup, forget, getattr, open, read, release, directories),
 * which dispatch to pass_open and pass_read. */
void pass_ops(struct fuse_lowlevel_ops *ops);
void pass_open(fuse_req_t req, struct vfs *v, struct node *n,
	       struct fuse_file_info *fi);
void pass_read(fuse_req_t req, size_t size, off_t off,
	       struct fuse_file_info *fi);

#endif
