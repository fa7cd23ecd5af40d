/* open pipeline without a mount: this test process is the caller. */
#include "providers/registry.h"
#include "tests/tap.h"
#include "access/audit.h"
#include "core/config.h"
#include "core/cred.h"
#include "core/provider.h"
#include "core/secmem.h"
#include "engine/engine.h"
#include "engine/open.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "core/error.h"

/* audit_open with the message in a buffer, as these tests print it. */
static int audit_open_buf(const char *t, enum audit_sync s, struct audit **a,
			  char *err, size_t len)
{
	struct error e = {0};
	int r = audit_open(t, s, a, &e);

	snprintf(err, len, "%.*s", (int)(len ? len - 1 : 0), e.msg);
	return r;
}

static int fetches;

static int fake_fetch(const struct provider_req *req, struct cred **out,
		      struct error *e)
{
	struct cred *c = cred_new();
	char id[32];

	fetches++;
	snprintf(id, sizeof(id), "ASIAOPEN%04d", fetches);
	if (cred_set(c, "access_key_id", id) < 0 ||
	    cred_set(c, "secret_access_key", "sekrit") < 0)
		abort();
	cred_set_obtained(c, time(NULL));
	cred_set_expiration(c, time(NULL) + 3600);
	*out = c;
	return 0;
}

static const struct provider_ops fake = {
    .name = "exec", .cacheable = true, .fetch = fake_fetch};

static char logpath[] = "/tmp/credfs-test-open-log-XXXXXX";

static int count(const char *needle)
{
	FILE *f = fopen(logpath, "r");
	char line[4096];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, needle))
			n++;
	fclose(f);
	return n;
}

static size_t fidx_of(const struct config *cfg, const char *path)
{
	const struct file_cfg *f = config_find_file(cfg, path);
	if (!f)
		abort();
	return (size_t)(f - cfg->files);
}

