/* init: `credfs init`, adopt an existing ~/.aws/config (see init_cmd.h).
 *
 * The mapping is init_aws.c; this file is the command: options, where the
 * config goes, writing it without clobbering, and what is left to do.
 */
#include "cli/init_cmd.h"
#include "cli/cli.h"
#include "cli/init_aws.h"
#include "core/config.h"
#include "core/secmem.h"
#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void tilde(const char *path, char *out, size_t len)
{
	const char *home = getenv("HOME");
	size_t n = home ? strlen(home) : 0;

	if (n > 1 && !strncmp(path, home, n) && path[n] == '/')
		snprintf(out, len, "~%s", path + n);
	else
		snprintf(out, len, "%s", path);
}

/* The whole config into out (-ENOENT... from the write, -EEXIST). */
static int write_config(const char *out, const char *text, bool force)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	size_t len = strlen(text);
	int fd, r = 0;

	if (!strcmp(out, "-"))
		return fputs(text, stdout) < 0 ? -EIO : 0;
	if (!force && access(out, F_OK) == 0)
		return -EEXIST;
	snprintf(dir, sizeof(dir), "%s", out);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		if ((r = util_mkdir_p(dir, 0700)) < 0)
			return r;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.init-%d", out, (int)getpid()) >=
	    (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	for (size_t off = 0; off < len && r == 0;) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0 && errno != EINTR)
			r = -errno;
		else if (n > 0)
			off += (size_t)n;
	}
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	/* without --force, link() refuses a file that appeared meanwhile */
	if (r == 0 && (force ? rename(tmp, out) : link(tmp, out)) < 0)
		r = -errno;
	unlink(tmp);
	return r;
}

/* Keys that make the AWS CLI fetch a credential itself, ahead of the shared
 * credentials file credfs serves (botocore tries an AssumeRole or web
 * identity profile before the credentials file). */
static const char *const fetch_keys[] = {
    "role_arn",	   "source_profile",	      "credential_source",
    "external_id", "role_session_name",	      "duration_seconds",
    "mfa_serial",  "web_identity_token_file", NULL};

static bool served(const struct init_aws *a, const char *hdr)
{
	char name[256];

	/* "[profile NAME]" or "[default]" */
	if (sscanf(hdr, " [ profile %255[^] \t]", name) != 1 &&
	    sscanf(hdr, " [ %255[^] \t]", name) != 1)
		return false;
	for (size_t i = 0; i < a->nserved; i++)
		if (!strcmp(a->served[i], name))
			return strncmp(hdr + strspn(hdr, " \t["), "sso-session",
				       11);
	return false;
}

/* The AWS config without the fetch keys of the profiles credfs serves, so
 * the AWS CLI reads what the mount serves; everything else verbatim.
 * NULL if there is nothing to take out (or on failure). */
static char *aws_config_for_credfs(const char *from, const struct init_aws *a,
				   size_t *n)
{
	char *text = NULL, *out = NULL, *line, *end;
	size_t len = 0, olen = 0;
	bool in = false;
	int fd = open(from, O_RDONLY | O_CLOEXEC);
	FILE *f = NULL;

	*n = 0;
	if (fd < 0 || util_read_fd_secret(fd, 1 << 20, &text, &len) < 0 ||
	    !(f = open_memstream(&out, &olen)))
		goto done;
	for (line = text; line < text + len; line = end + 1) {
		if ((end = strchr(line, '\n')))
			*end = 0;
		else
			end = line + strlen(line);
		size_t k = strcspn(line, " \t=");
		bool drop = false;

		if (line[strspn(line, " \t")] == '[')
			in = served(a, line);
		else if (in && k && line[k + strspn(line + k, " \t")] == '=')
			for (size_t i = 0; fetch_keys[i]; i++)
				if (strlen(fetch_keys[i]) == k &&
				    !strncmp(line, fetch_keys[i], k))
					drop = true;
		if (drop)
			(*n)++;
		else
			fprintf(f, "%s\n", line);
	}
done:
	if (f && fclose(f) != 0)
		*n = 0;
	if (fd >= 0)
		close(fd);
	secmem_free(text);
	if (!*n) {
		free(out);
		out = NULL;
	}
	return out;
}

static int usage(void)
{
	fprintf(stderr, "usage: credfs init [--from AWS_CONFIG] [--credentials "
			"FILE] [-o OUT|-] [--force]\n");
	return 2;
}

