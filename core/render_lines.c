/* render_lines: the formats of one-line-per-entry files tools read
 * themselves (libpq's pgpass, netrc) and pem (a PKI certificate, its chain
 * and its key).
 *
 * pgpass, per libpq's documentation: hostname:port:database:username:
 * password, `*` matching anything, `:` and `\` in a field escaped with `\`.
 * netrc: `machine HOST login USER password PASS`, tokens separated by
 * white space, so a value with white space (or a leading quote, which
 * newer parsers take as quoting) cannot be written and is refused.
 */
#include "core/config.h"
#include "core/cred.h"
#include "core/error.h"
#include "core/render.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- configuration: the file keys ---- */

static bool token_ok(const char *v)
{
	if (!render_value_ok(v) || *v == '"')
		return false;
	return !strpbrk(v, " \t");
}

void render_lines_config(const struct cfg_section *s, struct file_cfg *f,
			 int fmt, struct diag *d)
{
	static const char *const pg_keys[] = {"host", "port", "database"};
	const char *v;

	for (size_t i = 0; i < 3; i++) {
		v = cfg_get(s, pg_keys[i]);
		if (v && fmt >= 0 && fmt != FMT_PGPASS)
			diag_add(d, cfg_line(s, pg_keys[i]),
				 "file %s: '%s' is a key of format pgpass",
				 f->path, pg_keys[i]);
		else if (v && !render_value_ok(v))
			diag_add(d, cfg_line(s, pg_keys[i]),
				 "file %s: %s: empty or a control character",
				 f->path, pg_keys[i]);
	}
	f->host = (v = cfg_get(s, "host")) ? v : "*";
	f->database = (v = cfg_get(s, "database")) ? v : "*";
	f->port = (v = cfg_get(s, "port")) ? v : "*";
	if (strcmp(f->port, "*")) {
		char *end;
		long n = strtol(f->port, &end, 10);
		if (*end || end == f->port || n < 1 || n > 65535)
			diag_add(d, cfg_line(s, "port"),
				 "file %s: port: '%s' is not 1-65535 or *",
				 f->path, f->port);
	}
	f->machine = cfg_get(s, "machine");
	if (f->machine && fmt >= 0 && fmt != FMT_NETRC)
		diag_add(d, cfg_line(s, "machine"),
			 "file %s: 'machine' is a key of format netrc",
			 f->path);
	else if (f->machine && !token_ok(f->machine))
		diag_add(d, cfg_line(s, "machine"),
			 "file %s: machine: '%s' is not one netrc token (no "
			 "white space, control character or leading '\"')",
			 f->path, f->machine);
}

/* ---- pgpass ---- */

static int pg_field(struct secbuf *b, const char *v, bool last)
{
	int r = 0;

	for (const char *p = v; r == 0 && *p; p++) {
		if (*p == ':' || *p == '\\')
			r = secbuf_append(b, "\\", 1);
		if (r == 0)
			r = secbuf_append(b, p, 1);
	}
	return r ? r : secbuf_append(b, last ? "\n" : ":", 1);
}

static const char *need(const struct render_profile *rp, const char *field,
			struct error *err)
{
	const char *v = cred_get(rp->cred, field);

	if (!v)
		error_set(err, EIO, "profile %s has no field '%s'", rp->profile,
			  field);
	return v;
}

int render_pgpass(const struct file_cfg *f, const struct render_profile *rp,
		  struct secbuf *b, struct error *err)
{
	const char *user = need(rp, "username", err);
	const char *pass = user ? need(rp, "password", err) : NULL;
	int r;

	if (!pass)
		return -EIO;
	/* `*` is libpq's wildcard as it is, escaped only elsewhere */
	if ((r = pg_field(b, f->host, false)) < 0 ||
	    (r = pg_field(b, f->port, false)) < 0 ||
	    (r = pg_field(b, f->database, false)) < 0 ||
	    (r = pg_field(b, user, false)) < 0)
		return r;
	return pg_field(b, pass, true);
}

/* ---- netrc ---- */

int render_netrc(const struct file_cfg *f, const struct render_profile *rp,
		 struct secbuf *b, struct error *err)
{
	const char *user = need(rp, "username", err);
	const char *pass = user ? need(rp, "password", err) : NULL;

	if (!pass)
		return -EIO;
	if (!token_ok(user) || !token_ok(pass)) {
		error_set(err, EIO,
			  "profile %s: field %s holds white space or a "
			  "leading quote, which netrc cannot hold; refused",
			  rp->profile,
			  token_ok(user) ? "password" : "username");
		return -EIO;
	}
	if (f->machine)
		return secbuf_printf(b, "machine %s login %s password %s\n",
				     f->machine, user, pass);
	return secbuf_printf(b, "default login %s password %s\n", user, pass);
}

/* ---- pem ---- */

/* One or more PEM blocks: printable ASCII lines, BEGIN to END. */
static bool pem_ok(const char *v, size_t *len)
{
	size_t n = strlen(v);

	while (n > 0 && (v[n - 1] == '\n' || v[n - 1] == '\r'))
		n--;
	*len = n;
	if (strncmp(v, "-----BEGIN ", 11) || n < 16 ||
	    strncmp(v + n - 5, "-----", 5))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)v[i];
		if ((ch < 0x20 && ch != '\n' && ch != '\r') || ch > 0x7e)
			return false;
	}
	return true;
}

int render_pem(const struct render_profile *rp, struct secbuf *b,
	       struct error *err)
{
	/* the chain includes the issuing CA when Vault sends one */
	static const char *const order[][2] = {
	    {"certificate", NULL},
	    {"ca_chain", "issuing_ca"},
	    {"private_key", NULL},
	};
	int r;

	if (!rp->cred) {
		error_set(err, EIO, "profile %s: %s", rp->profile,
			  rp->why ? rp->why : "no credential");
		return -EIO;
	}
	if (!cred_get(rp->cred, "certificate") &&
	    !cred_get(rp->cred, "private_key")) {
		error_set(err, EIO,
			  "profile %s has no field 'certificate' or "
			  "'private_key'",
			  rp->profile);
		return -EIO;
	}
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		const char *name = order[i][0];
		const char *v = cred_get(rp->cred, name);
		size_t len;
		if ((!v || !*v) && order[i][1])
			v = cred_get(rp->cred, name = order[i][1]);
		if (!v || !*v)
			continue;
		if (!pem_ok(v, &len)) {
			error_set(err, EIO,
				  "profile %s: field %s is not PEM (BEGIN to "
				  "END, printable lines); refused",
				  rp->profile, name);
			return -EIO;
		}
		for (size_t k = 0; k < len; k++) {
			if (v[k] == '\r')
				continue;
			if ((r = secbuf_append(b, v + k, 1)) < 0)
				return r;
		}
		if ((r = secbuf_append(b, "\n", 1)) < 0)
			return r;
	}
	return 0;
}