int main(void)
{
	char path[] = "/tmp/credfs-test-open-XXXXXX";
	char text[2048];
	int fd = mkstemp(path), lfd = mkstemp(logpath);
	struct config *cfg = NULL;
	struct diag d = {0};
	struct engine *eng = NULL;
	struct audit *audit = NULL;
	struct open_pipeline *p = NULL;
	struct open_handle *h = NULL;
	const char *data;
	char err[256];
	ssize_t n;

	close(lfd);
	snprintf(text, sizeof(text),
		 "[credfs]\naudit_log = %s\naudit_required = yes\n"
		 "[profile p]\nprovider = exec\ncommand = true\n"
		 "[file mine]\nformat = aws-credentials\nprofiles = p\n"
		 "allow = uid:%u\n"
		 "[file theirs]\nformat = aws-credentials\nprofiles = p\n"
		 "deny = uid:%u\n"
		 "[file sub/tok]\nformat = token\nprofiles = p\n"
		 "field = access_key_id\n",
		 logpath, (unsigned)getuid(), (unsigned)getuid());
	if (write(fd, text, strlen(text)) < 0)
		return 1;
	close(fd);
	if (config_load(path, providers_all, &cfg, &d) < 0) {
		printf("# config: %s\n", d.n ? d.msgs[0] : "?");
		return 1;
	}
	unlink(path);
	cfg->profiles[0].ops = &fake;
	secmem_init_cjson();
	if (engine_new(cfg, NULL, NULL, &eng) < 0 ||
	    audit_open_buf(logpath, AUDIT_SYNC_NONE, &audit, err, sizeof(err)) <
		0 ||
	    open_pipeline_new(cfg, eng, audit, &p) < 0)
		return 1;

	struct open_who me = {
	    .tid = getpid(), .uid = getuid(), .gid = getgid()};
	size_t mine = fidx_of(cfg, "mine"), theirs = fidx_of(cfg, "theirs"),
	       tok = fidx_of(cfg, "sub/tok");

	/* allow, audited before serving */
	ok(open_file(p, mine, &me, O_RDONLY, &h) == 0 && h, "allowed open");
	ok(count("\"decision\":\"allow\"") == 1,
	   "the allow line is in the log when the open returns");
	n = open_serve(h, getuid(), 0, 4096, &data);
	ok(n > 0 && (size_t)n == h->buf.len, "serve from 0: %zd bytes", n);
	ok(n > 0 && memmem(data, (size_t)n, "aws_access_key_id = ASIAOPEN", 28),
	   "the rendered file");
	const char *key =
	    n > 0 ? memmem(data, (size_t)n, "aws_access", 10) : NULL;
	off_t koff = key ? key - data : 0;
	ok(data >= h->buf.data && data < h->buf.data + h->buf.len,
	   "served straight from the handle's secret memory");
	n = open_serve(h, getuid(), koff, 5, &data);
	ok(key && n == 5 && !memcmp(data, "aws_a", 5), "offset %lld, 5 bytes",
	   (long long)koff);
	n = open_serve(h, getuid(), (off_t)h->buf.len, 100, &data);
	ok(n == 0, "at the end: 0");
	n = open_serve(h, getuid(), (off_t)h->buf.len + 100, 100, &data);
	ok(n == 0, "past the end: 0");
	n = open_serve(h, getuid(), -1, 100, &data);
	ok(n == 0, "negative offset: 0");
	n = open_serve(h, getuid() + 1, 0, 100, &data);
	ok(n == -EACCES && data == NULL, "another uid reading: EACCES");
	struct stat st;
	open_handle_stat(p, h, &st);
	ok(st.st_size == (off_t)h->buf.len && S_ISREG(st.st_mode),
	   "fstat is the snapshot's size");
	struct stat st2;
	ok(open_stat(p, mine, &me, &st2) == 0 && st2.st_size == st.st_size,
	   "stat without open agrees (%lld)", (long long)st2.st_size);
	open_release(h);
	h = NULL;

	/* write access never */
	ok(open_file(p, mine, &me, O_RDWR, &h) == -EACCES && !h,
	   "O_RDWR: EACCES");
	ok(open_file(p, mine, &me, O_RDONLY | O_TRUNC, &h) == -EACCES,
	   "O_TRUNC: EACCES");

	/* deny */
	ok(open_file(p, theirs, &me, O_RDONLY, &h) == -EACCES && !h,
	   "denied by rule");
	ok(count("\"decision\":\"deny\"") == 1, "the denial is audited");

	/* a subdirectory file, token format */
	ok(open_file(p, tok, &me, O_RDONLY, &h) == 0, "sub/tok opens");
	n = open_serve(h, getuid(), 0, 100, &data);
	ok(n == 12 && !memcmp(data, "ASIAOPEN", 8), "token served (%zd)", n);
	open_release(h);
	h = NULL;

	/* lock */
	open_set_locked(p, true);
	ok(open_locked(p), "locked");
	ok(open_file(p, mine, &me, O_RDONLY, &h) == -EACCES,
	   "locked: the allowed file is denied");
	ok(count("\"rule\":\"locked\"") == 1, "audited as locked");
	open_set_locked(p, false);
	ok(open_file(p, mine, &me, O_RDONLY, &h) == 0, "unlocked: served");
	open_release(h);
	h = NULL;

	/* an unidentifiable caller (no such task) is denied */
	struct open_who ghost = {.tid = 0, .uid = getuid(), .gid = getgid()};
	ok(open_file(p, mine, &ghost, O_RDONLY, &h) == -EACCES,
	   "unidentifiable caller denied");

	/* audit_required: a line that cannot be written serves nothing */
	int allows = count("\"decision\":\"allow\"");
	struct stat lst;
	stat(logpath, &lst);
	signal(SIGXFSZ, SIG_IGN);
	struct rlimit rl = {(rlim_t)lst.st_size, RLIM_INFINITY};
	setrlimit(RLIMIT_FSIZE, &rl);
	int r = open_file(p, mine, &me, O_RDONLY, &h);
	ok(r == -EIO && !h, "audit write fails: EIO, no handle (%d)", r);
	rl.rlim_cur = RLIM_INFINITY;
	setrlimit(RLIMIT_FSIZE, &rl);
	ok(count("\"decision\":\"allow\"") == allows,
	   "and no allow line was written");

	cJSON *s = open_status(p);
	char *js = cJSON_PrintUnformatted(s);
	ok(js && strstr(js, "\"file\":\"mine\"") &&
	       strstr(js, "\"opens\":2,\"denials\":2"),
	   "status: %s", js ? js : "(none)");
	ok(js && !strstr(js, "sekrit"), "no secret in status");
	cJSON_free(js);
	cJSON_Delete(s);
	s = open_timing(p);
	js = cJSON_PrintUnformatted(s);
	ok(strstr(js, "\"identify_ns\"") && strstr(js, "\"audit_ns\""),
	   "timing: %s", js);
	cJSON_free(js);
	cJSON_Delete(s);

	open_pipeline_free(p);
	audit_close(audit);
	engine_free(eng);
	config_free(cfg);
	diag_free(&d);
	unlink(logpath);
	return tap_done();
}
