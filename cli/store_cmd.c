/* store_cmd: `credfs store add|list|rm|import-aws` — the sealed source
 * secrets from the command line.  A value is never echoed: it may be a
 * secret pasted in the wrong place. */
#include "cli/cli.h"
#include "cli/store_gcp.h"
#include "core/config.h"
#include "core/cred.h"
#include "core/error.h"
#include "core/secmem.h"
#include "core/util.h"
#include "crypto/key.h"
#include "crypto/store.h"
#include "engine/context.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void fields_line(const struct cred *c, char *buf, size_t len)
{
	size_t i, off = 0;

	buf[0] = 0;
	for (i = 0; i < cred_count(c) && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
					i ? ", " : "", cred_name_at(c, i));
}

static bool field_name_valid(const char *f)
{
	size_t i, n = strlen(f);

	if (n == 0 || n > 64)
		return false;
	for (i = 0; i < n; i++) {
		char c = f[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		      c == '-'))
			return false;
	}
	return true;
}

static bool value_valid(const char *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return false;
	return n > 0;
}

/* Whole stdin into secmem. */
static int read_stdin(struct secbuf *b)
{
	size_t len = 0;
	int r = util_read_fd_secret(0, 1u << 20, &b->data, &len);

	b->len = b->cap = len;
	return r;
}

