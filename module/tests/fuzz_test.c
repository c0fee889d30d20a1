// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit fuzzers for the message encoder (encode.c), checked against a
 * decoder written here.
 *
 * ksmtp-fuzz-headers: recipient lists that must be refused (control octets
 * anywhere, "\r\nBcc:..." after a comma, angle brackets, more than 16
 * addresses, more than 1000 octets); then random senders, recipient lists
 * and subjects (any octet 0x01-0xff, UTF-8 edge cases, runs of white space,
 * "=?" and "?=", long words; 0 to 2048 octets, biased to the edges) through
 * the checks and ksmtp_headers_build(). The block must end with CR LF CR LF,
 * have only CR LF line breaks, lines of at most 998 octets, continuation
 * lines starting with white space and none of white space only; unfolded,
 * From gives back the sender, To the recipients in order, and Subject,
 * RFC 2047 decoded (white space between adjacent encoded words dropped,
 * RFC 2047 6.2), exactly the subject's octets.
 *
 * ksmtp-fuzz-headers also fuzzes a caller's header section (sendmail's):
 * random lines of fields, continuations, bare CR and LF, empty lines,
 * controls, 8-bit octets and lines near 998 octets through
 * ksmtp_check_headers(), whose verdict and flags must be those of a
 * checker written here; each section it accepts goes through
 * ksmtp_headers_merge() (a random display name, encoding, time and id),
 * whose block must be the caller's lines, each ended by CR LF, then the
 * missing Date, From and Message-ID (and the MIME headers when none were
 * given and the body is not 7bit), each once, then CR LF, every line at
 * most 998 octets.
 *
 * ksmtp-fuzz-body: random bodies through ksmtp_body_scan() (8BITMIME offered
 * and not), the streaming encoder (random chunk sizes, with and without a
 * header block) and ksmtp_enc_size(). The contract, from encode.c:
 *
 * - each CR LF, bare CR and bare LF of the body is one line break, sent as
 *   CR LF ("\r\r\n" and "\n\r" are two line breaks each);
 * - a body whose last octet is not CR or LF gets a CR LF after it; a body
 *   ending with a lone CR gets nothing more (that CR is its last line
 *   break); an empty body sends no line: the header block, then ".\r\n";
 * - a line starting with "." gets one more (RFC 5321 4.5.2), and the mail
 *   ends with ".\r\n" at the start of a line;
 * - 7bit and 8bit send the octets as they are; quoted-printable sends "=",
 *   controls but TAB, 0x7f-0xff, and a space or TAB at the end of a line as
 *   "=XX" (upper case), and breaks lines with "=" CR LF (RFC 2045 6.7);
 * - no line longer than 998 octets, 76 for quoted-printable ("=" included),
 *   the dot added by dot-stuffing not counted (RFC 5321 4.5.3.1.6);
 * - 7bit only for bodies of 7-bit octets with no NUL and no line over 998
 *   octets; 8bit only when the server offers 8BITMIME, with no NUL and no
 *   line over 998 octets; anything else quoted-printable;
 * - ksmtp_enc_size() is the octets produced less the dots added by
 *   dot-stuffing and the 3 octets of the final ".\r\n"; so is the size
 *   ksmtp_body_scan() gives for a 7bit or 8bit body, plus the header block.
 *
 * encode.c finds runs of ordinary octets a word at a time; each body is
 * also checked against references here that walk every octet: the scan's
 * encoding and size (fz_ref_scan()), and a 7bit or 8bit message byte for
 * byte (fz_ref_wire()). Bodies start at every alignment, and one alphabet
 * holds the octets at the edges of the word test (0x00-0x0f, 0x7e-0x81,
 * 0xfe, 0xff).
 *
 * Reproducible: iteration I of a case draws from its own PRNG stream, made
 * from the seed, the case and I. The seed is printed; ksmtp.fuzz_seed=N on
 * the kernel command line (kunit.py --kernel_args) changes it. The first
 * failure of each kind prints the seed, the iteration, what failed and the
 * input as a hex dump (bounded); the case goes on, and ends with a count of
 * failures by kind. A kernel report (KASAN, WARN) ends the case at once.
 */
#include <kunit/test.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/moduleparam.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "../encode.h"

static unsigned long fuzz_seed = 0x6b736d74705a0001UL;
module_param(fuzz_seed, ulong, 0444);
MODULE_PARM_DESC(fuzz_seed, "seed of the ksmtp-fuzz KUnit suites");

#define FZ_REFUSE_ITERS		100000
#define FZ_RCPT_ITERS		40000
#define FZ_SUBJECT_ITERS	60000
#define FZ_BODY_ITERS		1000000
#define FZ_BODY_LONG_ITERS	8000
#define FZ_RAW_ITERS		40000

/* One PRNG stream per case. */
enum {
	FZ_S_REFUSE = 1,
	FZ_S_RCPT,
	FZ_S_SUBJECT_ASCII,
	FZ_S_SUBJECT,
	FZ_S_BODY,
	FZ_S_BODY_LONG,
	FZ_S_RAW,
};

/* splitmix64 */
struct fz_rng {
	u64 s;
};

