/* http: the libcurl client every HTTP provider uses (see http.h). */
#include "core/util.h"
#include "providers/http.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "core/provider.h"

#define HTTP_MAX_BODY (1024 * 1024)
#define HTTP_DEFAULT_TIMEOUT_MS 30000

static pthread_once_t http_once = PTHREAD_ONCE_INIT;
static CURLcode http_init_rc = CURLE_FAILED_INIT;

static void http_global_init(void)
{
	http_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static bool host_is_loopback(const char *host)
{
	char buf[256];
	size_t n = strlen(host);
	struct in_addr a4;
	struct in6_addr a6;

	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		if (n - 2 >= sizeof(buf))
			return false;
		memcpy(buf, host + 1, n - 2);
		buf[n - 2] = 0;
		/* zone ids ("fe80::1%eth0") are never loopback */
		return inet_pton(AF_INET6, buf, &a6) == 1 &&
		       IN6_IS_ADDR_LOOPBACK(&a6);
	}
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return false;
}

struct url_parts {
	char *scheme, *host, *port, *path, *query;
};

static void url_parts_free(struct url_parts *p)
{
	curl_free(p->scheme);
	curl_free(p->host);
	curl_free(p->port);
	curl_free(p->path);
	curl_free(p->query);
	memset(p, 0, sizeof(*p));
}

static int url_split(const char *url, struct url_parts *p)
{
	CURLU *u;
	int r = -EINVAL;

	memset(p, 0, sizeof(*p));
	pthread_once(&http_once, http_global_init);
	u = curl_url();
	if (!u)
		return -ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
		goto out;
	if (curl_url_get(u, CURLUPART_SCHEME, &p->scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &p->host, 0) != CURLUE_OK)
		goto out;
	/* absent parts are fine */
	curl_url_get(u, CURLUPART_PORT, &p->port, 0);
	curl_url_get(u, CURLUPART_PATH, &p->path, 0);
	curl_url_get(u, CURLUPART_QUERY, &p->query, 0);
	r = 0;
out:
	if (r < 0)
		url_parts_free(p);
	curl_url_cleanup(u);
	return r;
}

/* The instance metadata address of Azure (and other clouds), reachable
 * only from the VM itself: plain http there is how the service works. */
static bool host_is_imds(const struct url_parts *p)
{
	struct in_addr a4;

	return inet_pton(AF_INET, p->host, &a4) == 1 &&
	       ntohl(a4.s_addr) == 0xa9fea9feu /* 169.254.169.254 */ &&
	       (!p->port || strcmp(p->port, "80") == 0);
}

static int check_url(const char *url, bool imds, struct error *e)
{
	struct url_parts p;
	int r;

	if (!url || !*url) {
		error_set(e, EINVAL, "no endpoint URL");
		return -EINVAL;
	}
	if ((r = url_split(url, &p)) < 0) {
		error_set(e, EIO, "endpoint is not a valid URL");
		return r;
	}
	if (strcasecmp(p.scheme, "https") == 0) {
		r = 0;
	} else if (strcasecmp(p.scheme, "http") == 0) {
		if (host_is_loopback(p.host) || (imds && host_is_imds(&p))) {
			r = 0;
		} else {
			error_set(e, EPERM,
				  "endpoint %s: plain http is only allowed to "
				  "a loopback host%s; use https",
				  p.host,
				  imds ? " or the metadata address "
					 "169.254.169.254"
				       : "");
			r = -EPERM;
		}
	} else {
		error_set(e, EPERM,
			  "endpoint scheme \"%.16s\" not supported; use "
			  "https",
			  p.scheme);
		r = -EPERM;
	}
	url_parts_free(&p);
	return r;
}

int http_check_url(const char *url, struct error *e)
{
	return check_url(url, false, e);
}

int http_check_url_imds(const char *url, struct error *e)
{
	return check_url(url, true, e);
}

int http_url_parts(const char *url, char *host, size_t hostlen, char *path,
		   size_t pathlen)
{
	struct url_parts p;
	int r, n;

	if ((r = url_split(url, &p)) < 0)
		return r;
	if (p.port)
		n = snprintf(host, hostlen, "%s:%s", p.host, p.port);
	else
		n = snprintf(host, hostlen, "%s", p.host);
	if (n < 0 || (size_t)n >= hostlen) {
		r = -ENAMETOOLONG;
		goto out;
	}
	n = snprintf(path, pathlen, "%s", p.path && *p.path ? p.path : "/");
	if (n < 0 || (size_t)n >= pathlen)
		r = -ENAMETOOLONG;
out:
	url_parts_free(&p);
	return r;
}

int http_urlencode(struct secbuf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	int r;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char enc[3];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		    c == '.' || c == '~') {
			if ((r = secbuf_append(b, s, 1)) < 0)
				return r;
			continue;
		}
		enc[0] = '%';
		enc[1] = hex[c >> 4];
		enc[2] = hex[c & 15];
		if ((r = secbuf_append(b, enc, 3)) < 0)
			return r;
	}
	return 0;
}