static char *trim(char *s, char *end)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	while (end > s &&
	       (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = 0;
	*end = 0;
	return s;
}

/* FIELD=VALUE lines from stdin.  Never echoes a line: it may be a secret
 * pasted in the wrong place. */
static int add_from_stdin(struct cred *c, char **fields, int nfields,
			  struct error *e)
{
	struct secbuf b = {0};
	char *line, *next, *eq;
	int lineno = 0, i, r;

	if ((r = read_stdin(&b)) < 0) {
		error_set(e, r, "reading stdin: %s", strerror(-r));
		goto out;
	}
	for (line = b.data; line && *line; line = next) {
		char *name, *val;

		lineno++;
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		name = trim(line, line + strlen(line));
		if (!*name || *name == '#')
			continue;
		eq = strchr(name, '=');
		if (!eq) {
			r = -EINVAL;
			error_set(e, EINVAL,
				  "stdin line %d: expected FIELD=VALUE",
				  lineno);
			goto out;
		}
		*eq = 0;
		val = trim(eq + 1, eq + 1 + strlen(eq + 1));
		name = trim(name, eq);
		if (!field_name_valid(name)) {
			r = -EINVAL;
			error_set(e, EINVAL,
				  "stdin line %d: invalid field name", lineno);
			goto out;
		}
		if (nfields) {
			for (i = 0; i < nfields; i++)
				if (strcmp(fields[i], name) == 0)
					break;
			if (i == nfields) {
				r = -EINVAL;
				error_set(e, EINVAL,
					  "stdin line %d: field %s was not "
					  "asked for",
					  lineno, name);
				goto out;
			}
		}
		if (cred_get(c, name)) {
			r = -EINVAL;
			error_set(e, EINVAL, "field %s given twice", name);
			goto out;
		}
		if (!value_valid(val, strlen(val))) {
			r = -EINVAL;
			error_set(e, EINVAL,
				  "field %s: empty or contains control "
				  "characters",
				  name);
			goto out;
		}
		if ((r = cred_set(c, name, val)) < 0) {
			error_set(e, r, "field %s: %s", name, strerror(-r));
			goto out;
		}
	}
	r = 0;
out:
	secbuf_wipe(&b);
	return r;
}

static int add_from_tty(struct cred *c, char **fields, int nfields,
			struct error *e)
{
	char prompt[128], name[80], *val = NULL;
	int i, r = 0;

	for (i = 0;; i++) {
		if (nfields) {
			if (i == nfields)
				break;
			snprintf(name, sizeof(name), "%s", fields[i]);
		} else {
			/* field names are not secret: read with echo */
			fprintf(stderr, "field name (empty to finish): ");
			fflush(stderr);
			if (!fgets(name, sizeof(name), stdin))
				break;
			name[strcspn(name, "\r\n")] = 0;
			if (!name[0])
				break;
			if (!field_name_valid(name)) {
				fprintf(stderr, "invalid field name\n");
				continue;
			}
		}
		snprintf(prompt, sizeof(prompt), "%s: ", name);
		if ((r = key_prompt_secret(prompt, &val, e)) < 0)
			return r;
		if (!value_valid(val, strlen(val))) {
			secmem_free(val);
			error_set(e, EINVAL,
				  "field %s: empty or contains control "
				  "characters",
				  name);
			return -EINVAL;
		}
		r = cred_set(c, name, val);
		secmem_free(val);
		if (r < 0) {
			error_set(e, r, "out of memory");
			return r;
		}
	}
	return 0;
}

static int cmd_add(struct store *s, int argc, char **argv)
{
	const char *name = argv[1];
	struct error e = {0};
	char fl[1024];
	struct cred *c = NULL;
	int i, r, rc = 1;

	for (i = 2; i < argc; i++) {
		if (!field_name_valid(argv[i])) {
			fprintf(stderr,
				"credfs: store %s: invalid field name "
				"%s\n",
				name, argv[i]);
			return 2;
		}
	}
	c = cred_new();
	if (!c) {
		fprintf(stderr, "credfs: store %s: out of memory\n", name);
		return 1;
	}
	if (isatty(0))
		r = add_from_tty(c, argv + 2, argc - 2, &e);
	else
		r = add_from_stdin(c, argv + 2, argc - 2, &e);
	if (r < 0) {
		fprintf(stderr, "credfs: store %s: %s\n", name, e.msg);
		goto out;
	}
	for (i = 2; i < argc; i++) {
		if (!cred_get(c, argv[i])) {
			fprintf(stderr,
				"credfs: store %s: no value for field "
				"%s\n",
				name, argv[i]);
			goto out;
		}
	}
	if (cred_count(c) == 0) {
		fprintf(stderr,
			"credfs: store %s: no fields given (FIELD=VALUE "
			"lines on stdin)\n",
			name);
		goto out;
	}
	if ((r = store_put(s, name, c, &e)) < 0) {
		fprintf(stderr, "credfs: store %s: %s\n", name, e.msg);
		goto out;
	}
	fields_line(c, fl, sizeof(fl));
	printf("stored %s (fields: %s)\n", name, fl);
	rc = 0;
out:
	cred_unref(c);
	return rc;
}

static int cmd_list(struct store *s)
{
	char **names = NULL, fl[1024];
	struct error e = {0};
	size_t n = 0, i;
	int r, rc = 0;

	if ((r = store_list(s, &names, &n)) < 0) {
		fprintf(stderr, "credfs: store: cannot list: %s\n",
			strerror(-r));
		return 1;
	}
	for (i = 0; i < n; i++) {
		struct cred *c = NULL;

		if (store_get(s, names[i], &c, &e) < 0) {
			fprintf(stderr, "credfs: store %s: %s\n", names[i],
				e.msg);
			rc = 1;
			continue;
		}
		fields_line(c, fl, sizeof(fl));
		printf("%s: %s\n", names[i], fl);
		cred_unref(c);
	}
	store_list_free(names, n);
	return rc;
}

static int cmd_rm(struct store *s, const char *name)
{
	int r = store_remove(s, name);

	if (r == -ENOENT) {
		fprintf(stderr, "credfs: store %s: no such entry\n", name);
		return 1;
	}
	if (r < 0) {
		fprintf(stderr, "credfs: store %s: %s\n", name, strerror(-r));
		return 1;
	}
	printf("removed %s\n", name);
	return 0;
}

/* import-aws: one entry per profile of a shared credentials file. */
struct aws_profile {
	char section[STORE_NAME_MAX + 1];
	struct cred *c;
	bool bad;
};

struct aws_import {
	struct aws_profile *p;
	size_t n;
	bool oom;
};

static int aws_handler(void *user, const char *section, const char *name,
		       const char *value)
{
	static const char *const map[][2] = {
	    {"aws_access_key_id", "access_key_id"},
	    {"aws_secret_access_key", "secret_access_key"},
	    {"aws_session_token", "session_token"},
	    {"aws_security_token", "session_token"},
	};
	struct aws_import *im = user;
	struct aws_profile *p = NULL;
	size_t i;

	for (i = 0; i < im->n; i++)
		if (strcmp(im->p[i].section, section) == 0)
			p = &im->p[i];
	if (!p) {
		struct aws_profile *np;

		np = realloc(im->p, (im->n + 1) * sizeof(*np));
		if (!np) {
			im->oom = true;
			return 0;
		}
		im->p = np;
		p = &im->p[im->n++];
		memset(p, 0, sizeof(*p));
		if (strlen(section) > STORE_NAME_MAX - 4)
			p->bad = true;
		snprintf(p->section, sizeof(p->section), "%s", section);
		p->c = cred_new();
		if (!p->c) {
			im->oom = true;
			return 0;
		}
	}
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (strcmp(name, map[i][0]) != 0)
			continue;
		if (!value_valid(value, strlen(value))) {
			p->bad = true;
			break;
		}
		if (cred_set(p->c, map[i][1], value) < 0)
			im->oom = true;
		break;
	}
	return 1;
}

