/* render_lines: pgpass (libpq's escaping), netrc, pem; their file keys. */
#include "providers/registry.h"
#include "tests/tap.h"
#include "core/config.h"
#include "core/cred.h"
#include "core/render.h"
#include "core/secmem.h"

#include <errno.h>
#include <unistd.h>

static struct cred *mk(const char *const *kv)
{
	struct cred *c = cred_new();
	for (size_t i = 0; kv[i]; i += 2)
		if (cred_set(c, kv[i], kv[i + 1]) < 0)
			abort();
	cred_set_expiration(c, 1800003600);
	cred_set_obtained(c, 1800000000);
	return c;
}

static int render(struct file_cfg *f, const struct cred *c, struct secbuf *b,
		  char *err)
{
	struct render_profile rp = {.label = "db", .profile = "db", .cred = c};
	struct render_input in = {
	    .file = f, .n = 1, .p = &rp, .now = 1800000000};
	memset(b, 0, sizeof(*b));
	return render_file(&in, b, err, 256);
}

#define CERT "-----BEGIN CERTIFICATE-----\nMIIBcert\n-----END CERTIFICATE-----"
#define CA "-----BEGIN CERTIFICATE-----\nMIIBca\n-----END CERTIFICATE-----"
#define KEY                                                                    \
	"-----BEGIN RSA PRIVATE KEY-----\nMIIkey\n-----END RSA PRIVATE "       \
	"KEY-----"

static char dir[] = "/tmp/credfs-test-lines-XXXXXX";

static int load(const char *file_sec, struct config **c, struct diag *d)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/config", dir);
	FILE *f = fopen(path, "w");
	fprintf(f,
		"[credfs]\nstate_dir = %s/state\n\n[profile db]\n"
		"provider = vault\naddress = http://127.0.0.1:8200\n"
		"token_file = %s/tok\npath = database/creds/ro\n\n%s",
		dir, dir, file_sec);
	fclose(f);
	memset(d, 0, sizeof(*d));
	*c = NULL;
	return config_load(path, providers_all, c, d);
}

static bool diag_has(const struct diag *d, const char *needle)
{
	for (size_t i = 0; i < d->n; i++)
		if (strstr(d->msgs[i], needle))
			return true;
	for (size_t i = 0; i < d->n; i++)
		printf("#   %s\n", d->msgs[i]);
	return false;
}