struct sink {
	struct http_resp *resp;
	const char *error_header; /* or NULL */
	bool too_big;
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t len = size * n;

	if (s->resp->body.len + len > HTTP_MAX_BODY) {
		s->too_big = true;
		return 0;
	}
	if (secbuf_append(&s->resp->body, p, len) < 0)
		return 0;
	return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t len = size * n;
	const char *name = s->error_header;
	size_t nl = name ? strlen(name) : 0;

	if (nl && len > nl + 1 && strncasecmp(p, name, nl) == 0 &&
	    p[nl] == ':') {
		nl++;
		const char *v = p + nl;
		size_t vl = len - nl, i = 0;

		while (vl && (*v == ' ' || *v == '\t'))
			v++, vl--;
		/* "UnauthorizedException:http://..." keeps the type only */
		while (i < vl && i + 1 < sizeof(s->resp->error_type) &&
		       v[i] != ':' && v[i] != '\r' && v[i] != '\n' &&
		       (unsigned char)v[i] >= 0x20) {
			s->resp->error_type[i] = v[i];
			i++;
		}
		s->resp->error_type[i] = 0;
	}
	return len;
}

/* A header whose name says it may carry a credential (Authorization,
 * Cookie, X-Amz-Security-Token, X-Vault-Token, X-Api-Key, ...). */
static bool header_is_secret(const char *line, size_t len)
{
	static const char *const words[] = {
	    "authorization", "cookie", "token", "secret",
	    "password",	     "key",    NULL};
	const char *colon = memchr(line, ':', len);
	size_t nl = colon ? (size_t)(colon - line) : 0;

	for (size_t w = 0; words[w]; w++) {
		size_t wl = strlen(words[w]);
		for (size_t off = 0; off + wl <= nl; off++)
			if (strncasecmp(line + off, words[w], wl) == 0)
				return true;
	}
	return false;
}

static bool debug_enabled(void)
{
	const char *v = getenv("CREDFS_DEBUG_HTTP");

	return v && strcmp(v, "1") == 0;
}

/* Prints header lines with credentials redacted, and body sizes only. */
static int on_debug(CURL *h, curl_infotype type, char *data, size_t size,
		    void *arg)
{
	const char *dir = "";
	size_t i = 0;

	switch (type) {
	case CURLINFO_TEXT:
		fprintf(stderr, "credfs-http: * %.*s", (int)size, data);
		return 0;
	case CURLINFO_HEADER_OUT:
		dir = ">";
		break;
	case CURLINFO_HEADER_IN:
		dir = "<";
		break;
	case CURLINFO_DATA_OUT:
	case CURLINFO_DATA_IN:
		fprintf(stderr, "credfs-http: %s body: %zu bytes (redacted)\n",
			type == CURLINFO_DATA_OUT ? ">" : "<", size);
		return 0;
	default:
		return 0;
	}
	while (i < size) {
		size_t j = i;
		bool redact = false;

		while (j < size && data[j] != '\n')
			j++;
		redact = header_is_secret(data + i, j - i);
		if (j > i) {
			size_t ll = j - i;

			if (ll && data[i + ll - 1] == '\r')
				ll--;
			if (redact) {
				const char *colon = memchr(data + i, ':', ll);

				fprintf(stderr,
					"credfs-http: %s %.*s: (redacted)\n",
					dir, (int)(colon - (data + i)),
					data + i);
			} else if (ll) {
				/* A request line's query may carry a signature
				 * or token (presigned URLs): path only. */
				const char *q =
				    type == CURLINFO_HEADER_OUT && i == 0
					? memchr(data, '?', ll)
					: NULL;
				if (q)
					fprintf(stderr,
						"credfs-http: %s %.*s?(query "
						"redacted)\n",
						dir, (int)(q - data), data);
				else
					fprintf(stderr,
						"credfs-http: %s %.*s\n", dir,
						(int)ll, data + i);
			}
		}
		i = j + 1;
	}
	return 0;
}

static void slist_wipe_free(struct curl_slist *l)
{
	struct curl_slist *i;

	for (i = l; i; i = i->next)
		if (i->data)
			sodium_memzero(i->data, strlen(i->data));
	curl_slist_free_all(l);
}

static bool status_retryable(long status)
{
	return status == 429 || (status >= 500 && status <= 599);
}

static bool curl_retryable(CURLcode c)
{
	switch (c) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
		return true;
	default:
		return false;
	}
}