static u64 fz_next(struct fz_rng *r)
{
	u64 z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void fz_seed(struct fz_rng *r, unsigned int stream, u32 iter)
{
	r->s = fuzz_seed ^ ((u64)stream << 56) ^
	       ((u64)iter * 0xd1b54a32d192ed03ULL);
	fz_next(r);
}

/* Uniform in [0, n) */
static u32 fz_below(struct fz_rng *r, u32 n)
{
	return ((u64)(u32)fz_next(r) * n) >> 32;
}

/* Uniform in [lo, hi] */
static u32 fz_range(struct fz_rng *r, u32 lo, u32 hi)
{
	return lo + fz_below(r, hi - lo + 1);
}

static bool fz_pct(struct fz_rng *r, u32 pct)
{
	return fz_below(r, 100) < pct;
}

/* Reports: hex dumps, bounded. */
#define FZ_DUMP_HEAD	384
#define FZ_DUMP_TAIL	128
#define FZ_WINDOW	160

static void fz_rows(struct kunit *test, const u8 *p, size_t from, size_t to)
{
	size_t n;

	for (; from < to; from += n) {
		n = min_t(size_t, 32, to - from);
		kunit_err(test, "  %05zx: %*ph\n", from, (int)n, p + from);
	}
}

static void fz_dump(struct kunit *test, const char *what, const void *buf,
		    size_t len)
{
	kunit_err(test, "%s, %zu octets:\n", what, len);
	if (len <= FZ_DUMP_HEAD + FZ_DUMP_TAIL) {
		fz_rows(test, buf, 0, len);
		return;
	}
	fz_rows(test, buf, 0, FZ_DUMP_HEAD);
	kunit_err(test, "  ...\n");
	fz_rows(test, buf, len - FZ_DUMP_TAIL, len);
}

static void fz_dump_at(struct kunit *test, const char *what, const void *buf,
		       size_t len, size_t at)
{
	size_t from = at > FZ_WINDOW ? (at - FZ_WINDOW) & ~(size_t)31 : 0;

	kunit_err(test, "%s, %zu octets, around offset %zu:\n", what, len, at);
	fz_rows(test, buf, from, min_t(size_t, len, at + FZ_WINDOW));
}

static void fz_failed(struct kunit *test, u32 iter, const char *why)
{
	KUNIT_FAIL(test, "seed %#lx iteration %u: %s", fuzz_seed, iter, why);
}

/*
 * Failures are counted by what failed; the first input of each is reported
 * (up to FZ_REASONS of them) and the case goes on, so that one run shows
 * every defect. A kernel report ends the case: memory may be corrupt.
 */
#define FZ_REASONS	8

struct fz_fails {
	const char *why[FZ_REASONS];
	unsigned long n[FZ_REASONS];
	unsigned long total;
};

/* Counts a failure; true when it is the first of its kind. */
static bool fz_fail_new(struct fz_fails *f, const char *why)
{
	unsigned int i;

	f->total++;
	for (i = 0; i < FZ_REASONS && f->why[i]; i++) {
		if (f->why[i] == why) {
			f->n[i]++;
			return false;
		}
	}
	if (i == FZ_REASONS)
		return false;
	f->why[i] = why;
	f->n[i] = 1;
	return true;
}

static void fz_fail_summary(struct kunit *test, struct fz_fails *f,
			    u32 iters)
{
	unsigned long listed = 0;
	unsigned int i;

	for (i = 0; i < FZ_REASONS && f->why[i]; i++) {
		kunit_err(test, "%lu of %u failed: %s\n", f->n[i], iters,
			  f->why[i]);
		listed += f->n[i];
	}
	if (f->total > listed)
		kunit_err(test, "%lu more failures\n", f->total - listed);
}

/*
 * KASAN (without CONFIG_KASAN_KUNIT_TEST) and WARN do not fail a test in
 * 6.1, but they taint the kernel: a taint that appears is a kernel report.
 */
static unsigned long fz_taint;

static void fz_start(struct kunit *test, u32 iters)
{
	fz_taint = get_taint();
	kunit_info(test, "seed %#lx (ksmtp.fuzz_seed=N to change), %u iterations\n",
		   fuzz_seed, iters);
}

static bool fz_kernel_report(void)
{
	return get_taint() != fz_taint;
}

static bool fz_is_wsp(u8 c)
{
	return c == ' ' || c == '\t';
}

/* Appending to a bounded buffer */
static void fz_put(u8 *s, size_t *n, size_t max, u8 c)
{
	if (*n < max)
		s[(*n)++] = c;
}

static void fz_puts(u8 *s, size_t *n, size_t max, const char *p)
{
	while (*p)
		fz_put(s, n, max, *p++);
}

static void fz_insert(u8 *s, size_t *len, size_t cap, size_t pos,
		      const char *ins)
{
	size_t k = strlen(ins);

	if (*len + k >= cap || pos > *len)
		return;
	memmove(s + pos + k, s + pos, *len - pos);
	memcpy(s + pos, ins, k);
	*len += k;
	s[*len] = '\0';
}

/* Strict UTF-8 (RFC 3629): no overlongs, surrogates, or above U+10FFFF. */
static bool fz_utf8_valid(const u8 *s, size_t n)
{
	size_t i = 0, j, k;
	u32 cp;

	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf) {
			k = 1;
			cp = s[i] & 0x1f;
		} else if (s[i] >= 0xe0 && s[i] <= 0xef) {
			k = 2;
			cp = s[i] & 0x0f;
		} else if (s[i] >= 0xf0 && s[i] <= 0xf4) {
			k = 3;
			cp = s[i] & 0x07;
		} else {
			return false;
		}
		if (n - i <= k)
			return false;
		for (j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += k + 1;
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* Addresses and recipient lists */

static const char fz_atext[] =
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.!#$%&'*+-/=?^_`{|}~";
static const char fz_dtext[] = "abcdefghijklmnopqrstuvwxyz0123456789.-";

/*
 * A local@domain of @len octets (at least 3) at @a, NUL-terminated: mostly
 * valid, some with a 65-octet local part, a few with one random octet.
 */
static void fz_addr(struct fz_rng *r, u8 *a, size_t len)
{
	bool utf8 = fz_pct(r, 15);
	size_t local, i;

	len = max_t(size_t, len, 3);
	if (fz_pct(r, 30))
		local = 64;
	else if (fz_pct(r, 20))
		local = 1;
	else if (fz_pct(r, 3))
		local = 65;
	else
		local = fz_range(r, 1, 20);
	local = min(local, len - 2);
	for (i = 0; i < len; i++) {
		if (i == local) {
			a[i] = '@';
		} else if (utf8 && i + 1 < len && i + 1 != local &&
			   fz_pct(r, 10)) {
			a[i++] = 0xc3;
			a[i] = 0xa9;
		} else if (i < local) {
			a[i] = fz_atext[fz_below(r, sizeof(fz_atext) - 1)];
		} else {
			a[i] = fz_dtext[fz_below(r, sizeof(fz_dtext) - 1)];
		}
	}
	a[len] = '\0';
	if (fz_pct(r, 4))
		a[fz_below(r, len)] = fz_range(r, 1, 255);
}

static size_t fz_addr_len(struct fz_rng *r)
{
	switch (fz_below(r, 6)) {
	case 0:
		return KSMTP_ADDR_MAX;
	case 1:
		return fz_range(r, 3, 8);
	case 2:
		return fz_range(r, KSMTP_ADDR_MAX - 8, KSMTP_ADDR_MAX + 1);
	default:
		return fz_range(r, 3, 60);
	}
}

static const char * const fz_seps[] = {
	",", ", ", " ,", " , ", ",  ", ",   ",
};

/*
 * @n addresses, about @target octets in all, separated by a comma and
 * spaces, maybe spaces before and after, at @l (@cap octets).
 */
static size_t fz_list(struct fz_rng *r, u8 *l, size_t cap, unsigned int n,
		      size_t target)
{
	const char *sep = fz_seps[fz_below(r, ARRAY_SIZE(fz_seps))];
	size_t lead = fz_pct(r, 10) ? fz_range(r, 1, 3) : 0;
	size_t trail = fz_pct(r, 10) ? fz_range(r, 1, 3) : 0;
	size_t len = 0, fixed, each, rem, alen;
	unsigned int i;

	fixed = lead + trail + (n - 1) * strlen(sep);
	each = target > fixed + 3 * n ? (target - fixed) / n : 3;
	rem = target > fixed + 3 * n ? (target - fixed) % n : 0;
	while (lead--)
		l[len++] = ' ';
	for (i = 0; i < n; i++) {
		alen = clamp_t(size_t, each + (i < rem), 3, KSMTP_ADDR_MAX);
		if (len + alen + strlen(sep) + trail + 1 >= cap)
			break;
		if (i) {
			memcpy(l + len, sep, strlen(sep));
			len += strlen(sep);
		}
		fz_addr(r, l + len, alen);
		len += alen;
	}
	while (trail--)
		l[len++] = ' ';
	l[len] = '\0';
	return len;
}

/* What ksmtp_check_address() must refuse, independently. */
static bool fz_addr_ok(const u8 *a, size_t len)
{
	size_t i, at = len;

	if (!len || len > KSMTP_ADDR_MAX)
		return false;
	for (i = 0; i < len; i++) {
		if (a[i] <= ' ' || a[i] == 0x7f || a[i] == '<' || a[i] == '>')
			return false;
		if (a[i] == '@')
			at = i;
	}
	return at && at < len - 1 && at <= KSMTP_LOCAL_MAX;
}

static bool fz_has8(const u8 *s, size_t len)
{
	while (len--)
		if (*s++ & 0x80)
			return true;
	return false;
}

/* Items of a recipient list: split at commas, spaces around trimmed. */
static const u8 *fz_item(const u8 *p, const u8 *end, const u8 **item,
			 size_t *len)
{
	const u8 *e = memchr(p, ',', end - p) ?: end;
	const u8 *s = p;

	while (s < e && fz_is_wsp(*s))
		s++;
	*item = s;
	*len = e - s;
	while (*len && fz_is_wsp(s[*len - 1]))
		(*len)--;
	return e;
}

/* An accepted list: what must hold, checked independently. */
static const char *fz_list_ok(const u8 *l, bool utf8)
{
	size_t len = strlen((const char *)l), ilen, i;
	const u8 *p = l, *end = l + len, *item;
	unsigned int n = 0;

	if (len > KSMTP_RCPT_LIST_MAX)
		return "accepted a list longer than 1000 octets";
	for (i = 0; i < len; i++) {
		if (l[i] < ' ' || l[i] == 0x7f)
			return "accepted a list holding a control octet";
		if (l[i] == '<' || l[i] == '>')
			return "accepted a list holding an angle bracket";
	}
	for (;;) {
		p = fz_item(p, end, &item, &ilen);
		if (!fz_addr_ok(item, ilen))
			return "accepted a list holding an invalid address";
		if (++n > KSMTP_RCPT_MAX)
			return "accepted a list of more than 16 addresses";
		if (p == end)
			break;
		p++;
	}
	if (utf8 != fz_has8(l, len))
		return "the utf8 flag of ksmtp_check_rcpt_list() is wrong";
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Recipient lists that must be refused */

#define FZ_LIST_CAP	(KSMTP_RCPT_LIST_MAX + 512)

static const char * const fz_inject[] = {
	"\r\nReply-To: x@evil.example",
	"\r\nBcc:x@evil.example",
	"\r\nBcc: x@evil.example",
	"\nBcc:x@evil.example",
	"\rBcc:x@evil.example",
	"\r\n x@evil.example",
	"\r\n\tx@evil.example",
	"\r\n\r\nx@evil.example",
	" \r\nBcc:x@evil.example",
};

/* The known ways in, first */
static const char * const fz_refuse_fixed[] = {
	"a@b.c,\r\nReply-To: x@evil.example", "a@b.c,\r\nBcc:x@evil.example",
	"a@b.c, \r\nBcc:x@evil.example", "a@b.c,\nBcc:x@evil.example",
	"\r\nBcc:x@evil.example", "a@b.c,\tx@evil.example",
	"a@b.c,\vx@evil.example", "a@b.c,\fx@evil.example", "a@b.c\r\n",
	"a@b.c, <x@evil.example>", "a@b.c,\x01x@evil.example",
	"a@b.c,\x7fx@evil.example",
};

static const char * const fz_refuse_kind[] = {
	"accepted: a control octet", "accepted: a header injection",
	"accepted: an angle bracket", "accepted: more than 16 addresses",
	"accepted: more than 1000 octets",
};

/* Where to insert: right after a comma (and its spaces) mostly. */
static size_t fz_pos(struct fz_rng *r, const u8 *l, size_t len)
{
	size_t i, commas = 0, k;

	for (i = 0; i < len; i++)
		commas += l[i] == ',';
	switch (fz_below(r, 10)) {
	case 0:
		return 0;
	case 1:
		return len;
	case 2:
	case 3:
		return fz_below(r, len + 1);
	}
	if (!commas)
		return fz_pct(r, 50) ? len : fz_below(r, len + 1);
	k = fz_below(r, commas);
	for (i = 0; i < len; i++)
		if (l[i] == ',' && !k--)
			break;
	if (fz_pct(r, 15))
		return i;			/* before the comma */
	i++;
	if (fz_pct(r, 50))
		while (i < len && l[i] == ' ')
			i++;
	return i;
}

static void fz_rcpt_refused(struct kunit *test)
{
	u8 *l = kunit_kzalloc(test, FZ_LIST_CAP, GFP_KERNEL);
	struct fz_fails f = {};
	u64 t0 = ktime_get_ns();
	unsigned int kind, n;
	char ins[3] = "";
	struct fz_rng r;
	size_t len, pos;
	bool utf8;
	u32 iter;

	KUNIT_ASSERT_NOT_NULL(test, l);
	fz_start(test, FZ_REFUSE_ITERS);
	for (iter = 0; iter < ARRAY_SIZE(fz_refuse_fixed); iter++) {
		if (!ksmtp_check_rcpt_list(fz_refuse_fixed[iter], &utf8)) {
			KUNIT_FAIL(test, "ksmtp_check_rcpt_list() accepted a list it must refuse");
			fz_dump(test, "list", fz_refuse_fixed[iter],
				strlen(fz_refuse_fixed[iter]));
		}
	}
	for (iter = 0; iter < FZ_REFUSE_ITERS; iter++) {
		fz_seed(&r, FZ_S_REFUSE, iter);
		kind = fz_below(&r, ARRAY_SIZE(fz_refuse_kind));
		n = fz_range(&r, 1, KSMTP_RCPT_MAX);
		len = fz_list(&r, l, FZ_LIST_CAP, n, fz_range(&r, 3 * n, 900));
		switch (kind) {
		case 0:
			ins[0] = fz_pct(&r, 10) ? 0x7f : fz_range(&r, 1, 0x1f);
			ins[1] = fz_pct(&r, 20) ? '\n' : '\0';
			fz_insert(l, &len, FZ_LIST_CAP, fz_pos(&r, l, len), ins);
			break;
		case 1:
			pos = fz_pos(&r, l, len);
			if (!memchr(l, ',', len) && pos) {
				fz_insert(l, &len, FZ_LIST_CAP, len, ",");
				pos = len;
			}
			fz_insert(l, &len, FZ_LIST_CAP, pos,
				  fz_inject[fz_below(&r, ARRAY_SIZE(fz_inject))]);
			break;
		case 2:
			fz_insert(l, &len, FZ_LIST_CAP, fz_pos(&r, l, len),
				  fz_pct(&r, 50) ? "<" : ">");
			break;
		case 3:
			n = fz_range(&r, KSMTP_RCPT_MAX + 1, 40);
			len = fz_list(&r, l, FZ_LIST_CAP, n,
				      fz_range(&r, 3 * n, 24 * n));
			break;
		default:
			len = fz_list(&r, l, FZ_LIST_CAP, n,
				      fz_pct(&r, 30) ? KSMTP_RCPT_LIST_MAX + 1 :
				      fz_range(&r, KSMTP_RCPT_LIST_MAX + 1,
					       KSMTP_RCPT_LIST_MAX + 300));
			while (len <= KSMTP_RCPT_LIST_MAX)
				l[len++] = ' ';
			l[len] = '\0';
			break;
		}
		if (!ksmtp_check_rcpt_list((const char *)l, &utf8) &&
		    fz_fail_new(&f, fz_refuse_kind[kind])) {
			fz_failed(test, iter,
				  "ksmtp_check_rcpt_list() accepted a list it must refuse");
			kunit_err(test, "%s\n", fz_refuse_kind[kind]);
			fz_dump(test, "list", l, len);
		}
		if (!(iter % 1024))
			cond_resched();
	}
	kunit_info(test, "%u lists in %llu ms\n", FZ_REFUSE_ITERS,
		   div_u64(ktime_get_ns() - t0, NSEC_PER_MSEC));
	fz_fail_summary(test, &f, FZ_REFUSE_ITERS);
}

/* ------------------------------------------------------------------ */
/* Subjects */

#define FZ_SUBJ_CAP	(KSMTP_SUBJECT_MAX + 128)

enum fz_piece {
	FZ_P_OCTET,	/* any octet but NUL, CR and LF */
	FZ_P_WORD,	/* a short word of printable ASCII */
	FZ_P_LONGWORD,	/* 60 to 1200 octets of printable ASCII */
	FZ_P_WSP,	/* a run of spaces and tabs, sometimes long */
	FZ_P_UTF8,	/* a valid 2, 3 or 4 octet sequence */
	FZ_P_TRUNC,	/* a valid sequence cut short */
	FZ_P_CONT,	/* lone continuation octets, sometimes long runs */
	FZ_P_BADSEQ,	/* overlongs, surrogates, above U+10FFFF */
	FZ_P_HIGH,	/* 0xf8 to 0xff */
	FZ_P_EW,	/* "=?", "?=", encoded word look-alikes */
	FZ_P_CTRL,	/* control octets but CR and LF */
	FZ_P_NR,
};

static const char * const fz_bad_utf8[] = {
	"\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xe0\x9f\xbf",
	"\xf0\x80\x80\x80", "\xf0\x8f\xbf\xbf", "\xed\xa0\x80", "\xed\xbf\xbf",
	"\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xf7\xbf\xbf\xbf",
	"\xc2", "\xe2\x82", "\xf0\x9f\x98", "\xe2\x82\xe2\x82\xac",
};

static const char * const fz_ew_bits[] = {
	"=?", "?=", "=?=", "?=?", "=?UTF-8?B?", "=?UTF-8?Q?", "=?utf-8?q?a_b?=",
	"=?UTF-8?B?w6k=?=", "=?ISO-8859-1?Q?=E9?=", "=?UTF-8?Q??=", "_", "=",
	"?", "=3D", "?= =?", "=?UTF-8?B?QQ==?= =?UTF-8?B?QQ==?=", "=?x?=",
};

static const u32 fz_cp_edges[] = {
	0x80, 0xff, 0x7ff, 0x800, 0xfff, 0xd7ff, 0xe000, 0xfeff, 0xfffd,
	0xffff, 0x10000, 0x1f600, 0x10ffff,
};

static size_t fz_utf8_enc(u32 cp, u8 *o)
{
	if (cp < 0x800) {
		o[0] = 0xc0 | cp >> 6;
		o[1] = 0x80 | (cp & 0x3f);
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = 0xe0 | cp >> 12;
		o[1] = 0x80 | ((cp >> 6) & 0x3f);
		o[2] = 0x80 | (cp & 0x3f);
		return 3;
	}
	o[0] = 0xf0 | cp >> 18;
	o[1] = 0x80 | ((cp >> 12) & 0x3f);
	o[2] = 0x80 | ((cp >> 6) & 0x3f);
	o[3] = 0x80 | (cp & 0x3f);
	return 4;
}

static size_t fz_utf8_char(struct fz_rng *r, u8 *o)
{
	u32 cp;

	if (fz_pct(r, 25))
		return fz_utf8_enc(fz_cp_edges[fz_below(r, ARRAY_SIZE(fz_cp_edges))], o);
	switch (fz_below(r, 3)) {
	case 0:
		cp = fz_range(r, 0x80, 0x7ff);
		break;
	case 1:
		do
			cp = fz_range(r, 0x800, 0xffff);
		while (cp >= 0xd800 && cp <= 0xdfff);
		break;
	default:
		cp = fz_range(r, 0x10000, 0x10ffff);
		break;
	}
	return fz_utf8_enc(cp, o);
}

static u8 fz_print(struct fz_rng *r)
{
	return fz_range(r, 0x21, 0x7e);
}

static void fz_piece(struct fz_rng *r, u8 *s, size_t *n, size_t max,
		     unsigned int kind)
{
	size_t k, i;
	u8 seq[4], c;

	switch (kind) {
	case FZ_P_OCTET:
		do
			c = fz_range(r, 1, 255);
		while (c == '\r' || c == '\n');
		fz_put(s, n, max, c);
		break;
	case FZ_P_WORD:
		for (k = fz_range(r, 1, 12); k; k--)
			fz_put(s, n, max, fz_print(r));
		break;
	case FZ_P_LONGWORD:
		k = fz_pct(r, 50) ? fz_range(r, 60, 1200) : fz_range(r, 395, 405);
		while (k--)
			fz_put(s, n, max, fz_pct(r, 90) ? 'a' + fz_below(r, 26) :
			       fz_print(r));
		break;
	case FZ_P_WSP:
		k = fz_pct(r, 80) ? fz_range(r, 1, 4) :
		    fz_range(r, 50, KSMTP_SUBJECT_MAX);
		c = fz_below(r, 3);
		while (k--)
			fz_put(s, n, max, c == 0 || (c == 2 && fz_pct(r, 50)) ?
			       ' ' : '\t');
		break;
	case FZ_P_UTF8:
		k = fz_utf8_char(r, seq);
		for (i = 0; i < k; i++)
			fz_put(s, n, max, seq[i]);
		break;
	case FZ_P_TRUNC:
		k = fz_utf8_char(r, seq);
		for (i = 0, k = fz_range(r, 1, k - 1); i < k; i++)
			fz_put(s, n, max, seq[i]);
		break;
	case FZ_P_CONT:
		k = fz_pct(r, 70) ? fz_range(r, 1, 3) :
		    fz_range(r, 40, KSMTP_SUBJECT_MAX);
		c = fz_pct(r, 50);
		while (k--)
			fz_put(s, n, max, c ? 0x80 : fz_range(r, 0x80, 0xbf));
		break;
	case FZ_P_BADSEQ:
		fz_puts(s, n, max, fz_bad_utf8[fz_below(r, ARRAY_SIZE(fz_bad_utf8))]);
		break;
	case FZ_P_HIGH:
		k = fz_pct(r, 90) ? fz_range(r, 1, 4) : fz_range(r, 40, 400);
		while (k--)
			fz_put(s, n, max, fz_range(r, 0xf8, 0xff));
		break;
	case FZ_P_EW:
		fz_puts(s, n, max, fz_ew_bits[fz_below(r, ARRAY_SIZE(fz_ew_bits))]);
		break;
	default:
		c = fz_pct(r, 10) ? 0x7f : fz_range(r, 1, 0x1f);
		fz_put(s, n, max, c == '\r' || c == '\n' ? 0x1b : c);
		break;
	}
}

static const u16 fz_len_edges[] = {
	0, 1, 2, 3, 41, 42, 43, 44, 45, 46, 47, 48, 69, 70, 75, 76, 77, 78, 79,
	80, 397, 398, 399, 400, 401, 402, 997, 998, 999, 1000, 2000,
	KSMTP_SUBJECT_MAX - 2, KSMTP_SUBJECT_MAX - 1, KSMTP_SUBJECT_MAX,
};

static size_t fz_subject_len(struct fz_rng *r)
{
	switch (fz_below(r, 8)) {
	case 0:
	case 1:
		return fz_len_edges[fz_below(r, ARRAY_SIZE(fz_len_edges))];
	case 2:
	case 3:
		return fz_below(r, 100);
	case 4:
		return fz_range(r, KSMTP_SUBJECT_MAX - 64, KSMTP_SUBJECT_MAX);
	default:
		return fz_below(r, KSMTP_SUBJECT_MAX + 1);
	}
}

static const u8 fz_run_octets[] = {
	0x80, 0x80, ' ', '\t', 'a', 0xff, '=', '?', 0xc3, 0xbf, 0xf8, 0x01,
};

static const u8 fz_ascii_pieces[] = {
	FZ_P_WORD, FZ_P_LONGWORD, FZ_P_WSP, FZ_P_EW,
};

/*
 * A random subject at @s, NUL-terminated; returns its length. @ascii: only
 * printable ASCII, spaces and tabs (what may be sent folded, unencoded).
 */
static size_t fz_subject(struct fz_rng *r, u8 *s, bool ascii)
{
	size_t len = fz_subject_len(r), n = 0;
	unsigned int style = fz_below(r, 100), kind = fz_below(r, FZ_P_NR);
	bool word = fz_pct(r, 50);
	u8 c;

	if (ascii) {
		style = style < 50 ? 50 : style < 80 ? 20 : style < 95 ? 40 : 85;
		kind = fz_ascii_pieces[kind % ARRAY_SIZE(fz_ascii_pieces)];
	}
	if (fz_pct(r, 2))		/* too long: refused */
		len = fz_range(r, KSMTP_SUBJECT_MAX + 1, KSMTP_SUBJECT_MAX + 64);
	while (n < len) {
		if (style < 30) {		/* any piece */
			c = fz_below(r, FZ_P_NR);
			if (ascii)
				c = fz_ascii_pieces[c % ARRAY_SIZE(fz_ascii_pieces)];
			fz_piece(r, s, &n, len, c);
		} else if (style < 45) {	/* one kind of piece */
			fz_piece(r, s, &n, len, kind);
		} else if (style < 65) {	/* plain text */
			fz_piece(r, s, &n, len, word ? FZ_P_WORD : FZ_P_WSP);
			word = !word;
		} else if (style < 80) {	/* mostly plain text */
			kind = fz_below(r, 100);
			fz_piece(r, s, &n, len, kind < 55 ? FZ_P_WORD :
				 kind < 80 ? FZ_P_WSP : kind < 90 ? FZ_P_UTF8 :
				 fz_below(r, FZ_P_NR));
		} else if (style < 92) {	/* one octet repeated */
			do
				c = fz_run_octets[fz_below(r, ARRAY_SIZE(fz_run_octets))];
			while (ascii && (c < ' ' || c >= 0x7f) && c != '\t');
			memset(s, c, len);
			n = len;
		} else {			/* any octet, CR and LF rarely */
			c = fz_range(r, 1, 255);
			if ((c == '\r' || c == '\n') && !fz_pct(r, 2))
				c = ' ';
			s[n++] = c;
		}
	}
	if (len && fz_pct(r, 2))	/* CR or LF: refused */
		s[fz_below(r, len)] = fz_pct(r, 50) ? '\r' : '\n';
	s[len] = '\0';
	return len;
}

/* ------------------------------------------------------------------ */
/* Header blocks */

static const char * const fz_fields[] = {
	"Date", "From", "To", "Subject", "Message-ID", "MIME-Version",
	"Content-Type", "Content-Transfer-Encoding", "X-Priority",
};

enum { FZ_F_DATE, FZ_F_FROM, FZ_F_TO, FZ_F_SUBJECT, FZ_F_MSGID };

#define FZ_NFIELDS	ARRAY_SIZE(fz_fields)
#define FZ_UNF_CAP	(64 * 1024)

struct fz_hdr {
	u8 subject[FZ_SUBJ_CAP];
	u8 from[KSMTP_ADDR_MAX + 64];
	u8 rcpt[FZ_LIST_CAP];
	u8 dec[FZ_SUBJ_CAP];
	u8 *unf;
	size_t slen;
	size_t dlen;
	bool dec_valid;
	size_t fstart[FZ_NFIELDS];
	size_t fend[FZ_NFIELDS];
	/* what was seen */
	unsigned long built;
	unsigned long refused;
	unsigned long encoded;
	unsigned long folded;
	unsigned long ew_lines_over_76;
	struct fz_fails fails;
};

static int fz_field(const char *name, size_t len)
{
	unsigned int i;

	for (i = 0; i < FZ_NFIELDS; i++)
		if (strlen(fz_fields[i]) == len &&
		    !strncasecmp(fz_fields[i], name, len))
			return i;
	return -1;
}

/* Line by line; records where each field starts and ends. */
static const char *fz_block_lines(struct fz_hdr *c, const u8 *h, size_t len,
				  size_t *at)
{
	size_t pos = 0, eol, i;
	const u8 *colon;
	int cur = -1;

	for (i = 0; i < FZ_NFIELDS; i++)
		c->fstart[i] = SIZE_MAX;
	*at = 0;
	if (memchr(h, 0, len))
		return "NUL in the header block";
	*at = len;
	if (len < 4 || memcmp(h + len - 4, "\r\n\r\n", 4))
		return "the header block does not end with CR LF CR LF";
	while (pos < len) {
		for (eol = pos; h[eol] != '\r' && h[eol] != '\n'; eol++) {
			if ((h[eol] < ' ' && h[eol] != '\t') || h[eol] == 0x7f) {
				*at = eol;
				return "control octet in the header block";
			}
		}
		*at = eol;
		if (h[eol] == '\n')
			return "bare LF in the header block";
		if (h[eol + 1] != '\n')
			return "bare CR in the header block";
		*at = pos;
		if (eol - pos > KSMTP_TEXT_LINE_MAX)
			return "header line longer than 998 octets";
		if (eol == pos) {
			if (eol + 2 != len)
				return "empty line inside the header block";
			break;
		}
		if (fz_is_wsp(h[pos])) {
			if (cur < 0)
				return "the header block starts with white space";
			for (i = pos; i < eol && fz_is_wsp(h[i]); i++)
				;
			if (i == eol)
				return "header line of white space only";
			c->fend[cur] = eol;
		} else {
			colon = memchr(h + pos, ':', eol - pos);
			if (!colon)
				return "header line neither a field nor a continuation";
			cur = fz_field((const char *)h + pos, colon - h - pos);
			if (cur < 0)
				return "unknown header field (a continuation without white space?)";
			if (c->fstart[cur] != SIZE_MAX)
				return "header field twice";
			c->fstart[cur] = pos;
			c->fend[cur] = eol;
		}
		pos = eol + 2;
	}
	for (i = FZ_F_DATE; i <= FZ_F_MSGID; i++)
		if (c->fstart[i] == SIZE_MAX)
			return "a header field is missing";
	return NULL;
}

/* The field's value after the colon, unfolded (CR LF before WSP removed). */
static size_t fz_unfold(struct fz_hdr *c, const u8 *h, unsigned int f)
{
	size_t i = c->fstart[f] + strlen(fz_fields[f]) + 1, n = 0;

	for (; i < c->fend[f] && n < FZ_UNF_CAP; i++) {
		if (h[i] == '\r') {
			i++;
			continue;
		}
		c->unf[n++] = h[i];
	}
	return n;
}

static int fz_b64(u8 c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static int fz_hex(u8 c, bool lower)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (lower && c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Base64 (RFC 2045 6.8): padded, nothing else. */
static const char *fz_b64_decode(const u8 *t, size_t n, u8 *out, size_t cap,
				 size_t *olen)
{
	size_t i, o = 0;
	int v[4], j;

	if (n % 4)
		return "base64 text not a multiple of 4 octets";
	for (i = 0; i < n; i += 4) {
		for (j = 0; j < 4; j++) {
			v[j] = fz_b64(t[i + j]);
			if (v[j] >= 0)
				continue;
			if (t[i + j] != '=' || i + 4 != n || j < 2 ||
			    (j == 2 && t[i + 3] != '='))
				return "bad base64";
		}
		if (o + 3 > cap)
			return "decoded subject longer than the subject";
		out[o++] = v[0] << 2 | v[1] >> 4;
		if (v[2] >= 0)
			out[o++] = (v[1] & 0xf) << 4 | v[2] >> 2;
		if (v[3] >= 0)
			out[o++] = (v[2] & 0x3) << 6 | v[3];
	}
	*olen = o;
	return NULL;
}

/* "Q" (RFC 2047 4.2) in unstructured text (5(1)) */
static const char *fz_q_decode(const u8 *t, size_t n, u8 *out, size_t cap,
			       size_t *olen)
{
	size_t i, o = 0;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if (o >= cap)
			return "decoded subject longer than the subject";
		if (t[i] == '_') {
			out[o++] = ' ';
		} else if (t[i] == '=') {
			if (n - i < 3)
				return "bad Q encoding: \"=\" at the end";
			hi = fz_hex(t[i + 1], true);
			lo = fz_hex(t[i + 2], true);
			if (hi < 0 || lo < 0)
				return "bad Q encoding: \"=\" not followed by hex";
			out[o++] = hi << 4 | lo;
			i += 2;
		} else if (t[i] > ' ' && t[i] < 0x7f && t[i] != '?') {
			out[o++] = t[i];
		} else {
			return "bad Q encoding: octet not allowed";
		}
	}
	*olen = o;
	return NULL;
}

static bool fz_has_ew_start(const u8 *w, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i++)
		if (w[i] == '=' && w[i + 1] == '?')
			return true;
	return false;
}

/* "=?UTF-8?B?...?=" or "=?UTF-8?Q?...?=", a whole word (RFC 2047 2, 5) */
static const char *fz_ew_decode(const u8 *w, size_t n, u8 *out, size_t cap,
				size_t *olen)
{
	if (n < 13 || memcmp(w, "=?", 2) || memcmp(w + n - 2, "?=", 2) ||
	    w[9] != '?' || memchr(w + 10, '?', n - 12))
		return "plain word holding \"=?\" (or a malformed encoded word)";
	if (n > 75)
		return "encoded word longer than 75 octets (RFC 2047 2)";
	if (strncasecmp((const char *)w + 2, "UTF-8?", 6))
		return "encoded word not in UTF-8";
	if (w[8] == 'B' || w[8] == 'b')
		return fz_b64_decode(w + 10, n - 12, out, cap, olen);
	if (w[8] == 'Q' || w[8] == 'q')
		return fz_q_decode(w + 10, n - 12, out, cap, olen);
	return "encoded word neither B nor Q";
}

/*
 * The unfolded Subject value (after the colon) to octets: one space after
 * the colon is syntax; encoded words decoded, the white space between two
 * of them dropped, everything else as it is (RFC 2047 6.2).
 */
static const char *fz_subject_decode(struct fz_hdr *c, const u8 *v, size_t n,
				     bool utf8)
{
	size_t i = 0, o = 0, ws, w, k;
	bool prev_ew = false;
	const char *why;

	c->dlen = 0;
	if (n && v[0] == ' ')
		i = 1;
	while (i < n) {
		ws = i;
		while (i < n && fz_is_wsp(v[i]))
			i++;
		w = i;
		while (i < n && !fz_is_wsp(v[i]))
			i++;
		if (w < i && fz_has_ew_start(v + w, i - w)) {
			if (!prev_ew) {
				if (o + w - ws > FZ_SUBJ_CAP)
					return "decoded subject longer than the subject";
				memcpy(c->dec + o, v + ws, w - ws);
				o += w - ws;
			}
			why = fz_ew_decode(v + w, i - w, c->dec + o,
					   FZ_SUBJ_CAP - o, &k);
			if (why)
				return why;
			if (utf8 && !fz_utf8_valid(c->dec + o, k))
				return "an encoded word splits a UTF-8 character (RFC 2047 5(3))";
			o += k;
			prev_ew = true;
		} else {
			if (o + i - ws > FZ_SUBJ_CAP)
				return "decoded subject longer than the subject";
			memcpy(c->dec + o, v + ws, i - ws);
			o += i - ws;
			prev_ew = false;
		}
		c->dlen = o;
	}
	c->dlen = o;
	return NULL;
}

static void fz_subject_stats(struct fz_hdr *c, const u8 *h)
{
	size_t s = c->fstart[FZ_F_SUBJECT], e = c->fend[FZ_F_SUBJECT], eol;
	const u8 *cr;

	if (memchr(h + s, '\r', e - s))
		c->folded++;
	if (!fz_has_ew_start(h + s, e - s))
		return;
	c->encoded++;
	while (s < e) {
		cr = memchr(h + s, '\r', e - s);
		eol = cr ? cr - h : e;
		if (eol - s > 76 && fz_has_ew_start(h + s, eol - s))
			c->ew_lines_over_76++;
		s = eol + 2;
	}
}

static const char *fz_block_check(struct fz_hdr *c, const u8 *h, size_t len,
				  size_t *at)
{
	const u8 *p, *end, *item, *v, *ve, *vi;
	size_t n, i, ilen, vlen;
	const char *why;

	why = fz_block_lines(c, h, len, at);
	if (why)
		return why;
	/* From: the sender */
	*at = c->fstart[FZ_F_FROM];
	n = fz_unfold(c, h, FZ_F_FROM);
	p = c->unf;
	while (n && fz_is_wsp(*p)) {
		p++;
		n--;
	}
	while (n && fz_is_wsp(p[n - 1]))
		n--;
	if (n != strlen((const char *)c->from) || memcmp(p, c->from, n))
		return "From: does not give back the sender";
	/* To: the recipients, in order */
	*at = c->fstart[FZ_F_TO];
	vlen = fz_unfold(c, h, FZ_F_TO);
	v = c->unf;
	ve = v + vlen;
	p = c->rcpt;
	end = p + strlen((const char *)p);
	for (;;) {
		p = fz_item(p, end, &item, &ilen);
		v = fz_item(v, ve, &vi, &n);
		if (n != ilen || memcmp(vi, item, n))
			return "To: does not give back the recipients";
		if (p == end ? v != ve : v == ve)
			return "To: holds another number of recipients";
		if (p == end)
			break;
		p++;
		v++;
	}
	/* Subject: 7-bit, and decodes to the subject */
	*at = c->fstart[FZ_F_SUBJECT];
	for (i = c->fstart[FZ_F_SUBJECT]; i < c->fend[FZ_F_SUBJECT]; i++) {
		if (h[i] & 0x80) {
			*at = i;
			return "8-bit octet in Subject: (not RFC 2047 encoded)";
		}
	}
	n = fz_unfold(c, h, FZ_F_SUBJECT);
	c->dec_valid = true;
	why = fz_subject_decode(c, c->unf, n,
				fz_utf8_valid(c->subject, c->slen));
	if (why)
		return why;
	if (c->dlen != c->slen || memcmp(c->dec, c->subject, c->slen))
		return "Subject: does not decode to the subject";
	fz_subject_stats(c, h);
	return NULL;
}

/*
 * Builds the header block of c->from, c->rcpt and c->subject, checks it.
 * Returns 0, 1 when it failed, -1 on a kernel report.
 */
static int fz_headers_one(struct kunit *test, struct fz_hdr *c,
			  struct fz_rng *r, u32 iter)
{
	enum ksmtp_priority prio = fz_below(r, KSMTP_PRIO_MAX + 1);
	enum ksmtp_cte cte = fz_below(r, 3);
	time64_t now = fz_pct(r, 5) ? 0 : fz_next(r) >> 27;
	u64 id = fz_next(r);
	size_t len = 0, at = 0;
	bool report = false;
	const char *why;
	u8 *h;

	c->dec_valid = false;
	h = (u8 *)ksmtp_headers_build((const char *)c->from,
				      (const char *)c->rcpt,
				      (const char *)c->subject, prio, cte,
				      now, id, &len);
	c->built++;
	if (fz_kernel_report()) {
		why = "kernel report (KASAN, WARN) in ksmtp_headers_build()";
		report = true;
	} else if (!h) {
		why = "ksmtp_headers_build() returned NULL";
	} else {
		why = fz_block_check(c, h, len, &at);
	}
	if (why && (fz_fail_new(&c->fails, why) || report)) {
		fz_failed(test, iter, why);
		fz_dump(test, "subject", c->subject, c->slen);
		fz_dump(test, "from", c->from, strlen((const char *)c->from));
		fz_dump(test, "rcpt", c->rcpt, strlen((const char *)c->rcpt));
		if (h && !report)
			fz_dump_at(test, "header block", h, len, at);
		if (c->dec_valid)
			fz_dump(test, "subject as decoded", c->dec, c->dlen);
	}
	kfree(h);
	return report ? -1 : !!why;
}

#define FZ_TRIES	1000

/* A sender accepted by ksmtp_check_address(), checked. */
static const char *fz_from(struct fz_rng *r, struct fz_hdr *c)
{
	unsigned int tries = 0;
	size_t len;
	bool utf8;

	do {
		if (++tries > FZ_TRIES)
			return "ksmtp_check_address() refused 1000 addresses in a row";
		fz_addr(r, c->from, fz_addr_len(r));
	} while (ksmtp_check_address((const char *)c->from, &utf8));
	len = strlen((const char *)c->from);
	if (!fz_addr_ok(c->from, len))
		return "ksmtp_check_address() accepted an invalid address";
	if (utf8 != fz_has8(c->from, len))
		return "the utf8 flag of ksmtp_check_address() is wrong";
	return NULL;
}

/* A list accepted by ksmtp_check_rcpt_list(), checked. */
static const char *fz_rcpt(struct fz_rng *r, struct fz_hdr *c)
{
	unsigned int n, tries = 0;
	size_t target;
	bool utf8;

	do {
		if (++tries > FZ_TRIES)
			return "ksmtp_check_rcpt_list() refused 1000 lists in a row";
		if (fz_pct(r, 25))
			n = 1;
		else if (fz_pct(r, 33))
			n = KSMTP_RCPT_MAX;
		else
			n = fz_range(r, 1, KSMTP_RCPT_MAX);
		switch (fz_below(r, 4)) {
		case 0:
			target = KSMTP_RCPT_LIST_MAX;
			break;
		case 1:
			target = fz_range(r, KSMTP_RCPT_LIST_MAX - 10,
					  KSMTP_RCPT_LIST_MAX);
			break;
		case 2:
			target = fz_range(r, 3 * n, KSMTP_RCPT_LIST_MAX);
			break;
		default:
			target = fz_range(r, 3 * n, 80);
			break;
		}
		fz_list(r, c->rcpt, FZ_LIST_CAP, n, target);
	} while (ksmtp_check_rcpt_list((const char *)c->rcpt, &utf8));
	return fz_list_ok(c->rcpt, utf8);
}

/*
 * One iteration: a subject (short and random for FZ_S_RCPT, printable ASCII
 * for FZ_S_SUBJECT_ASCII, any octets for FZ_S_SUBJECT), a sender and a
 * recipient list, checked, then the header block. Returns as
 * fz_headers_one().
 */
static int fz_header_iter(struct kunit *test, struct fz_hdr *c,
			  unsigned int stream, u32 iter)
{
	const char *why;
	struct fz_rng r;

	fz_seed(&r, stream, iter);
	if (stream == FZ_S_RCPT) {
		c->slen = 0;
		do
			fz_piece(&r, c->subject, &c->slen, 100,
				 fz_below(&r, FZ_P_NR));
		while (fz_pct(&r, 80));
		c->subject[c->slen] = '\0';
	} else {
		c->slen = fz_subject(&r, c->subject,
				     stream == FZ_S_SUBJECT_ASCII);
	}
	why = ksmtp_check_subject((const char *)c->subject);
	if (!why && (c->slen > KSMTP_SUBJECT_MAX ||
		     strpbrk((const char *)c->subject, "\r\n"))) {
		why = "ksmtp_check_subject() accepted CR, LF or over 2048 octets";
		if (fz_fail_new(&c->fails, why)) {
			fz_failed(test, iter, why);
			fz_dump(test, "subject", c->subject, c->slen);
		}
		return 1;
	}
	if (why) {
		c->refused++;
		return 0;
	}
	why = fz_from(&r, c) ?: fz_rcpt(&r, c);
	if (why) {
		if (fz_fail_new(&c->fails, why)) {
			fz_failed(test, iter, why);
			fz_dump(test, "from", c->from,
				strlen((const char *)c->from));
			fz_dump(test, "rcpt", c->rcpt,
				strlen((const char *)c->rcpt));
		}
		return 1;
	}
	return fz_headers_one(test, c, &r, iter);
}

static void fz_headers_run(struct kunit *test, unsigned int stream,
			   u32 iters)
{
	struct fz_hdr *c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);
	u64 t0 = ktime_get_ns();
	u32 iter;

	KUNIT_ASSERT_NOT_NULL(test, c);
	c->unf = kunit_kmalloc(test, FZ_UNF_CAP, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, c->unf);
	fz_start(test, iters);
	for (iter = 0; iter < iters; iter++) {
		if (fz_header_iter(test, c, stream, iter) < 0)
			break;
		if (!(iter % 256))
			cond_resched();
	}
	kunit_info(test, "%lu header blocks in %llu ms: subject folded %lu, encoded %lu, subjects refused %lu\n",
		   c->built, div_u64(ktime_get_ns() - t0, NSEC_PER_MSEC),
		   c->folded, c->encoded, c->refused);
	/* RFC 2047 2: a line holding encoded words is at most 76 octets. */
	KUNIT_EXPECT_EQ_MSG(test, c->ew_lines_over_76, 0UL,
			    "Subject: lines with encoded words over 76 octets");
	fz_fail_summary(test, &c->fails, iters);
}

/* Recipient lists: many, long, every separator; short subjects. */
static void fz_recipients(struct kunit *test)
{
	fz_headers_run(test, FZ_S_RCPT, FZ_RCPT_ITERS);
}

/* Subjects of printable ASCII and white space, senders, lists. */
static void fz_subjects_ascii(struct kunit *test)
{
	fz_headers_run(test, FZ_S_SUBJECT_ASCII, FZ_SUBJECT_ITERS);
}

/* Subjects of any octets, senders, lists. */
static void fz_subjects(struct kunit *test)
{
	fz_headers_run(test, FZ_S_SUBJECT, FZ_SUBJECT_ITERS);
}

/* ------------------------------------------------------------------ */
/* Bodies */

#define FZ_BODY_SHORT	64
#define FZ_BODY_MAX	4096
#define FZ_CHUNK_MAX	4096
#define FZ_OUT_CAP	(4 * FZ_BODY_MAX + 64)
#define FZ_CANARY	0xa5

/* Octet alphabets, 256 entries each: index by a random octet. */
enum { FZ_A_ALL, FZ_A_TEXT7, FZ_A_TEXT8, FZ_A_LINES, FZ_A_EDGE, FZ_A_NR };
static u8 fz_alpha[FZ_A_NR][256];

static const char fz_hdr_small[] = "X-Fuzz: 1\r\n\r\n";

static const char * const fz_cte_name[] = {
	[KSMTP_CTE_7BIT] = "7bit",
	[KSMTP_CTE_8BIT] = "8bit",
	[KSMTP_CTE_QP] = "quoted-printable",
};

struct fz_body {
	u8 *base;	/* FZ_BODY_MAX + 8 */
	u8 *body;	/* in base, at any alignment */
	u8 *want;	/* 2 * FZ_BODY_MAX + 2: line breaks made CR LF */
	u8 *out;	/* FZ_OUT_CAP: the whole message */
	u8 *dec;	/* FZ_OUT_CAP: its body part decoded */
	u8 *ref;	/* FZ_OUT_CAP: the message as the reference sends it */
	u8 *chunk;	/* FZ_CHUNK_MAX + 8 */
	size_t len;
	size_t want_len;
	size_t out_len;
	size_t dec_len;
	const char *hdr;
	size_t hdr_len;
	size_t cap;
	bool srv;
	enum ksmtp_cte cte;
	u64 scanned;
	size_t at_out;	/* where in out it failed, or SIZE_MAX */
	size_t at_dec;	/* where in dec it failed, or SIZE_MAX */
	unsigned long ctes[3];
	u64 octets;
	struct fz_fails fails;
};

static int fz_body_suite_init(struct kunit_suite *suite)
{
	static const char letters[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	/* octet, how many of 256 in FZ_A_ALL */
	static const u8 mix[][2] = {
		{ '\r', 28 }, { '\n', 28 }, { '.', 28 }, { '=', 16 },
		{ ' ', 16 }, { '\t', 10 }, { 0, 6 },
	};
	unsigned int a, i, j, k = 0;

	for (i = 0; i < ARRAY_SIZE(mix); i++)
		for (j = 0; j < mix[i][1]; j++)
			fz_alpha[FZ_A_ALL][k++] = mix[i][0];
	for (i = 0; i < 24; i++)
		fz_alpha[FZ_A_ALL][k++] = 0x80 + i * 5;
	for (i = 0; k < 256; i++)
		fz_alpha[FZ_A_ALL][k++] = letters[i % (sizeof(letters) - 1)];
	for (a = FZ_A_TEXT7; a <= FZ_A_TEXT8; a++) {
		for (i = 0; i < 256; i++) {
			u8 c = fz_alpha[FZ_A_ALL][i];

			if (!c || (a == FZ_A_TEXT7 && c >= 0x80))
				c = letters[i % (sizeof(letters) - 1)];
			fz_alpha[a][i] = c;
		}
	}
	for (i = 0; i < 256; i++)
		fz_alpha[FZ_A_LINES][i] = "\r\n. a"[i % 5];
	/* Letters, and 1 in 8 an octet at an edge of the word-at-a-time test
	 * of encode.c (below 0x0e or not, bit 7 set or not).
	 */
	for (i = 0; i < 256; i++)
		fz_alpha[FZ_A_EDGE][i] = i % 8 ? letters[i % (sizeof(letters) - 1)] :
			"\x00\x01\t\x0b\x0c\r\x0e\x0f\n\x7e\x7f\x80\x81\xfe\xff."
			[(i / 8) % 16];
	return 0;
}

/* What the body must become; what the encoding choice depends on. */
static void fz_want(struct fz_body *c, bool *has8, bool *nul,
		    size_t *maxline)
{
	const u8 *b = c->body;
	size_t i, o = 0, line = 0;

	*has8 = false;
	*nul = false;
	*maxline = 0;
	for (i = 0; i < c->len; i++) {
		if (b[i] == '\r' || b[i] == '\n') {
			if (b[i] == '\r' && i + 1 < c->len && b[i + 1] == '\n')
				i++;
			c->want[o++] = '\r';
			c->want[o++] = '\n';
			line = 0;
			continue;
		}
		c->want[o++] = b[i];
		if (++line > *maxline)
			*maxline = line;
		*has8 |= b[i] >= 0x80;
		*nul |= !b[i];
	}
	if (c->len && b[c->len - 1] != '\r' && b[c->len - 1] != '\n') {
		c->want[o++] = '\r';
		c->want[o++] = '\n';
	}
	c->want_len = o;
}

static const char *fz_cte_ok(enum ksmtp_cte cte, bool srv, bool has8,
			     bool nul, size_t maxline)
{
	bool fits = !nul && maxline <= KSMTP_TEXT_LINE_MAX;

	switch (cte) {
	case KSMTP_CTE_7BIT:
		if (has8 || !fits)
			return "7bit chosen for 8-bit octets, NUL or a line over 998 octets";
		return NULL;
	case KSMTP_CTE_8BIT:
		if (!srv)
			return "8bit chosen without 8BITMIME";
		if (!fits)
			return "8bit chosen for a body with NUL or a line over 998 octets";
		return NULL;
	case KSMTP_CTE_QP:
		return NULL;
	}
	return "ksmtp_body_scan() returned no known encoding";
}

/*
 * The reference for the word-at-a-time scan of ksmtp_body_scan(): the same
 * decision and size, an octet at a time.
 */
static enum ksmtp_cte fz_ref_scan(const u8 *p, size_t len, bool srv, u64 *octets)
{
	const u8 *end = p + len;
	bool has8bit = false, bol = true;
	size_t line = 0;
	u64 n = 0;

	while (p < end) {
		u8 c = *p++;

		if (c == '\r' || c == '\n') {
			if (c == '\r' && p < end && *p == '\n')
				p++;
			n += 2;
			line = 0;
			bol = true;
			continue;
		}
		if (++line > KSMTP_TEXT_LINE_MAX || !c)
			return KSMTP_CTE_QP;
		if (c & 0x80) {
			if (!srv)
				return KSMTP_CTE_QP;
			has8bit = true;
		}
		n++;
		bol = false;
	}
	*octets = n + (bol ? 0 : 2);
	return has8bit ? KSMTP_CTE_8BIT : KSMTP_CTE_7BIT;
}

/*
 * The reference for the 7bit and 8bit encoder (runs copied a word at a
 * time in encode.c): the header block, the body with CR LF line breaks
 * (c->want) an octet at a time, a dot before each line starting with one,
 * ".\r\n". Its length.
 */
static size_t fz_ref_wire(struct fz_body *c)
{
	size_t i, o = c->hdr_len;
	bool bol = true;

	memcpy(c->ref, c->hdr, c->hdr_len);
	for (i = 0; i < c->want_len; i++) {
		if (bol && c->want[i] == '.')
			c->ref[o++] = '.';
		c->ref[o++] = c->want[i];
		bol = c->want[i] == '\n';
	}
	memcpy(c->ref + o, ".\r\n", 3);
	return o + 3;
}

/*
 * Checks the body part @w (@n octets) of the message as sent and decodes
 * it to c->dec: the final ".\r\n", CR LF only, one dot off lines starting
 * with a dot, line lengths, quoted-printable.
 */
static const char *fz_wire(struct fz_body *c, const u8 *w, size_t n,
			   u64 *stuffed, size_t *at)
{
	size_t i = 0, o = 0, ls, le, end, j;
	size_t max = c->cte == KSMTP_CTE_QP ? KSMTP_QP_LINE_MAX :
		     KSMTP_TEXT_LINE_MAX;
	u8 *d = c->dec;
	bool soft;
	int hi, lo;

	*stuffed = 0;
	*at = n;
	if (n < 3 || memcmp(w + n - 3, ".\r\n", 3))
		return "the message does not end with \".\\r\\n\"";
	n -= 3;
	*at = n;
	if (n && (n < 2 || w[n - 2] != '\r' || w[n - 1] != '\n'))
		return "the final \".\" is not at the start of a line";
	while (i < n) {
		ls = i;
		while (w[i] != '\r' && w[i] != '\n')
			i++;
		le = i;
		*at = le;
		if (w[i] == '\n')
			return "bare LF in the message";
		if (w[i + 1] != '\n')
			return "bare CR in the message";
		i += 2;
		if (w[ls] == '.') {
			*at = ls;
			if (le - ls == 1)
				return "a line of one dot before the end (SMTP smuggling)";
			ls++;
			(*stuffed)++;
		}
		*at = ls;
		if (le - ls > max)
			return c->cte == KSMTP_CTE_QP ?
			       "quoted-printable line longer than 76 octets" :
			       "line longer than 998 octets";
		if (c->cte != KSMTP_CTE_QP) {
			for (j = ls; j < le; j++) {
				*at = j;
				if (!w[j])
					return "NUL sent as it is";
				if (w[j] >= 0x80 && c->cte == KSMTP_CTE_7BIT)
					return "8-bit octet in a 7bit body";
				d[o++] = w[j];
			}
			d[o++] = '\r';
			d[o++] = '\n';
			continue;
		}
		soft = le > ls && w[le - 1] == '=';
		end = soft ? le - 1 : le;
		for (j = ls; j < end; j++) {
			*at = j;
			if (w[j] == '=') {
				hi = end - j > 2 ? fz_hex(w[j + 1], false) : -1;
				lo = end - j > 2 ? fz_hex(w[j + 2], false) : -1;
				if (hi < 0 || lo < 0)
					return "quoted-printable \"=\" not before 2 hex digits";
				d[o++] = hi << 4 | lo;
				j += 2;
				continue;
			}
			if (fz_is_wsp(w[j]) && j + 1 == le)
				return "white space at the end of a quoted-printable line";
			if (!fz_is_wsp(w[j]) && (w[j] <= ' ' || w[j] >= 0x7f))
				return "octet not allowed in quoted-printable";
			d[o++] = w[j];
		}
		if (!soft) {
			d[o++] = '\r';
			d[o++] = '\n';
		}
	}
	c->dec_len = o;
	return NULL;
}

/* Streams the message out in chunks of c->cap; checks and decodes it. */
static const char *fz_encode(struct fz_body *c, struct fz_rng *r)
{
	size_t n = 0, k, at, i;
	struct ksmtp_enc e;
	const char *why;
	u64 stuffed, size;

	c->out_len = 0;
	c->at_out = SIZE_MAX;
	c->at_dec = SIZE_MAX;
	if (fz_pct(r, 50))
		c->cap = fz_range(r, 32, 48);
	else if (fz_pct(r, 60))
		c->cap = fz_range(r, 32, 300);
	else
		c->cap = FZ_CHUNK_MAX;
	ksmtp_enc_init(&e, c->hdr, c->hdr_len, (const char *)c->body, c->len,
		       c->cte);
	for (;;) {
		memset(c->chunk + c->cap, FZ_CANARY, 8);
		k = ksmtp_enc_next(&e, (char *)c->chunk, c->cap);
		if (memchr_inv(c->chunk + c->cap, FZ_CANARY, 8))
			return "ksmtp_enc_next() wrote past the chunk";
		if (k > c->cap)
			return "ksmtp_enc_next() returned more than the chunk";
		if (!k)
			break;
		if (n + k > FZ_OUT_CAP)
			return "the message is over 4 times the body";
		memcpy(c->out + n, c->chunk, k);
		n += k;
		c->out_len = n;
	}
	if (ksmtp_enc_next(&e, (char *)c->chunk, c->cap))
		return "ksmtp_enc_next() went on after returning 0";
	c->octets += n;
	c->at_out = 0;
	if (n < c->hdr_len || memcmp(c->out, c->hdr, c->hdr_len))
		return "the header block is not sent as it is";
	why = fz_wire(c, c->out + c->hdr_len, n - c->hdr_len, &stuffed, &at);
	if (why) {
		c->at_out = c->hdr_len + at;
		return why;
	}
	if (c->cte != KSMTP_CTE_QP) {
		k = fz_ref_wire(c);
		for (i = 0; i < min(k, n); i++)
			if (c->out[i] != c->ref[i])
				break;
		c->at_out = i;
		if (k != n || i < n)
			return "7bit/8bit message not byte for byte the reference's";
	}
	c->at_out = SIZE_MAX;
	if (c->dec_len != c->want_len || memcmp(c->dec, c->want, c->want_len)) {
		for (i = 0; i < min(c->dec_len, c->want_len); i++)
			if (c->dec[i] != c->want[i])
				break;
		c->at_dec = i;
		return "the message decodes to something else than the body with CR LF line breaks";
	}
	size = ksmtp_enc_size(c->hdr, c->hdr_len, (const char *)c->body,
			      c->len, c->cte, (char *)c->chunk,
			      fz_range(r, 32, FZ_CHUNK_MAX));
	if (size != n - stuffed - 3)
		return "ksmtp_enc_size() is not the octets sent less stuffed dots and \".\\r\\n\"";
	if (c->cte != KSMTP_CTE_QP && c->hdr_len + c->scanned != size)
		return "ksmtp_body_scan()'s size is not ksmtp_enc_size()'s";
	return NULL;
}

static const char *fz_body_one(struct fz_body *c, struct fz_rng *r)
{
	enum ksmtp_cte cte[2];
	bool has8, nul;
	size_t maxline;
	const char *why;
	int i;

	fz_want(c, &has8, &nul, &maxline);
	if (fz_pct(r, 50)) {
		c->hdr = "";
		c->hdr_len = 0;
	} else {
		c->hdr = fz_hdr_small;
		c->hdr_len = sizeof(fz_hdr_small) - 1;
	}
	for (i = 0; i < 2; i++) {
		enum ksmtp_cte ref;
		u64 ref_octets = 0;

		c->srv = i;
		c->cte = ksmtp_body_scan((const char *)c->body, c->len, c->srv, &c->scanned);
		cte[i] = c->cte;
		ref = fz_ref_scan(c->body, c->len, c->srv, &ref_octets);
		if (c->cte != ref)
			return "ksmtp_body_scan() chose another encoding than the reference";
		if (ref != KSMTP_CTE_QP && c->scanned != ref_octets)
			return "ksmtp_body_scan()'s size is not the reference's";
		why = fz_cte_ok(c->cte, c->srv, has8, nul, maxline);
		if (why)
			return why;
		if (i && cte[1] == cte[0])
			break;
		c->ctes[c->cte]++;
		why = fz_encode(c, r);
		if (why)
			return why;
	}
	return NULL;
}

static struct fz_body *fz_body_alloc(struct kunit *test)
{
	struct fz_body *c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);

	if (!c)
		return NULL;
	c->base = kunit_kmalloc(test, FZ_BODY_MAX + 8, GFP_KERNEL);
	c->body = c->base;
	c->want = kunit_kmalloc(test, 2 * FZ_BODY_MAX + 2, GFP_KERNEL);
	c->out = kunit_kmalloc(test, FZ_OUT_CAP, GFP_KERNEL);
	c->dec = kunit_kmalloc(test, FZ_OUT_CAP, GFP_KERNEL);
	c->ref = kunit_kmalloc(test, FZ_OUT_CAP, GFP_KERNEL);
	c->chunk = kunit_kmalloc(test, FZ_CHUNK_MAX + 8, GFP_KERNEL);
	if (!c->base || !c->want || !c->out || !c->dec || !c->ref || !c->chunk)
		return NULL;
	return c;
}

static void fz_body_report(struct kunit *test, struct fz_body *c, u32 iter,
			   const char *why)
{
	fz_failed(test, iter, why);
	kunit_err(test, "8BITMIME %s, %s, chunks of %zu octets, header block of %zu octets\n",
		  c->srv ? "offered" : "not offered",
		  c->cte <= KSMTP_CTE_QP ? fz_cte_name[c->cte] : "?",
		  c->cap, c->hdr_len);
	fz_dump(test, "body", c->body, c->len);
	if (c->at_out != SIZE_MAX)
		fz_dump_at(test, "message", c->out, c->out_len, c->at_out);
	if (c->at_dec != SIZE_MAX) {
		fz_dump_at(test, "decoded", c->dec, c->dec_len, c->at_dec);
		fz_dump_at(test, "expected", c->want, c->want_len, c->at_dec);
	}
}

/* 0 to 64 octets, heavy in CR, LF, ".", "=", white space, NUL, 8-bit */
static void fz_gen_short(struct fz_body *c, struct fz_rng *r)
{
	const u8 *alpha = fz_alpha[fz_below(r, FZ_A_NR)];
	size_t i;
	u64 v = 0;

	c->len = fz_below(r, FZ_BODY_SHORT + 1);
	for (i = 0; i < c->len; i++) {
		if (!(i % 8))
			v = fz_next(r);
		c->body[i] = alpha[(u8)v];
		v >>= 8;
	}
}

static const u16 fz_line_edges[] = {
	0, 1, 75, 76, 77, 997, 998, 999, 1000, 1500, 2000,
};

/* Up to 4096 octets: lines around and over 998 octets, and mixes. */
static void fz_gen_long(struct fz_body *c, struct fz_rng *r)
{
	static const char * const breaks[] = { "", "\r\n", "\r", "\n", "\n\r" };
	const u8 *alpha = fz_alpha[fz_below(r, FZ_A_NR)];
	const char *br;
	size_t line;
	u8 o;

	c->len = 0;
	if (fz_pct(r, 30)) {	/* any octets of the alphabet */
		c->len = fz_range(r, FZ_BODY_SHORT, FZ_BODY_MAX);
		for (line = 0; line < c->len; line++)
			c->body[line] = alpha[fz_below(r, 256)];
	}
	while (c->len < FZ_BODY_MAX && !fz_pct(r, 15)) {
		if (fz_pct(r, 60))
			line = fz_line_edges[fz_below(r, ARRAY_SIZE(fz_line_edges))];
		else
			line = fz_below(r, 3000);
		line = min(line, FZ_BODY_MAX - c->len);
		while (line--) {
			o = alpha[fz_below(r, 256)];
			c->body[c->len++] = o == '\r' || o == '\n' ? 'x' : o;
		}
		br = breaks[fz_below(r, ARRAY_SIZE(breaks))];
		while (*br && c->len < FZ_BODY_MAX)
			c->body[c->len++] = *br++;
	}
}

static void fz_body_run(struct kunit *test, unsigned int stream, u32 iters,
			void (*gen)(struct fz_body *c, struct fz_rng *r))
{
	struct fz_body *c = fz_body_alloc(test);
	u64 t0 = ktime_get_ns();
	bool report = false;
	const char *why;
	struct fz_rng r;
	u32 iter;

	KUNIT_ASSERT_NOT_NULL(test, c);
	fz_start(test, iters);
	for (iter = 0; iter < iters && !report; iter++) {
		fz_seed(&r, stream, iter);
		c->body = c->base + iter % 8;
		gen(c, &r);
		why = fz_body_one(c, &r);
		if (fz_kernel_report()) {
			why = "kernel report (KASAN, WARN) while encoding";
			report = true;
		}
		if (why && (fz_fail_new(&c->fails, why) || report))
			fz_body_report(test, c, iter, why);
		if (!(iter % 1024))
			cond_resched();
	}
	kunit_info(test, "%u bodies in %llu ms: 7bit %lu, 8bit %lu, quoted-printable %lu, %llu octets out\n",
		   iter, div_u64(ktime_get_ns() - t0, NSEC_PER_MSEC),
		   c->ctes[KSMTP_CTE_7BIT], c->ctes[KSMTP_CTE_8BIT],
		   c->ctes[KSMTP_CTE_QP], c->octets);
	fz_fail_summary(test, &c->fails, iters);
}

/* 1,000,000 short bodies */
static void fz_body_short(struct kunit *test)
{
	fz_body_run(test, FZ_S_BODY, FZ_BODY_ITERS, fz_gen_short);
}

/* Long lines, long bodies */
static void fz_body_long(struct kunit *test)
{
	fz_body_run(test, FZ_S_BODY_LONG, FZ_BODY_LONG_ITERS, fz_gen_long);
}

/* ---- a caller's header section (sendmail) ---- */

#define FZ_RAW_CAP	(3 * 1024)

struct fz_raw {
	u8 in[FZ_RAW_CAP + 1];
	size_t len;
	u8 name[KSMTP_STR_MAX + 1];
	struct fz_fails fails;
	unsigned long accepted, refused;
};

static bool fz_name_is(const u8 *l, size_t n, const char *name)
{
	return n == strlen(name) && !strncasecmp((const char *)l, name, n);
}

/* The rules, written again: NULL when the section may go, and its flags. */
static const char *fz_raw_ok(const u8 *h, size_t len, unsigned int *flags)
{
	size_t pos = 0, end, i;
	bool seen_field = false;

	*flags = 0;
	while (pos < len) {
		bool only_wsp = true;

		for (end = pos; end < len && h[end] != '\r' && h[end] != '\n'; end++)
			;
		for (i = pos; i < end; i++) {
			if (h[i] >= 0x80)
				*flags |= KSMTP_HDR_8BIT;
			else if (h[i] == 0x7f || (h[i] < 0x20 && h[i] != '\t'))
				return "control";
			if (!fz_is_wsp(h[i]))
				only_wsp = false;
		}
		if (end < len && h[end] == '\r' && (end + 1 == len || h[end + 1] != '\n'))
			return "bare CR";
		if (end == pos)
			return "empty line";
		if (end - pos > KSMTP_TEXT_LINE_MAX)
			return "long line";
		if (h[pos] == '.')
			return "dot first";
		if (fz_is_wsp(h[pos])) {
			if (!seen_field)
				return "continuation first";
			if (only_wsp)
				return "white space only";
		} else {
			const u8 *colon = memchr(h + pos, ':', end - pos);
			size_t n;

			if (!colon || colon == h + pos)
				return "no field name";
			n = colon - (h + pos);
			for (i = pos; i < pos + n; i++)
				if (h[i] <= ' ' || h[i] >= 0x7f)
					return "field name";
			if (fz_name_is(h + pos, n, "Date"))
				*flags |= KSMTP_HDR_DATE;
			else if (fz_name_is(h + pos, n, "From"))
				*flags |= KSMTP_HDR_FROM;
			else if (fz_name_is(h + pos, n, "Message-ID"))
				*flags |= KSMTP_HDR_MESSAGE_ID;
			else if (fz_name_is(h + pos, n, "MIME-Version") ||
				 fz_name_is(h + pos, n, "Content-Type") ||
				 fz_name_is(h + pos, n, "Content-Transfer-Encoding"))
				*flags |= KSMTP_HDR_MIME;
			else if (fz_name_is(h + pos, n, "Sender") ||
				 fz_name_is(h + pos, n, "Return-Path"))
				*flags |= KSMTP_HDR_SENDER;
			else if ((n > 7 && !strncasecmp((const char *)h + pos, "Resent-", 7)) ||
				 (n > 4 && !strncasecmp((const char *)h + pos, "ARC-", 4)) ||
				 (n > 5 && !strncasecmp((const char *)h + pos, "List-", 5)) ||
				 fz_name_is(h + pos, n, "Reply-To") ||
				 fz_name_is(h + pos, n, "Mail-Reply-To") ||
				 fz_name_is(h + pos, n, "Mail-Followup-To") ||
				 fz_name_is(h + pos, n, "Mail-Copies-To") ||
				 fz_name_is(h + pos, n, "Errors-To") ||
				 fz_name_is(h + pos, n, "Return-Receipt-To") ||
				 fz_name_is(h + pos, n, "Disposition-Notification-To") ||
				 fz_name_is(h + pos, n, "X-Confirm-Reading-To") ||
				 fz_name_is(h + pos, n, "Author") ||
				 fz_name_is(h + pos, n, "Received") ||
				 fz_name_is(h + pos, n, "Delivered-To") ||
				 fz_name_is(h + pos, n, "X-Original-To") ||
				 fz_name_is(h + pos, n, "Envelope-To") ||
				 fz_name_is(h + pos, n, "DKIM-Signature") ||
				 fz_name_is(h + pos, n, "DomainKey-Signature") ||
				 fz_name_is(h + pos, n, "Authentication-Results") ||
				 fz_name_is(h + pos, n, "Received-SPF"))
				*flags |= KSMTP_HDR_RESENT;
			else if (fz_name_is(h + pos, n, "Bcc"))
				*flags |= KSMTP_HDR_BCC;
			seen_field = true;
		}
		pos = end;
		if (pos < len && h[pos] == '\r')
			pos++;
		if (pos < len && h[pos] == '\n')
			pos++;
	}
	return NULL;
}

static void fz_raw_gen(struct fz_raw *c, struct fz_rng *r)
{
	static const char * const names[] = {
		"Subject", "To", "Cc", "Date", "From", "Message-ID", "MIME-Version",
		"Content-Type", "Content-Transfer-Encoding", "Sender", "Return-Path",
		"X-Cron-Env", "date", "FROM", "X", "Sub ject", "", "Bcc", ".X",
		"Resent-From", "resent-", "Reply-To", "ARC-Seal", "Received", "BCC",
		"list-post", "List-", "Received-SPF", "Delivered-To", "Author",
	};
	static const char * const breaks[] = { "\r\n", "\n", "\r", "\n\n", "\r\n\r\n", "" };
	unsigned int lines = fz_below(r, 8), i;
	size_t n = 0, k;

	for (i = 0; i < lines && n < FZ_RAW_CAP - 16; i++) {
		size_t vlen;

		if (i && fz_pct(r, 25)) {
			fz_put(c->in, &n, FZ_RAW_CAP, fz_pct(r, 50) ? ' ' : '\t');
		} else if (!fz_pct(r, 3)) {
			fz_puts(c->in, &n, FZ_RAW_CAP, names[fz_below(r, ARRAY_SIZE(names))]);
			if (!fz_pct(r, 3))
				fz_put(c->in, &n, FZ_RAW_CAP, ':');
		}
		vlen = fz_pct(r, 5) ? fz_range(r, 980, 1010) : fz_below(r, 40);
		for (k = 0; k < vlen; k++) {
			u8 o = fz_pct(r, 90) ? fz_range(r, 0x20, 0x7e) :
			       fz_pct(r, 60) ? fz_range(r, 0x80, 0xff) :
			       fz_pct(r, 50) ? '\t' : fz_range(r, 1, 0x1f);

			if (o == '\r' || o == '\n')
				o = 'x';
			fz_put(c->in, &n, FZ_RAW_CAP, o);
		}
		if (i + 1 < lines || fz_pct(r, 50))
			fz_puts(c->in, &n, FZ_RAW_CAP,
				fz_pct(r, 90) ? breaks[fz_below(r, 2)] :
				breaks[fz_below(r, ARRAY_SIZE(breaks))]);
	}
	c->in[n] = '\0';
	c->len = n;
	k = fz_pct(r, 50) ? 0 : fz_below(r, 64);
	for (i = 0; i < k; i++)
		c->name[i] = fz_pct(r, 10) ? '"' : fz_pct(r, 10) ? '\\' :
			     fz_pct(r, 20) ? fz_range(r, 0x80, 0xff) : fz_range(r, 0x20, 0x7e);
	c->name[k] = '\0';
}

/* The block ksmtp_headers_merge() made of an accepted section. */
static const char *fz_raw_block(const struct fz_raw *c, const u8 *h, size_t len,
				unsigned int flags, enum ksmtp_cte cte)
{
	static const char * const want[] = {
		"Date", "From", "Message-ID", "MIME-Version", "Content-Type",
		"Content-Transfer-Encoding",
	};
	size_t pos = 0, i = 0, eol, w;

	/* the caller's lines first, each ended by CR LF */
	while (i < c->len) {
		for (eol = i; eol < c->len && c->in[eol] != '\r' && c->in[eol] != '\n'; eol++)
			;
		if (pos + (eol - i) + 2 > len || memcmp(h + pos, c->in + i, eol - i) ||
		    memcmp(h + pos + (eol - i), "\r\n", 2))
			return "a line of the caller's is not there as given";
		pos += eol - i + 2;
		i = eol;
		if (i < c->len && c->in[i] == '\r')
			i++;
		if (i < c->len && c->in[i] == '\n')
			i++;
	}
	/* then what was missing, in order, each once */
	for (w = 0; w < ARRAY_SIZE(want); w++) {
		bool missing = w < 3 ? !(flags & (w == 0 ? KSMTP_HDR_DATE : w == 1 ?
						   KSMTP_HDR_FROM : KSMTP_HDR_MESSAGE_ID)) :
			       !(flags & KSMTP_HDR_MIME) && cte != KSMTP_CTE_7BIT;
		size_t n = strlen(want[w]);

		if (!missing)
			continue;
		if (pos + n + 1 > len || strncmp((const char *)h + pos, want[w], n) ||
		    h[pos + n] != ':')
			return "a missing field was not added (or not in order)";
		/* the field and its continuation lines */
		do {
			for (eol = pos; eol + 1 < len && !(h[eol] == '\r' && h[eol + 1] == '\n');
			     eol++)
				if (h[eol] == '\r' || h[eol] == '\n' || !h[eol])
					return "bare CR, LF or NUL in an added field";
			if (eol + 1 >= len)
				return "the block does not end with CR LF";
			if (eol - pos > KSMTP_TEXT_LINE_MAX)
				return "an added line longer than 998 octets";
			pos = eol + 2;
		} while (pos < len && fz_is_wsp(h[pos]));
	}
	if (pos + 2 != len || memcmp(h + pos, "\r\n", 2))
		return "more than the missing fields, or no empty line at the end";
	return NULL;
}

static void fz_raw_headers(struct kunit *test)
{
	struct fz_raw *c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);
	unsigned int flags, ref_flags;
	const char *why, *ref;
	bool report = false;
	struct fz_rng r;
	size_t len = 0;
	u32 iter;
	u8 *h;

	KUNIT_ASSERT_NOT_NULL(test, c);
	fz_start(test, FZ_RAW_ITERS);
	for (iter = 0; iter < FZ_RAW_ITERS && !report; iter++) {
		enum ksmtp_cte cte;

		fz_seed(&r, FZ_S_RAW, iter);
		fz_raw_gen(c, &r);
		cte = fz_below(&r, 3);
		h = NULL;
		why = ksmtp_check_headers((const char *)c->in, &flags);
		ref = fz_raw_ok(c->in, c->len, &ref_flags);
		if (!why != !ref) {
			why = why ? "ksmtp_check_headers() refused a valid section" :
			      "ksmtp_check_headers() took an invalid section";
		} else if (why) {
			c->refused++;
			why = NULL;
		} else if (flags != ref_flags) {
			why = "ksmtp_check_headers() flags differ";
		} else {
			c->accepted++;
			h = (u8 *)ksmtp_headers_merge((const char *)c->in, "fuzz@example.org",
						      c->name[0] ? (const char *)c->name : NULL,
						      cte, fz_next(&r) >> 27, fz_next(&r), &len);
			why = !h ? "ksmtp_headers_merge() returned NULL" :
			      fz_raw_block(c, h, len, flags, cte);
		}
		if (fz_kernel_report()) {
			why = "kernel report (KASAN, WARN) in the header section checks";
			report = true;
		}
		if (why && (fz_fail_new(&c->fails, why) || report)) {
			fz_failed(test, iter, why);
			fz_dump(test, "section", c->in, c->len);
			if (h && !report)
				fz_dump(test, "block", h, len);
		}
		kfree(h);
		if (!(iter % 1024))
			cond_resched();
	}
	kunit_info(test, "%lu sections accepted, %lu refused\n", c->accepted, c->refused);
	fz_fail_summary(test, &c->fails, FZ_RAW_ITERS);
}

static struct kunit_case fz_header_cases[] = {
	KUNIT_CASE(fz_rcpt_refused),
	KUNIT_CASE(fz_subjects_ascii),
	KUNIT_CASE(fz_recipients),
	KUNIT_CASE(fz_subjects),
	KUNIT_CASE(fz_raw_headers),
	{}
};

static struct kunit_suite fz_header_suite = {
	.name = "ksmtp-fuzz-headers",
	.test_cases = fz_header_cases,
};

static struct kunit_case fz_body_cases[] = {
	KUNIT_CASE(fz_body_short),
	KUNIT_CASE(fz_body_long),
	{}
};

static struct kunit_suite fz_body_suite = {
	.name = "ksmtp-fuzz-body",
	.suite_init = fz_body_suite_init,
	.test_cases = fz_body_cases,
};

/* The body suite first: a heap overflow in the header suite may crash. */
kunit_test_suites(&fz_body_suite, &fz_header_suite);
