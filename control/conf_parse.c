/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Flume properties-file reader: java.util.Properties.load grammar
 * (LineReader + load0 + loadConvert, followed rule by rule), UTF-8 text,
 * `${env:VAR}` in values, file:line kept for every key. Called by main.c and
 * the tests through sl_conf_parse_file(). Control thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sl_control.h"

/* A growable byte buffer for the logical line being assembled. */
struct conf_buf {
	char *s;
	size_t len, cap;
};

struct conf_lexer {
	const char *file;	/* FILE in messages; owned by the conf */
	const char *p, *end;
	int line;		/* natural line of *p, 1-based */
	struct sl_diag *diag;
};

static bool
conf_is_space(char c)
{
	/* Properties whitespace: not '\r' or '\n', which end lines. */
	return c == ' ' || c == '\t' || c == '\f';
}

static int
conf_buf_put(struct conf_buf *b, const char *s, size_t n)
{
	size_t cap = b->cap ? b->cap : 128;
	char *ns;

	while (b->len + n + 1 > cap)
		cap *= 2;
	if (cap != b->cap) {
		ns = realloc(b->s, cap);
		if (!ns)
			return -ENOMEM;
		b->s = ns;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
	return 0;
}

/* ---- LineReader: natural lines to logical lines ------------------------ */

/* Consume one line terminator (\n, \r or \r\n) if there is one. */
static void
lex_eol(struct conf_lexer *lx)
{
	if (lx->p < lx->end && *lx->p == '\r')
		lx->p++;
	else if (lx->p < lx->end && *lx->p == '\n')
		lx->p++;
	else
		return;
	if (lx->p < lx->end && lx->p[-1] == '\r' && *lx->p == '\n')
		lx->p++;
	lx->line++;
}

static void
lex_skip_space(struct conf_lexer *lx)
{
	while (lx->p < lx->end && conf_is_space(*lx->p))
		lx->p++;
}

static bool
lex_at_eol(const struct conf_lexer *lx)
{
	return lx->p == lx->end || *lx->p == '\r' || *lx->p == '\n';
}

/*
 * Skip blank lines and comment lines, leaving lx->p on the first character
 * of a logical line. A comment line is never continued, even when it ends
 * in a backslash (as in Java). Returns false at the end of the input.
 */
static bool
lex_skip_to_logical_line(struct conf_lexer *lx)
{
	for (;;) {
		lex_skip_space(lx);
		if (lx->p == lx->end)
			return false;
		if (*lx->p == '#' || *lx->p == '!') {
			while (!lex_at_eol(lx))
				lx->p++;
		} else if (!lex_at_eol(lx)) {
			return true;
		}
		lex_eol(lx);
	}
}

/*
 * Read one logical line into @b: natural lines joined where one ends in an
 * odd number of backslashes; that backslash and the line end go, and so
 * does the leading whitespace of the next line. Only the backslashes of the
 * current natural line count: the run before a join is always even.
 * Returns 1 with *@key_line set to where the line started, 0 at the end of
 * the input, or -ENOMEM.
 */
static int
lex_logical_line(struct conf_lexer *lx, struct conf_buf *b, int *key_line)
{
	const char *seg;
	size_t nb_bs;

	b->len = 0;
	if (!lex_skip_to_logical_line(lx))
		return 0;
	*key_line = lx->line;
	for (;;) {
		seg = lx->p;
		while (!lex_at_eol(lx))
			lx->p++;
		for (nb_bs = 0; lx->p - nb_bs > seg &&
		     lx->p[-1 - (ptrdiff_t)nb_bs] == '\\'; nb_bs++)
			;
		if (conf_buf_put(b, seg, (size_t)(lx->p - seg) -
				 (nb_bs & 1)) < 0)
			return -ENOMEM;
		lex_eol(lx);
		/* Java drops a lone trailing backslash at the end of input. */
		if (!(nb_bs & 1) || lx->p == lx->end)
			return 1;
		lex_skip_space(lx);
	}
}

/* ---- load0: key, separator, value -------------------------------------- */

/*
 * The key ends at the first unescaped '=', ':' or whitespace; then
 * whitespace, at most one '=' or ':', and whitespace again separate it
 * from the value. Sets *@key_len and *@val_start.
 */
static void
conf_split(const char *s, size_t len, size_t *key_len, size_t *val_start)
{
	bool backslash = false, has_sep = false;
	size_t i = 0;

	*val_start = len;
	for (; i < len; i++) {
		char c = s[i];

		if (!backslash && (c == '=' || c == ':' || conf_is_space(c))) {
			has_sep = c == '=' || c == ':';
			*val_start = i + 1;
			break;
		}
		backslash = c == '\\' ? !backslash : false;
	}
	*key_len = i;
	for (i = *val_start; i < len; i++) {
		if (!conf_is_space(s[i])) {
			if (has_sep || (s[i] != '=' && s[i] != ':'))
				break;
			has_sep = true;
		}
	}
	*val_start = SL_MIN(i, len);
}

/*
 * Java keeps trailing whitespace in values; Flume users keep losing hours to
 * "memory " not being a channel type, so sluice drops it. Escaped
 * whitespace ("\ ") stays, which is also how to keep a trailing space.
 */
static size_t
conf_trim_value(const char *s, size_t len)
{
	size_t nb_bs;

	while (len > 0 && conf_is_space(s[len - 1])) {
		for (nb_bs = 0; nb_bs < len - 1 &&
		     s[len - 2 - nb_bs] == '\\'; nb_bs++)
			;
		if (nb_bs & 1)
			break;
		len--;
	}
	return len;
}

/* ---- loadConvert: escapes ---------------------------------------------- */

static size_t
utf8_put(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Four hex digits after "\u" at @s (bounded by @end); -1 if malformed. */
static int32_t
hex4(const char *s, const char *end)
{
	int32_t v = 0;
	int i;

	if (end - s < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		char c = s[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/*
 * "\uXXXX" at @s (the backslash): Java's chars are UTF-16, so a high
 * surrogate must be followed by an escaped low one; the pair becomes one
 * code point. Returns the code point and sets *@n to the bytes read, or -1.
 */
static int32_t
conf_unicode_escape(const char *s, const char *end, size_t *n)
{
	int32_t hi = hex4(s + 2, end), lo;

	*n = 6;
	if (hi < 0xd800 || hi > 0xdfff)
		return hi;
	if (hi > 0xdbff || end - s < 12 || s[6] != '\\' || s[7] != 'u')
		return -1;
	lo = hex4(s + 8, end);
	if (lo < 0xdc00 || lo > 0xdfff)
		return -1;
	*n = 12;
	return 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
}

/*
 * Unescape s[0..len) into a new string: \t \n \r \f, \uXXXX as UTF-8, and
 * any other "\x" is x. Escapes never grow the text, so len + 1 is enough.
 * NULL with *@why set on a bad \u escape, or on ENOMEM.
 */
static char *
conf_unescape(const char *s, size_t len, const char **why)
{
	const char *end = s + len;
	char *out = malloc(len + 1), *o = out;
	int32_t cp;
	size_t n;

	*why = "out of memory";
	if (!out)
		return NULL;
	while (s < end) {
		if (*s != '\\' || s + 1 == end) {
			*o++ = *s++;
			continue;
		}
		switch (s[1]) {
		case 't': *o++ = '\t'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 'f': *o++ = '\f'; break;
		case 'u':
			cp = conf_unicode_escape(s, end, &n);
			if (cp <= 0) {
				*why = cp == 0 ? "\\u0000 is not allowed" :
					"malformed \\uXXXX escape";
				free(out);
				return NULL;
			}
			o += utf8_put(o, (uint32_t)cp);
			s += n;
			continue;
		default: *o++ = s[1]; break;
		}
		s += 2;
	}
	*o = '\0';
	return out;
}

/* ---- ${env:VAR} -------------------------------------------------------- */

#define ENV_OPEN	"${env:"

/*
 * Replace every ${env:VAR} in @val (already unescaped, so a value taken
 * from the environment is never unescaped again). Returns the new string
 * (the old one freed) or NULL after one diag line (and @val freed).
 */
static char *
conf_env_subst(struct conf_lexer *lx, int line, char *val)
{
	struct conf_buf b = { 0 };
	const char *s = val, *open, *close, *env;
	char name[256];

	while ((open = strstr(s, ENV_OPEN)) != NULL) {
		close = strchr(open, '}');
		if (!close) {
			sl_diag_add(lx->diag, SL_DIAG_ERROR, lx->file, line,
				    "unterminated ${env:...} in value");
			goto fail;
		}
		snprintf(name, sizeof(name), "%.*s",
			 (int)(close - open - strlen(ENV_OPEN)),
			 open + strlen(ENV_OPEN));
		env = name[0] ? getenv(name) : NULL;
		if (!env) {
			sl_diag_add(lx->diag, SL_DIAG_ERROR, lx->file, line,
				    "environment variable %s is not set",
				    name[0] ? name : "(empty name)");
			goto fail;
		}
		if (conf_buf_put(&b, s, (size_t)(open - s)) < 0 ||
		    conf_buf_put(&b, env, strlen(env)) < 0)
			goto nomem;
		s = close + 1;
	}
	if (s == val)
		return val;	/* nothing to substitute */
	if (conf_buf_put(&b, s, strlen(s)) < 0)
		goto nomem;
	free(val);
	return b.s;
nomem:
	sl_diag_add(lx->diag, SL_DIAG_ERROR, lx->file, line, "out of memory");
fail:
	free(b.s);
	free(val);
	return NULL;
}

/* ---- the conf ---------------------------------------------------------- */

static const char *
conf_add_file(struct sl_conf *conf, const char *name)
{
	char **files = realloc(conf->files,
			       (conf->nb_files + 1) * sizeof(*files));
	char *copy;

	if (!files)
		return NULL;
	conf->files = files;
	copy = strdup(name);
	if (!copy)
		return NULL;
	conf->files[conf->nb_files++] = copy;
	return copy;
}

/*
 * Store a pair. A key seen before is overridden as Hashtable.put does; the
 * old entry goes and the new one is appended, so v stays in file order and
 * the new file:line is what messages cite. Takes @key and @val.
 */
static int
conf_put(struct sl_conf *conf, char *key, char *val, const char *file,
	 int line)
{
	struct sl_prop *v;
	size_t i;

	for (i = 0; i < conf->n; i++) {
		if (strcmp(conf->v[i].key, key) != 0)
			continue;
		free(conf->v[i].key);
		free(conf->v[i].val);
		memmove(&conf->v[i], &conf->v[i + 1],
			(conf->n - i - 1) * sizeof(*v));
		conf->n--;
		break;
	}
	if (conf->n == conf->cap) {
		size_t cap = conf->cap ? conf->cap * 2 : 64;

		v = realloc(conf->v, cap * sizeof(*v));
		if (!v) {
			free(key);
			free(val);
			return -ENOMEM;
		}
		conf->v = v;
		conf->cap = cap;
	}
	conf->v[conf->n++] = (struct sl_prop){
		.key = key, .val = val, .file = file, .line = line,
	};
	return 0;
}

/* One logical line: split, trim, unescape, substitute, store. */
static int
conf_parse_line(struct sl_conf *conf, struct conf_lexer *lx, const char *s,
		size_t len, int line)
{
	size_t key_len, val_start, val_len;
	const char *why;
	char *key, *val;

	if (memchr(s, '\0', len)) {
		sl_diag_add(lx->diag, SL_DIAG_ERROR, lx->file, line,
			    "NUL byte in line (not a text file?)");
		return 0;
	}
	conf_split(s, len, &key_len, &val_start);
	val_len = conf_trim_value(s + val_start, len - val_start);
	key = conf_unescape(s, key_len, &why);
	val = key ? conf_unescape(s + val_start, val_len, &why) : NULL;
	if (val)
		val = conf_env_subst(lx, line, val);
	else
		sl_diag_add(lx->diag, SL_DIAG_ERROR, lx->file, line, "%s",
			    why);
	if (!val) {
		free(key);
		return 0;
	}
	if (key[0] == '\0') {
		sl_diag_add(lx->diag, SL_DIAG_WARN, lx->file, line,
			    "line has no key (ignored)");
		free(key);
		free(val);
		return 0;
	}
	return conf_put(conf, key, val, lx->file, line);
}

int
sl_conf_parse_string(struct sl_conf *conf, const char *name,
		     const char *text, size_t len, struct sl_diag *diag)
{
	struct conf_lexer lx = {
		.p = text, .end = text + len, .line = 1, .diag = diag,
	};
	struct conf_buf b = { 0 };
	int key_line = 0, rc;

	lx.file = conf_add_file(conf, name);
	if (!lx.file)
		goto nomem;
	/* A UTF-8 byte order mark (Windows editors) is not part of a key. */
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		lx.p += 3;
	while ((rc = lex_logical_line(&lx, &b, &key_line)) > 0)
		if (conf_parse_line(conf, &lx, b.s, b.len, key_line) < 0)
			goto nomem;
	free(b.s);
	if (rc < 0)
		goto nomem;
	return 0;
nomem:
	free(b.s);
	sl_diag_add(diag, SL_DIAG_ERROR, name, 0, "out of memory");
	return -ENOMEM;
}

/* The whole file in memory: configs are small and this keeps one lexer. */
static int
conf_read_file(const char *path, char **text, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = NULL, *nb;
	ssize_t got;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	for (;;) {
		if (!buf || n == cap) {
			cap = buf ? cap * 2 : cap;
			nb = realloc(buf, cap);
			if (!nb) {
				rc = -ENOMEM;
				break;
			}
			buf = nb;
		}
		got = read(fd, buf + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			rc = got < 0 ? -errno : 0;
			break;
		}
		n += (size_t)got;
	}
	close(fd);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	*text = buf;
	*len = n;
	return 0;
}

int
sl_conf_parse_file(struct sl_conf *conf, const char *path,
		   struct sl_diag *diag)
{
	char *text = NULL;
	size_t len = 0;
	int rc = conf_read_file(path, &text, &len);

	if (rc < 0) {
		sl_diag_add(diag, SL_DIAG_ERROR, path, 0, "cannot read: %s",
			    strerror(-rc));
		return rc;
	}
	rc = sl_conf_parse_string(conf, path, text, len, diag);
	free(text);
	return rc;
}

void
sl_conf_free(struct sl_conf *conf)
{
	size_t i;

	for (i = 0; i < conf->n; i++) {
		free(conf->v[i].key);
		free(conf->v[i].val);
	}
	free(conf->v);
	for (i = 0; i < conf->nb_files; i++)
		free(conf->files[i]);
	free(conf->files);
	memset(conf, 0, sizeof(*conf));
}