/* The text of the config: header, [credfs], the profiles, one file. */
static char *render(const char *from_path, const struct init_aws *a)
{
	char *text = NULL, from[PATH_MAX];
	size_t len = 0, col = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	tilde(from_path, from, sizeof(from));
	for (char *c = from; *c; c++)
		if ((unsigned char)*c < 0x20)
			*c = '?';
	fprintf(f,
		"# credfs config written by `credfs init` from %s.\n"
		"# Check it with `credfs check`; every key is in "
		"credfs.conf(5).\n\n"
		"[credfs]\n"
		"state_dir      = ~/.local/state/credfs\n"
		"key            = passphrase\n"
		"refresh_before = 15m\n"
		"%s\n"
		"# Every profile, as the AWS CLI knew it. No allow lines: "
		"only your own\n# uid reads it.\n"
		"[file credentials]\n"
		"format   = aws-credentials\n"
		"mode     = 0400\n",
		from, a->body);
	for (size_t i = 0; i < a->nserved; i++) {
		const char *n = a->served[i];

		if (col && col + 1 + strlen(n) > 70) {
			fputc('\n', f);
			col = 0;
		}
		col += (size_t)fprintf(f, "%s%s", col ? " " : "profiles = ", n);
	}
	fputc('\n', f);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

int init_run(const char *default_out, int argc, char **argv)
{
	const char *from = getenv("AWS_CONFIG_FILE");
	const char *creds = getenv("AWS_SHARED_CREDENTIALS_FILE");
	const char *out = NULL;
	char *home_from = NULL, *home_creds = NULL, *def = NULL, *text = NULL;
	char shown[PATH_MAX], dir[PATH_MAX], copt[PATH_MAX + 8] = "";
	struct init_aws a = {0};
	bool force = false;
	int r, rc = 1;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--force"))
			force = true;
		else if (!strcmp(argv[i], "--from") && i + 1 < argc)
			from = argv[++i];
		else if (!strcmp(argv[i], "--credentials") && i + 1 < argc)
			creds = argv[++i];
		else if (!strcmp(argv[i], "-o") && i + 1 < argc)
			out = argv[++i];
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return usage(), 0;
		else
			return usage();
	}
	if (!from || !*from)
		from = home_from = config_expand_path("~/.aws/config");
	if (!creds || !*creds)
		creds = home_creds = config_expand_path("~/.aws/credentials");
	def = config_default_path();
	if (!out)
		out = default_out ? default_out : def;
	if (!from || !creds || !out) {
		fprintf(stderr, "credfs init: out of memory\n");
		goto out;
	}
	if ((rc = init_aws_map(from, creds, &a)) != 0) {
		if (access(from, F_OK) < 0 && errno == ENOENT)
			fprintf(stderr,
				"No AWS CLI setup to adopt: copy an example "
				"from credfs's examples/ to %s and edit it "
				"(then `credfs check`), or try `credfs demo`.\n",
				out);
		goto out;
	}
	rc = 1;
	if (!a.nserved) {
		fprintf(stderr,
			"credfs init: %s: no profile to convert; nothing "
			"written\n",
			from);
		goto out;
	}
	if (!(text = render(from, &a))) {
		fprintf(stderr, "credfs init: out of memory\n");
		goto out;
	}
	if ((r = write_config(out, text, force)) < 0) {
		if (r == -EEXIST)
			fprintf(stderr,
				"credfs init: %s exists; not overwritten "
				"(--force replaces it, -o writes elsewhere)\n",
				out);
		else
			fprintf(stderr, "credfs init: %s: %s\n", out,
				strerror(-r));
		goto out;
	}

	/* What is left to do, on stdout unless the config went there. */
	FILE *tell = strcmp(out, "-") ? stdout : stderr;
	size_t nkeys = 0;
	char *cleaned = aws_config_for_credfs(from, &a, &nkeys);
	char copy[PATH_MAX], cshown[PATH_MAX];

	snprintf(copy, sizeof(copy), "%s.credfs", from);
	tilde(copy, cshown, sizeof(cshown));
	if (cleaned && (r = write_config(copy, cleaned, force)) < 0)
		fprintf(stderr, "credfs init: %s: %s\n", copy,
			r == -EEXIST ? "exists; not overwritten (--force)"
				     : strerror(-r));
	free(cleaned);

	if (strcmp(out, "-") && (!def || strcmp(def, out))) {
		tilde(out, shown, sizeof(shown));
		snprintf(copt, sizeof(copt), " -c %s", shown);
	}
	snprintf(dir, sizeof(dir), "%s", from);
	char *slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else
		slash[slash == dir] = 0;
	tilde(dir, shown, sizeof(shown));
	fprintf(tell, "credfs init: wrote %s: %zu profile%s",
		strcmp(out, "-") ? out : "standard output", a.nserved,
		a.nserved == 1 ? "" : "s");
	if (a.nleft)
		fprintf(tell, ", %zu left out (named above)", a.nleft);
	fprintf(tell, ", one file: credentials\nWhat is left to do:\n");
	if (a.ncreds_used) {
		char crshown[PATH_MAX];

		tilde(creds, crshown, sizeof(crshown));
		fprintf(tell,
			"  credfs%s store import-aws %s   # seal the keys "
			"(entries aws-PROFILE)\n",
			copt, crshown);
	}
	fprintf(tell, "  credfs%s mount %s   # serve credentials there\n", copt,
		shown);
	if (nkeys && r == 0) {
		tilde(from, dir, sizeof(dir));
		fprintf(tell,
			"  mv %s %s   # the AWS CLI reads what credfs serves "
			"instead of assuming roles itself (%zu keys taken out; "
			"review it)\n",
			cshown, dir, nkeys);
	}
	if (a.nmfa)
		fprintf(tell,
			"Profiles with mfa_serial ask for the code with "
			"`credfs%s login PROFILE`.\n",
			copt);
	if (a.nsso)
		fprintf(tell, "SSO profiles use the token `aws sso login` "
			      "leaves in ~/.aws/sso/cache, as before.\n");
	rc = 0;
out:
	init_aws_free(&a);
	free(text);
	free(home_from);
	free(home_creds);
	free(def);
	return rc;
}

int cmd_init(struct cli *cli, int argc, char **argv)
{
	return init_run(cli ? cli->cfgpath : NULL, argc, argv);
}