/* inih keeps its line buffer on the stack: scrub what it left behind. */
static __attribute__((noinline)) void scrub_stack(void)
{
	volatile char buf[65536];

	sodium_memzero((void *)buf, sizeof(buf));
	__asm__ volatile("" : : "r"(buf) : "memory");
}

static int read_file_secret(const char *path, struct secbuf *b)
{
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0)
		return -errno;
	r = util_read_fd_secret(fd, 1u << 20, &b->data, &len);
	close(fd);
	b->len = b->cap = len;
	return r;
}

static int cmd_import_aws(struct store *s, const char *file)
{
	char path[PATH_MAX], entry[STORE_NAME_MAX + 8], fl[1024];
	struct error e = {0};
	struct aws_import im = {0};
	struct secbuf b = {0};
	const char *env = getenv("AWS_SHARED_CREDENTIALS_FILE");
	const char *home = getenv("HOME");
	int saved_max, line, r, rc = 1;
	size_t i, imported = 0;

	if (file)
		snprintf(path, sizeof(path), "%s", file);
	else if (env && *env)
		snprintf(path, sizeof(path), "%s", env);
	else
		snprintf(path, sizeof(path), "%s/.aws/credentials",
			 home ? home : "");
	if ((r = read_file_secret(path, &b)) < 0) {
		fprintf(stderr, "credfs: store import-aws: %s: %s\n", path,
			strerror(-r));
		goto out;
	}
	/* session tokens are longer than inih's default line */
	saved_max = ini_max_line;
	ini_max_line = 16384;
	line = ini_parse_string(b.data, aws_handler, &im);
	ini_max_line = saved_max;
	scrub_stack();
	if (im.oom) {
		fprintf(stderr, "credfs: store import-aws: out of memory\n");
		goto out;
	}
	if (line != 0) {
		fprintf(stderr,
			"credfs: store import-aws: %s:%d: not valid "
			"INI\n",
			path, line);
		goto out;
	}
	for (i = 0; i < im.n; i++) {
		struct aws_profile *p = &im.p[i];

		snprintf(entry, sizeof(entry), "aws-%s", p->section);
		if (p->bad || !store_name_valid(entry)) {
			fprintf(stderr,
				"credfs: store import-aws: profile %s "
				"skipped: invalid name or value\n",
				store_name_valid(entry) ? p->section
							: "(bad name)");
			continue;
		}
		if (!cred_get(p->c, "access_key_id") ||
		    !cred_get(p->c, "secret_access_key")) {
			fprintf(stderr,
				"credfs: store import-aws: profile %s "
				"skipped: no aws_access_key_id and "
				"aws_secret_access_key\n",
				p->section);
			continue;
		}
		if (store_put(s, entry, p->c, &e) < 0) {
			fprintf(stderr, "credfs: store %s: %s\n", entry, e.msg);
			goto out;
		}
		fields_line(p->c, fl, sizeof(fl));
		printf("imported %s (fields: %s)\n", entry, fl);
		imported++;
	}
	if (!imported) {
		fprintf(stderr,
			"credfs: store import-aws: %s: no profile with "
			"keys found\n",
			path);
		goto out;
	}
	printf("The plaintext copy is still at %s: remove it, e.g.\n"
	       "  shred -u %s\n",
	       path, path);
	rc = 0;
out:
	for (i = 0; i < im.n; i++)
		cred_unref(im.p[i].c);
	free(im.p);
	secbuf_wipe(&b);
	return rc;
}