static int curl_errno(CURLcode c)
{
	switch (c) {
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -EHOSTUNREACH;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CACERT_BADFILE:
		return -EPROTO;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

/* Full jitter: a random wait in [base/2, base]. */
static int backoff_ms(int attempt)
{
	int base = 200 << (attempt < 6 ? attempt : 6);

	return base / 2 + (int)randombytes_uniform((uint32_t)base / 2 + 1);
}

static int perform_once(const struct http_req *req, struct curl_slist *hdrs,
			int64_t deadline, struct http_resp *resp, CURLcode *cc,
			char *cerr, bool *too_big)
{
	CURL *h;
	struct sink s = {.resp = resp, .error_header = req->error_header};
	int64_t left = deadline - util_mono_ms();
	int r = 0;

	if (left <= 0) {
		*cc = CURLE_OPERATION_TIMEDOUT;
		return 0;
	}
	h = curl_easy_init();
	if (!h)
		return -ENOMEM;
	curl_easy_setopt(h, CURLOPT_URL, req->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)left);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)(left < 10000 ? left : 10000));
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "credfs/0.1");
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
	/* an env proxy would see bearer tokens in CONNECT-less http; only
	 * loopback uses http, and loopback must not go through a proxy */
	curl_easy_setopt(h, CURLOPT_NOPROXY, "127.0.0.1,localhost,::1");
	if (req->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, req->ca_file);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &s);
	if (strcmp(req->method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS,
				 req->body ? req->body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE,
				 (long)(req->body ? req->body_len : 0));
	} else if (strcmp(req->method, "GET") == 0) {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	} else {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
		/* PUT, PATCH, DELETE: the body goes too. */
		if (req->body) {
			curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
			curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE,
					 (long)req->body_len);
		}
	}
	/* WARNING: never CURLOPT_VERBOSE without on_debug: curl's own trace
	 * prints Authorization and bodies. */
	if (debug_enabled()) {
		curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, on_debug);
		curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
	}
	*cc = curl_easy_perform(h);
	if (*cc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
	*too_big = s.too_big;
	curl_easy_cleanup(h);
	return r;
}

int http_request(const struct http_req *req, struct http_resp *resp,
		 struct error *e)
{
	struct curl_slist *hdrs = NULL;
	const char *what = req->what ? req->what : "request";
	int timeout =
	    req->timeout_ms > 0 ? req->timeout_ms : HTTP_DEFAULT_TIMEOUT_MS;
	int max = req->max_attempts > 0 ? req->max_attempts : 4;
	int64_t deadline = util_mono_ms() + timeout;
	char host[256] = "", path[512];
	size_t i;
	int r, attempt;

	memset(resp, 0, sizeof(*resp));
	if ((r = check_url(req->url, req->imds, e)) < 0)
		return r;
	pthread_once(&http_once, http_global_init);
	if (http_init_rc != CURLE_OK) {
		error_set(e, EIO, "%s: libcurl failed to initialise", what);
		return -EIO;
	}
	if (http_url_parts(req->url, host, sizeof(host), path, sizeof(path)) <
		0 &&
	    !host[0])
		snprintf(host, sizeof(host), "endpoint");
	/* libcurl adds "Expect: 100-continue" to larger POSTs: one more
	 * round trip and a header nobody signed */
	hdrs = curl_slist_append(hdrs, "Expect:");
	for (i = 0; hdrs && req->headers && req->headers[i]; i++)
		hdrs = curl_slist_append(hdrs, req->headers[i]);
	if (!hdrs) {
		r = -ENOMEM;
		goto out;
	}
	for (attempt = 0;; attempt++) {
		CURLcode cc = CURLE_OK;
		char cerr[CURL_ERROR_SIZE] = "";
		bool too_big = false, retry;
		int64_t wait;

		secbuf_wipe(&resp->body);
		resp->status = 0;
		resp->error_type[0] = 0;
		resp->attempts = attempt + 1;
		if ((r = perform_once(req, hdrs, deadline, resp, &cc, cerr,
				      &too_big)) < 0)
			goto out;
		if (too_big) {
			error_set(e, EFBIG,
				  "%s: response from %s larger than %d bytes",
				  what, host, HTTP_MAX_BODY);
			r = -EFBIG;
			goto out;
		}
		if (cc == CURLE_OK) {
			retry = status_retryable(resp->status) ||
				(req->retryable &&
				 req->retryable(resp, req->retryable_arg));
			if (!retry)
				break;
		} else {
			retry = curl_retryable(cc);
		}
		wait = backoff_ms(attempt);
		if (!retry || attempt + 1 >= max ||
		    util_mono_ms() + wait >= deadline) {
			if (cc == CURLE_OK)
				break; /* the caller reports the status */
			/* cerr names host and cause, never headers */
			error_set(e, EIO, "%s: %s: %s", what, host,
				  cerr[0] ? cerr : curl_easy_strerror(cc));
			r = curl_errno(cc);
			goto out;
		}
		usleep((useconds_t)wait * 1000);
	}
	r = 0;
out:
	slist_wipe_free(hdrs);
	if (r < 0)
		http_resp_wipe(resp);
	return r;
}

void http_resp_wipe(struct http_resp *resp)
{
	if (!resp)
		return;
	secbuf_wipe(&resp->body);
	resp->status = 0;
	resp->error_type[0] = 0;
}