int main(void)
{
	struct secbuf b;
	char err[256];
	struct file_cfg f = {.path = "pgpass",
			     .format = FMT_PGPASS,
			     .host = "db.example",
			     .port = "5432",
			     .database = "*"};

	secmem_init_cjson();
	struct cred *db = mk((const char *const[]){
	    "username", "v-ro-x1", "password", "p:a\\ss*w", "lease_id",
	    "database/creds/ro/abc", NULL});
	ok(render(&f, db, &b, err) == 0, "pgpass renders: %s", err);
	is_str(b.data, "db.example:5432:*:v-ro-x1:p\\:a\\\\ss*w\n",
	       "pgpass: host:port:db:user:password, ':' and '\\' escaped, '*' "
	       "kept");
	secbuf_wipe(&b);
	f.host = "fe80::1";
	ok(render(&f, db, &b, err) == 0 &&
	       !strncmp(b.data, "fe80\\:\\:1:5432:", 15),
	   "pgpass: an IPv6 host's colons escaped");
	secbuf_wipe(&b);

	struct cred *evil = mk((const char *const[]){
	    "username", "u", "password", "x\n*:*:*:postgres:y", NULL});
	ok(render(&f, evil, &b, err) == -EIO && strstr(err, "control"),
	   "pgpass: a password with a newline is refused: %s", err);
	struct cred *nouser =
	    mk((const char *const[]){"password", "only", NULL});
	ok(render(&f, nouser, &b, err) == -EIO &&
	       strstr(err, "no field 'username'"),
	   "pgpass: a missing username is named: %s", err);

	f.format = FMT_NETRC;
	f.machine = "api.example";
	struct cred *web = mk((const char *const[]){"username", "bob",
						    "password", "pa#ss", NULL});
	ok(render(&f, web, &b, err) == 0, "netrc renders: %s", err);
	is_str(b.data, "machine api.example login bob password pa#ss\n",
	       "netrc: machine HOST login USER password PASS");
	secbuf_wipe(&b);
	f.machine = NULL;
	ok(render(&f, web, &b, err) == 0 &&
	       !strcmp(b.data, "default login bob password pa#ss\n"),
	   "netrc: no machine key writes a default entry");
	secbuf_wipe(&b);
	struct cred *spaced = mk((const char *const[]){
	    "username", "bob", "password", "two words", NULL});
	ok(render(&f, spaced, &b, err) == -EIO && strstr(err, "white space"),
	   "netrc: a password with a space is refused: %s", err);
	ok(render(&f, evil, &b, err) == -EIO, "netrc: a newline is refused");

	f.format = FMT_PEM;
	struct cred *pki = mk((const char *const[]){
	    "certificate", CERT, "issuing_ca", CA, "ca_chain", CA,
	    "private_key", KEY "\n", "serial_number", "1a:2b", NULL});
	ok(render(&f, pki, &b, err) == 0, "pem renders: %s", err);
	is_str(b.data, CERT "\n" CA "\n" KEY "\n",
	       "pem: certificate, chain (issuing CA once), key");
	secbuf_wipe(&b);
	struct cred *nochain = mk((const char *const[]){
	    "certificate", CERT, "issuing_ca", CA, "private_key", KEY, NULL});
	ok(render(&f, nochain, &b, err) == 0 &&
	       !strcmp(b.data, CERT "\n" CA "\n" KEY "\n"),
	   "pem: issuing_ca when there is no ca_chain");
	secbuf_wipe(&b);
	struct cred *badpem = mk((const char *const[]){
	    "certificate", CERT "\n\x1b[2J", "private_key", KEY, NULL});
	ok(render(&f, badpem, &b, err) == -EIO &&
	       strstr(err, "field certificate is not PEM"),
	   "pem: a control character in a block is refused: %s", err);
	struct cred *inject =
	    mk((const char *const[]){"certificate", "x\n" CERT, NULL});
	ok(render(&f, inject, &b, err) == -EIO,
	   "pem: text before BEGIN is refused");
	ok(render(&f, db, &b, err) == -EIO && strstr(err, "no field"),
	   "pem: a credential without a certificate is named: %s", err);

	/* the file keys, at their lines */
	if (!mkdtemp(dir))
		return 1;
	struct config *c;
	struct diag d;
	int r = load("[file pgpass]\nformat = pgpass\nprofiles = db\n"
		     "host = 127.0.0.1\nport = 5433\n",
		     &c, &d);
	ok(r == 0 && c && !strcmp(c->files[0].host, "127.0.0.1") &&
	       !strcmp(c->files[0].port, "5433") &&
	       !strcmp(c->files[0].database, "*"),
	   "config: pgpass keys, database defaults to *");
	config_free(c);
	diag_free(&d);
	r = load("[file pgpass]\nformat = pgpass\nprofiles = db\n"
		 "port = 99999\nmachine = x\n",
		 &c, &d);
	ok(r < 0 && diag_has(&d, ":13: file pgpass: port: '99999' is not") &&
	       diag_has(&d, ":14: file pgpass: 'machine' is a key of format "
			    "netrc"),
	   "config: a bad port and a netrc key in a pgpass file, at their "
	   "lines");
	config_free(c);
	diag_free(&d);
	r = load("[file netrc]\nformat = netrc\nprofiles = db\n"
		 "machine = two words\n",
		 &c, &d);
	ok(r < 0 && diag_has(&d, ":13: file netrc: machine: 'two words' is "
				 "not one netrc token"),
	   "config: a machine with a space is refused at its line");
	config_free(c);
	diag_free(&d);
	r = load("[file cert.pem]\nformat = pem\nprofiles = db\n", &c, &d);
	ok(r == 0, "config: format pem is available");
	config_free(c);
	diag_free(&d);

	cred_unref(db);
	cred_unref(evil);
	cred_unref(nouser);
	cred_unref(web);
	cred_unref(spaced);
	cred_unref(pki);
	cred_unref(nochain);
	cred_unref(badpem);
	cred_unref(inject);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		diag("cannot remove %s", dir);
	return tap_done();
}