/* After a restore the operator vouches for: the state directory as it is
 * becomes the anchored one (audited). */
static int cmd_reanchor(struct context *ctx)
{
	struct error e = {0};

	if (context_audit(ctx, "store_reanchor", NULL, &e) < 0 ||
	    store_reanchor(ctx->store, &e) < 0) {
		error_prefix(&e, "store reanchor");
		return cli_fail(&e);
	}
	printf("the state directory's sealed files are accepted as they are "
	       "now (manifest re-anchored in the audit log)\n");
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: credfs store add NAME [FIELD...]\n"
			"       credfs store list\n"
			"       credfs store rm NAME\n"
			"       credfs store import-aws [FILE]\n"
			"       credfs store import-gcp KEY.json [NAME]\n"
			"       credfs store reanchor\n");
}

int cmd_store(struct cli *cli, int argc, char **argv)
{
	const struct config *cfg = cli->cfg;
	const char *sub;
	struct context *ctx = NULL;
	struct error e = {0};
	unsigned parts = CONTEXT_STORE;
	int rc = 1;

	argc--; /* argv[0] is now the subcommand */
	argv++;
	sub = argc > 0 ? argv[0] : NULL;
	if (!sub) {
		usage();
		return 2;
	}
	if (strcmp(sub, "add") == 0) {
		if (argc < 2) {
			usage();
			return 2;
		}
		if (!store_name_valid(argv[1])) {
			fprintf(stderr, "credfs: store: invalid name (use "
					"letters, digits, _ . @ -; no leading "
					"dot)\n");
			return 2;
		}
	} else if (strcmp(sub, "rm") == 0) {
		if (argc != 2) {
			usage();
			return 2;
		}
		if (!store_name_valid(argv[1])) {
			fprintf(stderr, "credfs: store: invalid name\n");
			return 2;
		}
	} else if (strcmp(sub, "list") == 0) {
		if (argc != 1) {
			usage();
			return 2;
		}
	} else if (strcmp(sub, "reanchor") == 0) {
		if (argc != 1) {
			usage();
			return 2;
		}
	} else if (strcmp(sub, "import-aws") == 0) {
		if (argc > 2) {
			usage();
			return 2;
		}
	} else if (strcmp(sub, "import-gcp") == 0) {
		if (argc < 2 || argc > 3) {
			usage();
			return 2;
		}
	} else {
		fprintf(stderr, "credfs: store: unknown subcommand %s\n", sub);
		usage();
		return 2;
	}
	/* A change to the store is audited like the daemon's events (the log
	 * takes writers from several processes); listing is not. */
	if (strcmp(sub, "list") != 0)
		parts |= CONTEXT_AUDIT;
	/* The key prompt needs a terminal; FIELD=VALUE lines may still come
	 * from a pipe (then only passphrase_file or a keyfile can unlock). */
	if (isatty(0))
		parts |= CONTEXT_INTERACTIVE;
	if (context_open(cfg, parts, &ctx, &e) < 0) {
		error_prefix(&e, "store");
		return cli_fail(&e);
	}
	if (strcmp(sub, "add") == 0)
		rc = cmd_add(ctx->store, argc, argv);
	else if (strcmp(sub, "list") == 0)
		rc = cmd_list(ctx->store);
	else if (strcmp(sub, "rm") == 0)
		rc = cmd_rm(ctx->store, argv[1]);
	else if (strcmp(sub, "reanchor") == 0)
		rc = cmd_reanchor(ctx);
	else if (strcmp(sub, "import-gcp") == 0)
		rc = store_import_gcp(ctx->store, argv[1],
				      argc > 2 ? argv[2] : NULL);
	else
		rc = cmd_import_aws(ctx->store, argc > 1 ? argv[1] : NULL);
	context_free(ctx);
	return rc;
}
