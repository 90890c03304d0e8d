/*
 * maillog_gen.c — a large, realistic, deterministic Postfix mail.log of an
 * ISP's outbound relay, for bench/maillog.sh.
 *
 * One relay ("relay1", Postfix with an smtpd on port 25 for subscribers and a
 * submission service), as Debian 12's rsyslog writes /var/log/mail.log: RFC
 * 3339 time stamps with microseconds (the default) or RFC 3164 ("-f 3164").
 * A discrete-event simulation: sources (subscriber traffic, planted bots,
 * hijacked accounts, spam-refused hosts, outside scanners, periodic daemons,
 * other programs) schedule sessions; every session writes its lines with
 * their own future times into one heap, and the heap is written out in time
 * order, so many messages are open at once and their lines interleave as on
 * a busy relay (deferred mail is retried 5 to 40 minutes later).
 *
 * Per message: connect, (TLS,) QID: client=NAME[ADDR] (sasl_method=,
 * sasl_username= on submission), QID: message-id=, QID: from=, size=, nrcpt=
 * (queue active), disconnect, then per destination a TLS line and one
 * QID: to=<R>, (orig_to=,) relay=, (conn_use=,) delay=, delays=, (tls=,)
 * dsn=, status= line per recipient, retries of the deferred ones, a
 * non-delivery notification (a new queue ID with from=<>) when some bounced,
 * and QID: removed. Relay-side NOQUEUE (and QID) rejects, warnings, anvil and
 * scache statistics, pickup/local mail from cron; dovecot, opendkim and CRON
 * lines. Short queue IDs, and long ones (enable_long_queue_ids) on a fraction.
 *
 * Exactly LINES lines are written (the log ends mid-traffic, as a rotated
 * one does). The same options give the same bytes. With -t FILE it writes
 * what it planted and how much each one sent within those lines:
 *   bot SUBJECT ADDR MESSAGES RECIPIENTS     (SUBJECT: the address, the /64 for IPv6)
 *   spam SUBJECT ADDR MESSAGES RECIPIENTS    (a host whose mail is refused as spam)
 *   hijacked ACCOUNT MESSAGES NETWORKS        (NETWORKS: distinct /24s it was used from)
 *   hijack_net A.B.C                          (one of those /24s, A.B.C.0/24)
 *
 * With -P LINES_PER_S it is the relay's syslog in real time instead (bench/combined.sh): the
 * log's clock starts at the wall clock's now, -r defaults to LINES_PER_S / 12 (about 12 lines
 * a message) so that it keeps the wall clock's pace, and line k is written at k / LINES_PER_S
 * seconds from the start (flushed every 10 ms; a writer that falls behind writes back to back
 * and says by how much: behind_ms). -R SECONDS rotates FILE every SECONDS as logrotate does
 * without copytruncate: FILE renamed to FILE.1 (replacing an older one), a new FILE created.
 * It ends with one line on stderr: lines=, seconds=, rate=, rotations=, behind_ms=.
 *
 * usage: maillog_gen [-n LINES] [-s SEED] [-f 3339|3164] [-o FILE] [-t FILE]
 *	[-r MSGS_PER_S] [-H HOSTS] [-b BOTS] [-a HIJACKED] [-x SPAMMERS]
 *	[-P LINES_PER_S [-R SECONDS]] [-V]
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "common/timeutil.h"

#define GEN_VERSION	"maillog_gen 2"
#define USEC		1000000LL
#define LINE_MAX_GEN	4096
#define MAX_RCPT	40
#define RELAY_NAME	"relay1"
#define RELAY_FQDN	"relay1.isp.example"
#define RELAY_IP	"192.0.2.25"
#define ISP_DOMAIN	"isp.example"

/* ---- options ------------------------------------------------------------------------ */

static uint64_t opt_lines = 5000000;
static uint64_t opt_seed = 1;
static int opt_rfc3164;
static double opt_rate = 50;		/* subscriber messages per second */
static uint32_t opt_hosts = 40000;
static uint32_t opt_bots = 300;
static uint32_t opt_hijacked = 6;
static uint32_t opt_spammers = 8;
static double opt_pace;			/* -P: lines per second in real time; 0: as fast as it can */
static double opt_rotate_s;		/* -R: rotate the output file every this many seconds */
static uint32_t naccounts;			/* the ISP's mail accounts: HOSTS / 4 */

/* ---- random numbers: xoshiro256**, seeded by splitmix64 ----------------------------- */

static uint64_t rs[4];

static uint64_t
splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t
rnd(void)
{
	uint64_t r = rotl(rs[1] * 5, 7) * 9, t = rs[1] << 17;
	rs[2] ^= rs[0];
	rs[3] ^= rs[1];
	rs[1] ^= rs[2];
	rs[0] ^= rs[3];
	rs[2] ^= t;
	rs[3] = rotl(rs[3], 45);
	return r;
}

static double
urand(void)
{
	return (double)(rnd() >> 11) * (1.0 / 9007199254740992.0);
}

static uint32_t
below(uint32_t n)
{
	return n ? (uint32_t)(((rnd() >> 32) * (uint64_t)n) >> 32) : 0;
}

static int
chance(double p)
{
	return urand() < p;
}

static double
expo(double mean)
{
	return -mean * log(1.0 - urand());
}

static int64_t
between_us(double lo_s, double hi_s)
{
	return (int64_t)((lo_s + (hi_s - lo_s) * urand()) * USEC);
}

/* A stable hash of an index: population attributes that must not depend on draw order. */
static uint64_t
mix(uint64_t a, uint64_t b)
{
	uint64_t x = a * 0x9e3779b97f4a7c15ULL ^ (b + opt_seed * 0x632be59bd9b4e019ULL);
	return splitmix(&x);
}

/* ---- word lists ------------------------------------------------------------------- */

static const char *const firsts[] = {
	"anna", "ben", "carla", "david", "emma", "felix", "greta", "hans", "ida", "jonas",
	"karin", "lukas", "maria", "nils", "olga", "paul", "rita", "sven", "tina", "uwe",
	"vera", "willi", "yvonne", "zoe", "alex", "bea", "chris", "dora", "erik", "frank",
	"gina", "henrik", "ines", "jan", "kim", "lena", "marc", "nina", "oskar", "petra",
	"ralf", "sara", "tom", "ulla", "viktor", "wanda", "laura", "max", "julia", "leon",
	"sophie", "noah", "mia", "elias", "lea", "finn", "clara", "moritz", "hannah", "luis",
};
static const char *const lasts[] = {
	"mueller", "schmidt", "schneider", "fischer", "weber", "meyer", "wagner", "becker",
	"schulz", "hoffmann", "koch", "richter", "klein", "wolf", "neumann", "schwarz",
	"braun", "zimmermann", "krueger", "hartmann", "lange", "werner", "krause", "lehmann",
	"martin", "bernard", "dubois", "thomas", "robert", "richard", "petit", "durand",
	"smith", "jones", "taylor", "brown", "wilson", "evans", "walker", "wright",
	"rossi", "russo", "ferrari", "esposito", "bianchi", "romano", "colombo", "ricci",
	"jansen", "devries", "bakker", "visser", "smit", "meijer", "bos", "mulder",
};
static const char *const words[] = {
	"alpen", "baker", "birch", "blue", "bright", "castle", "cedar", "clear", "cloud",
	"coast", "corner", "crest", "delta", "eagle", "elm", "falcon", "field", "fjord",
	"forest", "fox", "garden", "gold", "green", "harbor", "hill", "holz", "iron", "island",
	"lake", "light", "lind", "maple", "meadow", "mill", "moon", "nord", "north", "oak",
	"ocean", "orchard", "park", "pine", "plaza", "quarry", "rain", "raven", "red", "ridge",
	"river", "rock", "rose", "salt", "sand", "silver", "sky", "snow", "south", "spring",
	"star", "stein", "stone", "storm", "summer", "sun", "tal", "tide", "tower", "valley",
	"vine", "wald", "water", "west", "wind", "winter", "wood", "berg", "haus", "shop",
	"media", "tech", "data", "bau", "auto", "reisen", "print", "design", "consult", "dental",
};
static const char *const tlds[] = { "com", "de", "net", "org", "fr", "nl", "it", "at", "ch", "eu" };

#define NW(a) (sizeof(a) / sizeof((a)[0]))

/* ---- destination domains ------------------------------------------------------------ */

enum mxkind { MX_GMAIL, MX_YAHOO, MX_OUTLOOK, MX_GMX, MX_TONLINE, MX_ICLOUD, MX_ORANGE,
	MX_LOCAL, MX_POSTFIX };

struct domain {
	char name[40];
	char mx[72];		/* NAME[ADDR] */
	int kind;
	int tls;		/* 0 none, 1 untrusted, 2 trusted, 3 verified */
	double weight;
};

static struct domain *doms;
static uint32_t ndoms, nbig;
static double *dom_cum;		/* cumulative weights over doms */

static void
dom_add(const char *name, const char *mx, int kind, int tls, double weight)
{
	struct domain *d = &doms[ndoms++];
	snprintf(d->name, sizeof(d->name), "%s", name);
	snprintf(d->mx, sizeof(d->mx), "%s", mx);
	d->kind = kind;
	d->tls = tls;
	d->weight = weight;
}

static void
domains_init(void)
{
	const uint32_t tail = 3000;
	double tail_total = 30, zsum = 0;

	doms = calloc(tail + 32, sizeof(*doms));
	dom_cum = calloc(tail + 32, sizeof(*dom_cum));
	if (doms == NULL || dom_cum == NULL)
		exit(1);
	dom_add("gmail.com", "gmail-smtp-in.l.google.com[142.250.27.26]", MX_GMAIL, 3, 24);
	dom_add("googlemail.com", "gmail-smtp-in.l.google.com[142.250.153.27]", MX_GMAIL, 3, 1);
	dom_add("yahoo.com", "mta7.am0.yahoodns.net[67.195.204.72]", MX_YAHOO, 2, 4);
	dom_add("outlook.com", "outlook-com.olc.protection.outlook.com[52.101.68.1]", MX_OUTLOOK, 3, 5);
	dom_add("hotmail.com", "hotmail-com.olc.protection.outlook.com[52.101.73.2]", MX_OUTLOOK, 3, 4);
	dom_add("gmx.de", "mx00.emig.gmx.net[212.227.15.9]", MX_GMX, 3, 4);
	dom_add("web.de", "mx-ha03.web.de[212.227.17.8]", MX_GMX, 3, 4);
	dom_add("t-online.de", "mx00.t-online.de[194.25.134.8]", MX_TONLINE, 2, 3);
	dom_add("icloud.com", "mx01.mail.icloud.com[17.57.154.33]", MX_ICLOUD, 2, 3);
	dom_add("orange.fr", "smtp-in.orange.fr[80.12.242.13]", MX_ORANGE, 1, 2);
	dom_add("aol.com", "mx-aol.mail.gm0.yahoodns.net[67.195.204.77]", MX_YAHOO, 2, 1);
	dom_add(ISP_DOMAIN, "mail.isp.example[10.255.0.30]:24", MX_LOCAL, 0, 11);
	nbig = ndoms;
	for (uint32_t i = 0; i < tail; i++)
		zsum += 1.0 / (i + 3);
	for (uint32_t i = 0; i < tail; i++) {
		uint64_t h = mix(0xd0d0, i);
		char name[40], mx[72];
		int kind = MX_POSTFIX, tls = (int)(h % 4);
		const char *w1 = words[h % NW(words)], *w2 = words[(h >> 8) % NW(words)];
		const char *tld = tlds[(h >> 16) % NW(tlds)];

		if ((h >> 24) % 3 == 0)
			snprintf(name, sizeof(name), "%s%s%u.%s", w1, w2, (unsigned)(i % 97), tld);
		else
			snprintf(name, sizeof(name), "%s-%s%u.%s", w1, w2, (unsigned)(i % 89), tld);
		switch ((h >> 32) % 10) {
		case 0: case 1:		/* Microsoft 365 */
			snprintf(mx, sizeof(mx), "%.30s.mail.protection.outlook.com[52.101.%u.%u]",
			    name, (unsigned)(h >> 40) % 100 + 40, (unsigned)(h >> 48) % 250 + 1);
			{
				char *dot = strchr(mx, '.');
				/* "baker-hill.de" -> "baker-hill-de.mail.protection..." */
				if (dot != NULL && dot < strstr(mx, ".mail.protection"))
					*dot = '-';
			}
			kind = MX_OUTLOOK;
			tls = 3;
			break;
		case 2:			/* Google Workspace */
			snprintf(mx, sizeof(mx), "aspmx.l.google.com[142.250.%u.%u]",
			    (unsigned)(h >> 40) % 200 + 1, (unsigned)(h >> 48) % 250 + 1);
			kind = MX_GMAIL;
			tls = 3;
			break;
		default:
			snprintf(mx, sizeof(mx), "mx%u.%s[%s.%u]", (unsigned)(h >> 40) % 3,
			    name, (h >> 44) & 1 ? "203.0.113" : "198.51.100",
			    (unsigned)(h >> 48) % 254 + 1);
		}
		dom_add(name, mx, kind, tls, tail_total / zsum / (i + 3));
	}
	double c = 0;
	for (uint32_t i = 0; i < ndoms; i++)
		dom_cum[i] = (c += doms[i].weight);
}

/* A destination domain by popularity. */
static uint32_t
dom_pick(void)
{
	double x = urand() * dom_cum[ndoms - 1];
	uint32_t lo = 0, hi = ndoms - 1;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (dom_cum[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* A domain of the long tail, uniformly: what a harvested address list looks like. */
static uint32_t
dom_pick_tail(void)
{
	if (chance(0.3))
		return below(nbig - 1);		/* the big ones but our own */
	return nbig + below(ndoms - nbig);
}

static void
localpart(char *buf, size_t size, uint64_t h)
{
	const char *f = firsts[h % NW(firsts)], *l = lasts[(h >> 8) % NW(lasts)];
	unsigned n = (unsigned)((h >> 16) % 100);

	switch ((h >> 24) % 6) {
	case 0: snprintf(buf, size, "%s.%s", f, l); break;
	case 1: snprintf(buf, size, "%s%s", f, l); break;
	case 2: snprintf(buf, size, "%c%s%u", f[0], l, n); break;
	case 3: snprintf(buf, size, "%s_%s", f, l); break;
	case 4: snprintf(buf, size, "%s%u", f, 1950 + n % 60); break;
	default: snprintf(buf, size, "%s.%s%u", f, l, n % 10); break;
	}
}

/* ---- the population: subscriber hosts and accounts ------------------------------------ */

struct client {
	uint64_t id;		/* stable per host: its usual sender address */
	char name[80];
	char addr[48];
	char helo[64];
	char net[24];		/* the /24, for hijack bookkeeping */
};

/* Subscriber host i: 10.0.0.0/8 (a permutation, so unique) or 10 % IPv6 /64s. */
static void
host_client(uint32_t i, struct client *c)
{
	uint64_t h = mix(0x4057, i);
	c->id = h;

	uint32_t a = (uint32_t)(((uint64_t)i * 2654435761u + 12345) & 0xffffff);
	int a1 = (a >> 16) & 255, a2 = (a >> 8) & 255, a3 = a & 255;

	if (a3 == 0 || a3 == 255)
		a3 = 1 + (int)(h % 250);
	if (h % 10 == 0) {
		snprintf(c->addr, sizeof(c->addr), "2001:db8:%x:%x:%x:%x:%x:%x",
		    (unsigned)(i >> 8) & 0xfff, (unsigned)(i & 0xff) << 4,
		    (unsigned)(h >> 16) & 0xffff, (unsigned)(h >> 32) & 0xffff,
		    (unsigned)(h >> 48) & 0xffff, ((unsigned)(h >> 8) & 0xff) | 1);
		snprintf(c->name, sizeof(c->name), "unknown");
	} else {
		snprintf(c->addr, sizeof(c->addr), "10.%d.%d.%d", a1, a2, a3);
		if ((h >> 8) % 10 < 7)
			snprintf(c->name, sizeof(c->name), "dyn-10-%d-%d-%d.%s.isp.example", a1, a2, a3,
			    (h >> 12) % 3 == 0 ? "cable" : "dsl");
		else if ((h >> 8) % 10 < 9)
			snprintf(c->name, sizeof(c->name), "unknown");
		else
			snprintf(c->name, sizeof(c->name), "mail.%s", doms[nbig + (h >> 20) % 3000].name);
	}
	switch ((h >> 40) % 6) {
	case 0: snprintf(c->helo, sizeof(c->helo), "DESKTOP-%04X%03X", (unsigned)(h >> 44) & 0xffff,
	    (unsigned)(h >> 50) & 0xfff); break;
	case 1: snprintf(c->helo, sizeof(c->helo), "[192.168.%u.%u]", (unsigned)(h >> 44) % 3,
	    (unsigned)(h >> 50) % 200 + 2); break;
	case 2: snprintf(c->helo, sizeof(c->helo), "%s", strcmp(c->name, "unknown") ? c->name : "localhost"); break;
	case 3: snprintf(c->helo, sizeof(c->helo), "fritz.box"); break;
	case 4: snprintf(c->helo, sizeof(c->helo), "%s-PC", firsts[(h >> 44) % NW(firsts)]); break;
	default: snprintf(c->helo, sizeof(c->helo), "localhost.localdomain"); break;
	}
	snprintf(c->net, sizeof(c->net), "10.%d.%d", a1, a2);
}

/* An address outside the ISP: 198.18.0.0/15 (512 /24s). */
static void
outside_client(uint32_t net24, uint32_t host, struct client *c, int named)
{
	unsigned b = 18 + ((net24 >> 8) & 1), n = net24 & 255;

	c->id = mix(0x075, (uint64_t)net24 << 8 | host);
	snprintf(c->addr, sizeof(c->addr), "198.%u.%u.%u", b, n, host % 254 + 1);
	snprintf(c->net, sizeof(c->net), "198.%u.%u", b, n);
	if (named)
		snprintf(c->name, sizeof(c->name), "static-198-%u-%u-%u.customer.%s", b, n, host % 254 + 1,
		    doms[nbig + (net24 * 7) % 3000].name);
	else
		snprintf(c->name, sizeof(c->name), "unknown");
	snprintf(c->helo, sizeof(c->helo), "[%s]", c->addr);
}

/* Mobile (CGNAT) address of account i: one of two /24s in 100.64.0.0/10. */
static void
mobile_client(uint32_t i, struct client *c)
{
	uint64_t h = mix(0x3081, i);
	c->id = h;
	unsigned x = (unsigned)(h & 0x3fff) + (unsigned)((h >> 20) & 1);	/* /24 number */
	snprintf(c->addr, sizeof(c->addr), "100.%u.%u.%u", 64 + (x >> 8) % 64, x & 255,
	    (unsigned)below(250) + 2);
	snprintf(c->net, sizeof(c->net), "100.%u.%u", 64 + (x >> 8) % 64, x & 255);
	snprintf(c->name, sizeof(c->name), "unknown");
	snprintf(c->helo, sizeof(c->helo), "[10.%u.%u.%u]", (unsigned)below(250), (unsigned)below(250),
	    (unsigned)below(250) + 2);
}

static void
account_name(uint32_t i, char *buf, size_t size)
{
	/* unique: (first, last, number) follows from a permutation of i */
	uint32_t j = (uint32_t)(((uint64_t)i * 1000003u + 7) % (naccounts ? naccounts : 1));
	uint64_t h = mix(0xacc, i);
	const char *f = firsts[j % NW(firsts)], *l = lasts[(j / NW(firsts)) % NW(lasts)];
	unsigned k = (unsigned)(j / (NW(firsts) * NW(lasts)));
	static const char *const sep[] = { ".", "_", "", "." };
	char num[16] = "";

	if (k > 0)
		snprintf(num, sizeof(num), "%u", k + (h % 2 ? 1950 : 0));
	snprintf(buf, size, "%s%s%s%s@" ISP_DOMAIN, f, sep[h % 4], l, num);
}

/* ---- the event heap ----------------------------------------------------------------- */

enum { EV_LINE, EV_SOURCE };

struct event {
	int64_t t;
	uint64_t seq;
	int type;
	int src;
	char *text;
};

static struct event *heap;
static size_t nheap, capheap;
static uint64_t seqno;

static int
ev_less(const struct event *a, const struct event *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static void
heap_push(struct event e)
{
	if (nheap == capheap) {
		capheap = capheap ? capheap * 2 : 65536;
		if ((heap = realloc(heap, capheap * sizeof(*heap))) == NULL) {
			perror("maillog_gen");
			exit(1);
		}
	}
	e.seq = seqno++;
	size_t i = nheap++;
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!ev_less(&e, &heap[p]))
			break;
		heap[i] = heap[p];
		i = p;
	}
	heap[i] = e;
}

static struct event
heap_pop(void)
{
	struct event top = heap[0], last = heap[--nheap];
	size_t i = 0;
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		const struct event *mv = &last;
		if (l < nheap && ev_less(&heap[l], mv))
			m = l, mv = &heap[l];
		if (r < nheap && ev_less(&heap[r], mv))
			m = r;
		if (m == i)
			break;
		heap[i] = heap[m];
		i = m;
	}
	if (nheap > 0)
		heap[i] = last;
	return top;
}

/* Schedules one log line (without time stamp and host) at time t. */
static void __attribute__((format(printf, 2, 3)))
emit(int64_t t, const char *fmt, ...)
{
	char buf[LINE_MAX_GEN];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	char *s = malloc((size_t)n + 1);
	if (s == NULL) {
		perror("maillog_gen");
		exit(1);
	}
	memcpy(s, buf, (size_t)n + 1);
	heap_push((struct event){ .t = t, .type = EV_LINE, .text = s });
}

static void
schedule(int64_t t, int src)
{
	heap_push((struct event){ .t = t, .type = EV_SOURCE, .src = src });
}

/* ---- time formatting ---------------------------------------------------------------- */

static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
	"Sep", "Oct", "Nov", "Dec" };

static void
civil_from_days(int64_t z, int *yy, int *mm, int *dd)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t y = yoe + era * 400;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int d = (int)(doy - (153 * mp + 2) / 5 + 1);
	int m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*yy = (int)(y + (m <= 2));
	*mm = m;
	*dd = d;
}

struct tparts {
	int y, mo, d, h, mi, s;
};

static void
tsplit(int64_t t_us, struct tparts *p)
{
	int64_t secs = t_us / USEC, days = secs / 86400, rem = secs % 86400;
	civil_from_days(days, &p->y, &p->mo, &p->d);
	p->h = (int)(rem / 3600);
	p->mi = (int)(rem / 60 % 60);
	p->s = (int)(rem % 60);
}

/* "Nov 23 06:40:01" as anvil and scache write it inside their messages. */
static const char *
t3164(int64_t t_us, char *buf, size_t size)
{
	struct tparts p;
	tsplit(t_us, &p);
	snprintf(buf, size, "%s %2d %02d:%02d:%02d", months[p.mo - 1], p.d, p.h, p.mi, p.s);
	return buf;
}

/* ---- small formatting helpers ------------------------------------------------------------ */

/* Postfix's delay format: "0", "0.01", "0.35", "1.2", "12". */
static const char *
fmt_delay(double x, char *buf, size_t size)
{
	if (x < 0.005)
		snprintf(buf, size, "0");
	else if (x < 0.1)
		snprintf(buf, size, "%.2f", x);
	else if (x < 10) {
		snprintf(buf, size, "%.2g", x);
	} else
		snprintf(buf, size, "%.0f", x);
	return buf;
}

static const char b52[] = "0123456789BCDFGHJKLMNPQRSTVWXYbcdfghjklmnpqrstvwxy";	/* no vowels, no 'z' */

static uint32_t inode_next = 0x1a7e590;

/* A queue ID for a file created at t: short (hex) or, on a fraction, long. */
static void
make_qid(int64_t t, char *buf, size_t size, int is_long)
{
	uint32_t ino = (inode_next += 1 + below(37)) & 0xffffff;
	if (ino < 0x100000)
		ino += 0x100000;
	if (!is_long) {
		snprintf(buf, size, "%05X%X", (unsigned)(t % USEC) & 0xfffff, (unsigned)ino);
		return;
	}
	char tmp[32];
	size_t n = 0, base = sizeof(b52) - 1;
	uint64_t sec = (uint64_t)(t / USEC), us = (uint64_t)(t % USEC);
	for (int i = 5; i >= 0; i--, sec /= base)
		tmp[i] = b52[sec % base];
	for (int i = 9; i >= 6; i--, us /= base)
		tmp[i] = b52[us % base];
	tmp[10] = 'z';
	n = 11;
	char rev[16];
	size_t k = 0;
	for (uint32_t x = ino; x > 0 && k < sizeof(rev); x /= (uint32_t)base)
		rev[k++] = b52[x % base];
	while (k > 0)
		tmp[n++] = rev[--k];
	tmp[n] = '\0';
	snprintf(buf, size, "%s", tmp);
}

/* ---- process ids ------------------------------------------------------------------ */

enum { P_SMTPD, P_SUBM, P_CLEANUP, P_SMTP, P_LMTP, P_BOUNCE, P_LOCAL, P_COUNT };
static const unsigned pool_size[P_COUNT] = { 120, 30, 24, 150, 20, 4, 3 };
static unsigned *pools[P_COUNT];
static unsigned next_pid = 20311;
static unsigned pid_qmgr = 1187, pid_pickup = 1186, pid_anvil, pid_scache, pid_dovecot = 812;

static void
pids_init(void)
{
	for (int p = 0; p < P_COUNT; p++) {
		pools[p] = calloc(pool_size[p], sizeof(unsigned));
		for (unsigned i = 0; i < pool_size[p]; i++)
			pools[p][i] = (next_pid += 1 + below(40));
	}
	pid_anvil = (next_pid += 3);
	pid_scache = (next_pid += 5);
}

/* A process of pool p; now and then one exits (max_use) and a new one takes its place. */
static unsigned
pid(int p)
{
	unsigned i = below(pool_size[p]);
	if (chance(0.004))
		pools[p][i] = (next_pid += 1 + below(60));
	if (next_pid > 4190000)
		next_pid = 300;
	return pools[p][i];
}

/* ---- outcomes and remote replies -------------------------------------------------------- */

enum outcome { O_SENT, O_UNKNOWN, O_SPAM, O_FULL, O_DEFER, O_NXDOMAIN, O_POLICY, O_COUNT };

struct profile {
	double p[O_COUNT];
	double local_unknown;	/* of recipients at our own domain: refused at RCPT (5.1.1) */
};

static const struct profile prof_normal = { { 0.958, 0.015, 0.0002, 0.003, 0.02, 0.003, 0.0008 }, 0.02 };
static const struct profile prof_bot = { { 0.22, 0.64, 0.06, 0.005, 0.05, 0.025, 0 }, 0.6 };
static const struct profile prof_hijack = { { 0.6, 0.3, 0.08, 0.005, 0.015, 0, 0 }, 0.3 };
static const struct profile prof_spammer = { { 0.55, 0.08, 0.35, 0, 0.02, 0, 0 }, 0.05 };
static const struct profile prof_bounce = { { 0.45, 0.45, 0, 0.02, 0.03, 0.05, 0 }, 0.5 };

static int
outcome_pick(const struct profile *pr)
{
	double x = urand(), c = 0;
	for (int o = 0; o < O_COUNT; o++)
		if (x < (c += pr->p[o]))
			return o;
	return O_SENT;
}

static const char *const tls_fields[] = { "may", "may", "may", "verify", "dane", "encrypt" };

/* The "(TEXT)" and dsn of one delivery, by destination kind and outcome. */
static void
reply_text(const struct domain *d, const char *mxname, int o, const char *rcpt, char *dsn, size_t dsize,
    char *text, size_t tsize, int *relay_none, int *bounced)
{
	*relay_none = 0;
	*bounced = 1;
	switch (o) {
	case O_SENT:
		*bounced = 0;
		snprintf(dsn, dsize, "2.0.0");
		switch (d->kind) {
		case MX_GMAIL:
			snprintf(text, tsize, "250 2.0.0 OK  %u %c%ci%u-%05x%03x.%u - gsmtp",
			    1795000000u + below(900000), 'a' + (char)below(26), 'a' + (char)below(26),
			    below(99), (unsigned)below(0xfffff), (unsigned)below(0xfff), below(400));
			break;
		case MX_OUTLOOK:
			snprintf(dsn, dsize, "2.6.0");
			snprintf(text, tsize, "250 2.6.0 <%08X.%06X@%s> [InternalId=%u, Hostname=AM%uPR0%uMB%u.eurprd0%u.prod.outlook.com] "
			    "%u bytes in 0.%03u, %u.%03u KB/sec Queued mail for delivery",
			    (unsigned)below(0xffffffff), (unsigned)below(0xffffff), RELAY_FQDN,
			    (unsigned)below(2000000000), below(9), below(9), below(9000) + 1000, below(9) + 1,
			    below(90000) + 2000, below(1000), below(900) + 10, below(1000));
			break;
		case MX_YAHOO:
			snprintf(text, tsize, "250 ok dirdel");
			break;
		case MX_GMX:
			snprintf(text, tsize, "250 Requested mail action okay, completed: id=1M%cx%c%c-1%c%u%c%c%u",
			    'A' + (char)below(26), 'a' + (char)below(26), 'A' + (char)below(26),
			    'a' + (char)below(26), below(9), 'A' + (char)below(26), 'a' + (char)below(26), below(99));
			break;
		case MX_LOCAL:
			snprintf(text, tsize, "250 2.0.0 <%s> %08xS%07x Saved", rcpt, (unsigned)below(0xffffffff),
			    (unsigned)below(0xfffffff));
			break;
		default:
			snprintf(text, tsize, "250 2.0.0 Ok: queued as %05X%X", (unsigned)below(0xfffff),
			    (unsigned)below(0xffffff) | 0x100000);
		}
		return;
	case O_UNKNOWN:
		switch (d->kind) {
		case MX_GMAIL:
			snprintf(dsn, dsize, "5.1.1");
			snprintf(text, tsize, "host %s said: 550-5.1.1 The email account that you tried to reach does "
			    "not exist. Please try 550-5.1.1 double-checking the recipient's email address for typos or "
			    "550-5.1.1 unnecessary spaces. Learn more at 550 5.1.1 "
			    "https://support.google.com/mail/?p=NoSuchUser %c%u-%05x%03x.%u - gsmtp (in reply to RCPT TO command)",
			    mxname, 'a' + (char)below(26), below(99), (unsigned)below(0xfffff), (unsigned)below(0xfff), below(400));
			break;
		case MX_OUTLOOK:
			if (d < doms + nbig) {
				snprintf(dsn, dsize, "5.5.0");
				snprintf(text, tsize, "host %s said: 550 5.5.0 Requested action not taken: mailbox "
				    "unavailable (S2017062302). (in reply to RCPT TO command)", mxname);
			} else {
				snprintf(dsn, dsize, "5.1.10");
				snprintf(text, tsize, "host %s said: 550 5.1.10 RESOLVER.ADR.RecipientNotFound; "
				    "Recipient not found by SMTP address lookup (in reply to RCPT TO command)", mxname);
			}
			break;
		case MX_YAHOO:
			snprintf(dsn, dsize, "5.0.0");
			snprintf(text, tsize, "host %s said: 554 delivery error: dd This user doesn't have a %s "
			    "account (%s) [0] - mta10%02u.mail.ne1.yahoo.com (in reply to end of DATA command)",
			    mxname, d->name, rcpt, below(99));
			break;
		case MX_GMX:
			snprintf(dsn, dsize, "5.1.1");
			snprintf(text, tsize, "host %s said: 550 Requested action not taken: mailbox unavailable "
			    "(in reply to RCPT TO command)", mxname);
			break;
		default:
			snprintf(dsn, dsize, "5.1.1");
			snprintf(text, tsize, "host %s said: 550 5.1.1 <%s>: Recipient address rejected: User "
			    "unknown (in reply to RCPT TO command)", mxname, rcpt);
		}
		return;
	case O_SPAM:
		snprintf(dsn, dsize, "5.7.1");
		switch (d->kind == MX_GMAIL ? 0 : d->kind == MX_OUTLOOK ? 1 : 2 + (int)below(3)) {
		case 0:
			snprintf(text, tsize, "host %s said: 550-5.7.1 [" RELAY_IP "] Our system has detected that "
			    "this message is 550-5.7.1 likely unsolicited mail. To reduce the amount of spam sent to "
			    "Gmail, 550-5.7.1 this message has been blocked. For more information, go to 550 5.7.1 "
			    "https://support.google.com/mail/?p=UnsolicitedMessageError %c%u-%05x%03x.%u - gsmtp "
			    "(in reply to end of DATA command)", mxname, 'a' + (char)below(26), below(99),
			    (unsigned)below(0xfffff), (unsigned)below(0xfff), below(400));
			break;
		case 1:
			snprintf(text, tsize, "host %s said: 550 5.7.1 Unfortunately, messages from [" RELAY_IP "] "
			    "weren't sent. Please contact your Internet service provider since part of their network "
			    "is on our block list (S3150). You can also refer your provider to "
			    "http://mail.live.com/mail/troubleshooting.aspx#errors. (in reply to MAIL FROM command)", mxname);
			break;
		case 2:
			snprintf(text, tsize, "host %s said: 554 5.7.1 Message rejected: a URL in the message body is "
			    "listed in the dbl.spamhaus.org blocklist (in reply to end of DATA command)", mxname);
			break;
		case 3:
			snprintf(text, tsize, "host %s said: 550 5.7.1 Message rejected as spam by Content Filtering. "
			    "(in reply to end of DATA command)", mxname);
			break;
		default:
			snprintf(text, tsize, "host %s said: 554 5.7.1 Service unavailable; Client host [" RELAY_IP "] "
			    "blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/" RELAY_IP
			    " (in reply to RCPT TO command)", mxname);
		}
		return;
	case O_FULL:
		if (d->kind == MX_GMAIL) {
			*bounced = 0;
			snprintf(dsn, dsize, "4.2.2");
			snprintf(text, tsize, "host %s said: 452-4.2.2 The recipient's inbox is out of storage space. "
			    "Please direct the 452-4.2.2 recipient to 452 4.2.2 "
			    "https://support.google.com/mail/?p=OverQuotaTemp - gsmtp (in reply to RCPT TO command)", mxname);
		} else {
			snprintf(dsn, dsize, "5.2.2");
			snprintf(text, tsize, "host %s said: 552 5.2.2 <%s> Quota exceeded (mailbox for user is full) "
			    "(in reply to end of DATA command)", mxname, rcpt);
		}
		return;
	case O_DEFER:
		*bounced = 0;
		switch (d->kind == MX_YAHOO ? 0 : d->kind == MX_POSTFIX ? 1 + (int)below(4) : d->kind == MX_GMAIL ? 5 :
		    d->kind == MX_OUTLOOK ? 6 : 4) {
		case 0:
			snprintf(dsn, dsize, "4.7.0");
			snprintf(text, tsize, "host %s said: 421 4.7.0 [TSS04] Messages from " RELAY_IP " temporarily "
			    "deferred due to unexpected volume or user complaints - 4.16.55.1; see "
			    "https://postmaster.yahooinc.com/error-codes (in reply to MAIL FROM command)", mxname);
			break;
		case 1:
			snprintf(dsn, dsize, "4.2.0");
			snprintf(text, tsize, "host %s said: 450 4.2.0 <%s>: Recipient address rejected: Greylisted, "
			    "see http://postgrey.schweikert.ch/help/%s.html (in reply to RCPT TO command)", mxname, rcpt,
			    d->name);
			break;
		case 2: {
			char host[72];
			snprintf(host, sizeof(host), "%s", mxname);
			*relay_none = 1;
			snprintf(dsn, dsize, "4.4.1");
			snprintf(text, tsize, "connect to %s:25: Connection timed out", host);
			break;
		}
		case 5:
			snprintf(dsn, dsize, "4.7.0");
			snprintf(text, tsize, "host %s said: 421-4.7.0 Try again later, closing connection. (EHLO) "
			    "%c%u-%05x%03x.%u - gsmtp (in reply to end of DATA command)", mxname, 'a' + (char)below(26),
			    below(99), (unsigned)below(0xfffff), (unsigned)below(0xfff), below(400));
			break;
		case 6:
			snprintf(dsn, dsize, "4.7.500");
			snprintf(text, tsize, "host %s said: 451 4.7.500 Server busy. Please try again later from "
			    "[" RELAY_IP "]. (AS761) (in reply to RCPT TO command)", mxname);
			break;
		default:
			snprintf(dsn, dsize, "4.7.1");
			snprintf(text, tsize, "host %s said: 451 4.7.1 Please try again later (in reply to RCPT TO "
			    "command)", mxname);
		}
		return;
	case O_NXDOMAIN:
		*relay_none = 1;
		snprintf(dsn, dsize, "5.4.4");
		snprintf(text, tsize, "Host or domain name not found. Name service error for name=%s type=AAAA: "
		    "Host not found", strchr(rcpt, '@') ? strchr(rcpt, '@') + 1 : rcpt);
		return;
	default:	/* O_POLICY */
		snprintf(dsn, dsize, "5.7.26");
		snprintf(text, tsize, "host %s said: 550-5.7.26 This mail has been blocked because the sender is "
		    "unauthenticated. 550-5.7.26 Gmail requires all senders to authenticate with either SPF or "
		    "DKIM. (in reply to end of DATA command)", mxname);
		return;
	}
}

/* ---- one message ------------------------------------------------------------------------ */

struct rcpt {
	char addr[96];
	char orig[96];		/* orig_to, or "" */
	uint32_t dom;
	int outcome;
	int tries;
	int final;		/* delivered or bounced */
	int bounced;
};

struct stats {
	uint64_t messages, recipients, bounces, deferrals, rejects, sessions, notices;
} st;

static char nxdomains[][24] = { "gmial.com", "yaho.com", "hotmial.com", "gmx.ed", "t-onlin.de" };

/* Picks recipient r with domain selection `tail` (harvested) or by popularity. */
static void
rcpt_make(struct rcpt *r, int tail, const struct profile *pr)
{
	char lp[64];
	memset(r, 0, sizeof(*r));
	r->dom = tail ? dom_pick_tail() : dom_pick();
	localpart(lp, sizeof(lp), rnd());
	r->outcome = outcome_pick(pr);
	if (r->outcome == O_NXDOMAIN) {
		snprintf(r->addr, sizeof(r->addr), "%s@%s", lp, nxdomains[below(NW(nxdomains))]);
		return;
	}
	if (doms[r->dom].kind == MX_LOCAL) {
		/* our own users: delivered over LMTP, never refused remotely */
		if (r->outcome != O_SENT && r->outcome != O_FULL)
			r->outcome = O_SENT;
	} else if (!tail && r->outcome == O_SENT && chance(0.03)) {
		/* a forward: the subscriber's old address at the ISP, now at a freemail */
		snprintf(r->orig, sizeof(r->orig), "%s@" ISP_DOMAIN, lp);
	}
	snprintf(r->addr, sizeof(r->addr), "%s@%s", lp, doms[r->dom].name);
}

struct sender {
	char addr[96];
	uint32_t dom;		/* its domain: where a non-delivery notification goes */
	int local;		/* at ISP_DOMAIN: notifications come back over LMTP */
};

static void deliver_notice(int64_t t, const char *nq, const struct sender *to, int long_ids);

/* "mx.example.org[192.0.2.1]" of a domain's "NAME[ADDR](:PORT)". */
static void
mx_host(const struct domain *d, char *buf, size_t size)
{
	snprintf(buf, size, "%s", d->mx);
	char *colon = strstr(buf, "]:");
	if (colon != NULL)
		colon[1] = '\0';
}

/*
 * Delivery of the n accepted recipients of message qid (arrived at `arrival`)
 * from time t (just after the qmgr from= line): one smtp (or lmtp) process per
 * destination domain, a line per recipient, a non-delivery notification at the
 * end of a pass in which some bounced, retries of the deferred ones 5 to 40
 * minutes later (qmgr logs from= again each time), then "removed".
 */
static void
deliver(int64_t t, int64_t arrival, const char *qid, struct rcpt *rc, int n, const struct sender *s,
    uint64_t size, int long_ids, int is_notice)
{
	int pending = n, round = 0;
	int64_t end = t;

	for (;;) {
		int64_t round_end = t;
		int bounced_now = 0;

		for (int i = 0; i < n; i++) {
			if (rc[i].final || rc[i].tries > round)
				continue;
			const struct domain *d = &doms[rc[i].dom];
			int lmtp = d->kind == MX_LOCAL, tls_logged = 0;
			unsigned p = lmtp ? pid(P_LMTP) : pid(P_SMTP);
			double b = chance(0.7) ? 0 : urand() * 0.02;			/* in qmgr */
			double c = lmtp ? urand() * 0.02 : 0.08 + expo(0.3);		/* connection setup */
			double dd = lmtp ? 0.02 + expo(0.05) : 0.1 + expo(0.4);		/* transmission */
			int conn_use = !lmtp && chance(0.15) ? 2 + (int)below(8) : 0;
			int64_t tt = t + (int64_t)((b + c) * USEC);
			char mxname[80];

			mx_host(d, mxname, sizeof(mxname));
			for (int j = i; j < n; j++) {
				struct rcpt *r = &rc[j];
				char dsn[16], text[1200], tlsf[24] = "", ds[4][16], dl[16], origf[120] = "", cu[24] = "";
				int relay_none, bounced, o = r->outcome;

				if (r->final || r->tries > round || r->dom != rc[i].dom)
					continue;
				if (round > 0)		/* a retry mostly gets through; the fourth always ends it */
					o = r->tries >= 3 ? (o == O_DEFER ? O_SENT : O_UNKNOWN) : chance(0.75) ? O_SENT : o;
				reply_text(d, mxname, o, r->addr, dsn, sizeof(dsn), text, sizeof(text), &relay_none, &bounced);
				int64_t at;
				if (relay_none && o == O_DEFER) {
					c = 30 + urand() * 0.1;
					at = t + (int64_t)((b + c) * USEC);
					emit(at - 100, "postfix/smtp[%u]: connect to %s:25: Connection timed out", p, mxname);
					dd = 0;
				} else {
					if (!tls_logged && !lmtp && !relay_none && d->tls > 0 && !conn_use) {
						static const char *const how[] = { "", "Untrusted", "Trusted", "Verified" };
						emit(tt - 1000, "postfix/smtp[%u]: %s TLS connection established to %s:25: TLSv1.3 "
						    "with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 "
						    "server-signature %s server-digest SHA256", p, how[d->tls], mxname,
						    d->kind == MX_GMAIL ? "ECDSA (P-256)" : "RSA-PSS (2048 bits)");
						tls_logged = 1;
					}
					if (relay_none)
						c = dd = 0;
					at = tt + (int64_t)(dd * USEC);
				}
				double delay = (double)(at - arrival) / USEC;
				double a = delay - b - c - dd;
				if (a < 0)
					a = 0;
				if (!lmtp && !relay_none && chance(0.3))
					snprintf(tlsf, sizeof(tlsf), "tls=%s, ", tls_fields[below(NW(tls_fields))]);
				if (r->orig[0])
					snprintf(origf, sizeof(origf), "orig_to=<%s>, ", r->orig);
				if (conn_use)
					snprintf(cu, sizeof(cu), "conn_use=%d, ", conn_use);
				const char *status = bounced ? "bounced" : o == O_SENT ? "sent" : "deferred";
				if (relay_none)
					emit(at, "postfix/smtp[%u]: %s: to=<%s>, %srelay=none, delay=%s, delays=%s/%s/%s/0, "
					    "dsn=%s, status=%s (%s)", p, qid, r->addr, origf, fmt_delay(delay, dl, sizeof(dl)),
					    fmt_delay(a, ds[0], 16), fmt_delay(b, ds[1], 16), fmt_delay(c, ds[2], 16),
					    dsn, status, text);
				else
					emit(at, "postfix/%s[%u]: %s: to=<%s>, %srelay=%s%s, %sdelay=%s, delays=%s/%s/%s/%s, "
					    "%sdsn=%s, status=%s (%s)", lmtp ? "lmtp" : "smtp", p, qid, r->addr, origf, d->mx,
					    lmtp ? "" : ":25", cu, fmt_delay(delay, dl, sizeof(dl)), fmt_delay(a, ds[0], 16),
					    fmt_delay(b, ds[1], 16), fmt_delay(c, ds[2], 16), fmt_delay(dd, ds[3], 16), tlsf,
					    dsn, status, text);
				if (at > round_end)
					round_end = at;
				r->tries++;
				if (o == O_SENT || bounced) {
					r->final = 1;
					bounced_now |= bounced;
					pending--;
					st.bounces += (uint64_t)bounced;
				} else
					st.deferrals++;
				dd += 0.01 + expo(0.05);	/* the next recipient on the same connection */
			}
		}
		end = round_end + 1000 + (int64_t)below(3000);
		if (bounced_now && !is_notice) {
			char nq[32];
			int64_t tb = round_end + 2000 + (int64_t)below(20000);
			make_qid(tb, nq, sizeof(nq), long_ids);
			emit(tb, "postfix/bounce[%u]: %s: sender non-delivery notification: %s", pid(P_BOUNCE), qid, nq);
			deliver_notice(tb, nq, s, long_ids);
			end = tb + 500 + (int64_t)below(2000);
		}
		if (pending == 0)
			break;
		round++;
		t = end + between_us(300 * round, 600 * round + 300);
		emit(t, "postfix/qmgr[%u]: %s: from=<%s>, size=%" PRIu64 ", nrcpt=%d (queue active)",
		    pid_qmgr, qid, s->addr, size, n);
		t += between_us(0.001, 0.05);
	}
	emit(end, "postfix/qmgr[%u]: %s: removed", pid_qmgr, qid);
}

/* The non-delivery notification nq (from=<>), created at t, to the original sender. */
static void
deliver_notice(int64_t t, const char *nq, const struct sender *to, int long_ids)
{
	struct rcpt r;
	struct tparts p;
	uint64_t size = 2400 + below(6000);
	const struct sender null = { "", 0, 0 };

	st.notices++;
	memset(&r, 0, sizeof(r));
	snprintf(r.addr, sizeof(r.addr), "%s", to->addr);
	r.dom = to->dom;
	if (to->local)
		r.outcome = below(500) ? O_SENT : O_FULL;
	else {
		/* bots forge their senders: much of the backscatter bounces in turn */
		r.outcome = outcome_pick(&prof_bounce);
		if (r.outcome == O_NXDOMAIN || r.outcome == O_POLICY || r.outcome == O_SPAM)
			r.outcome = O_UNKNOWN;
	}
	tsplit(t, &p);
	emit(t + 800, "postfix/cleanup[%u]: %s: message-id=<%04d%02d%02d%02d%02d%02d.%s@" RELAY_FQDN ">",
	    pid(P_CLEANUP), nq, p.y, p.mo, p.d, p.h, p.mi, p.s, nq);
	t += 1500 + (int64_t)below(3000);
	emit(t, "postfix/qmgr[%u]: %s: from=<>, size=%" PRIu64 ", nrcpt=1 (queue active)", pid_qmgr, nq, size);
	deliver(t + 1000, t, nq, &r, 1, &null, size, long_ids, 1);
}

/* The message-id of a message from client c at time t. */
static void
message_id(int64_t t, const struct client *c, const char *sender, char *buf, size_t size, int style)
{
	struct tparts p;
	tsplit(t, &p);
	const char *at = strchr(sender, '@');
	switch (style) {
	case 0:	/* Thunderbird, Apple Mail: a UUID */
		snprintf(buf, size, "%08x-%04x-%04x-%04x-%012" PRIx64 "@%s", (unsigned)rnd(), (unsigned)below(65536),
		    (unsigned)below(65536), (unsigned)below(65536), (uint64_t)(rnd() & 0xffffffffffffULL), at ? at + 1 : ISP_DOMAIN);
		break;
	case 1:	/* Outlook */
		snprintf(buf, size, "%03X%08X$%08X$%08X@%s", below(4096), (unsigned)rnd(), (unsigned)rnd(),
		    (unsigned)rnd(), c->helo[0] == '[' ? "DESKTOP" : c->helo);
		break;
	case 2:	/* bots: random junk */
		snprintf(buf, size, "%c%c%c%u%x$%u@%s", 'a' + (char)below(26), 'a' + (char)below(26),
		    'a' + (char)below(26), below(100000), (unsigned)rnd(), below(1000), at ? at + 1 : "localhost");
		break;
	default:	/* a script on a web server */
		snprintf(buf, size, "%04d%02d%02d%02d%02d%02d.%u.%u@%s", p.y, p.mo, p.d, p.h, p.mi, p.s,
		    below(99999), below(9999), at ? at + 1 : ISP_DOMAIN);
	}
}

struct session_opts {
	const struct client *c;
	int submission;		/* port 587 with SASL */
	const char *sasl_method, *sasl_user;
	int nmsgs;
	int min_rcpt, max_rcpt;	/* recipients per message, uniform; min_rcpt 0: the usual mix */
	int tail;		/* harvested recipient lists */
	int bot;		/* bot manners: forged senders, junk message-ids */
	const struct profile *pr;
	const struct sender *fixed_sender;
	uint64_t *count_msgs, *count_rcpts;
};

static int
usual_rcpt_count(void)
{
	double x = urand();
	if (x < 0.75)
		return 1;
	if (x < 0.95)
		return 2 + (int)below(3);
	return 5 + (int)below(11);
}

/* One SMTP session with its messages, all scheduled from time t. */
static void
session(int64_t t, const struct session_opts *o)
{
	const struct client *c = o->c;
	const char *svc = o->submission ? "postfix/submission/smtpd" : "postfix/smtpd";
	unsigned sp = o->submission ? pid(P_SUBM) : pid(P_SMTPD);
	int tls = o->submission || chance(0.35);
	int long_ids = chance(0.15);
	int mail = 0, rcpt_ok = 0, rcpt_all = 0, data = 0;

	st.sessions++;
	emit(t, "%s[%u]: connect from %s[%s]", svc, sp, c->name, c->addr);
	if (!o->submission && strncmp(c->name, "unknown", 7) == 0 && chance(0.05))
		emit(t + 800, "%s[%u]: warning: hostname dyn-%s.isp.example does not resolve to address %s: "
		    "Name or service not known", svc, sp, c->addr, c->addr);
	t += between_us(0.02, 0.3);
	if (tls) {
		emit(t, "%s[%u]: Anonymous TLS connection established from %s[%s]: TLSv1.%d with cipher %s",
		    svc, sp, c->name, c->addr, chance(0.8) ? 3 : 2,
		    chance(0.8) ? "TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature "
		    "RSA-PSS (2048 bits) server-digest SHA256" : "ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits)");
		t += between_us(0.02, 0.2);
	}
	for (int m = 0; m < o->nmsgs; m++) {
		struct rcpt rc[MAX_RCPT];
		struct sender s;
		int n = o->min_rcpt ? o->min_rcpt + (int)below((uint32_t)(o->max_rcpt - o->min_rcpt + 1)) :
		    usual_rcpt_count(), acc = 0;
		char qid[32] = "", lp[64];
		int64_t arrival = 0;

		if (n > MAX_RCPT)
			n = MAX_RCPT;
		mail++;
		/* the envelope sender */
		if (o->fixed_sender != NULL)
			s = *o->fixed_sender;
		else if (o->bot) {
			localpart(lp, sizeof(lp), rnd());
			s.dom = dom_pick_tail();
			snprintf(s.addr, sizeof(s.addr), "%s@%s", lp, doms[s.dom].name);
			s.local = doms[s.dom].kind == MX_LOCAL;
		} else {
			uint64_t h = mix(0x5e4d, c->id);
			localpart(lp, sizeof(lp), h);
			if (h % 10 < 6) {
				snprintf(s.addr, sizeof(s.addr), "%s@" ISP_DOMAIN, lp);
				s.dom = nbig - 1;
				s.local = 1;
			} else {
				s.dom = nbig + (uint32_t)((h >> 12) % (ndoms - nbig));
				snprintf(s.addr, sizeof(s.addr), "%s@%s", lp, doms[s.dom].name);
				s.local = 0;
			}
		}
		/* the relay's own refusal of the sender, now and then */
		t += between_us(0.01, 0.2);
		if (!o->bot && !o->submission && chance(0.002)) {
			char r0[96];
			localpart(lp, sizeof(lp), rnd());
			snprintf(r0, sizeof(r0), "%s@%s", lp, doms[dom_pick()].name);
			emit(t, "%s[%u]: NOQUEUE: reject: RCPT from %s[%s]: 450 4.1.8 <%s>: Sender address rejected: "
			    "Domain not found; from=<%s> to=<%s> proto=ESMTP helo=<%s>", svc, sp, c->name, c->addr,
			    s.addr, s.addr, r0, c->helo);
			st.rejects++;
			rcpt_all++;
			continue;
		}
		for (int i = 0; i < n; i++) {
			rcpt_make(&rc[acc], o->tail, o->pr);
			rcpt_all++;
			t += between_us(0.005, 0.08);
			if (doms[rc[acc].dom].kind == MX_LOCAL && chance(o->pr->local_unknown)) {
				/* our own domain: the relay knows its users and refuses at RCPT */
				emit(t, "%s[%u]: %s: reject: RCPT from %s[%s]: 550 5.1.1 <%s>: Recipient address rejected: "
				    "User unknown in virtual mailbox table; from=<%s> to=<%s> proto=ESMTP helo=<%s>",
				    svc, sp, qid[0] ? qid : "NOQUEUE", c->name, c->addr, rc[acc].addr, s.addr,
				    rc[acc].addr, c->helo);
				st.rejects++;
				continue;
			}
			if (acc == 0) {
				make_qid(t, qid, sizeof(qid), long_ids);
				arrival = t;
				if (o->sasl_user != NULL)
					emit(t, "%s[%u]: %s: client=%s[%s], sasl_method=%s, sasl_username=%s", svc, sp, qid,
					    c->name, c->addr, o->sasl_method, o->sasl_user);
				else
					emit(t, "%s[%u]: %s: client=%s[%s]", svc, sp, qid, c->name, c->addr);
			}
			acc++;
		}
		if (acc == 0)
			continue;		/* every recipient refused: no queue file, RSET */
		rcpt_ok += acc;
		data++;
		st.messages++;
		st.recipients += (uint64_t)acc;
		if (o->count_msgs)
			(*o->count_msgs)++;
		if (o->count_rcpts)
			(*o->count_rcpts) += (uint64_t)acc;
		/* DATA */
		uint64_t size = o->bot ? 1500 + below(9000) : (uint64_t)(800 + exp(7.5 + 1.6 * (urand() + urand() - 1)) * 2.5);
		double xfer = 0.05 + (double)size / 2e6 + expo(0.2);
		t += (int64_t)(xfer * USEC);
		char mid[160];
		message_id(t, c, s.addr, mid, sizeof(mid), o->bot ? 2 : o->submission ? (int)below(2) : (int)below(4));
		emit(t, "postfix/cleanup[%u]: %s: message-id=<%s>", pid(P_CLEANUP), qid, mid);
		if (o->submission && s.local && chance(0.9))
			emit(t + 3000 + (int64_t)below(20000), "opendkim[%u]: %s: DKIM-Signature field added (s=mail, "
			    "d=" ISP_DOMAIN ")", 644u, qid);
		int64_t tq = t + 5000 + (int64_t)below(30000);
		emit(tq, "postfix/qmgr[%u]: %s: from=<%s>, size=%" PRIu64 ", nrcpt=%d (queue active)",
		    pid_qmgr, qid, s.addr, size, acc);
		deliver(tq + 1000 + (int64_t)below(5000), arrival, qid, rc, acc, &s, size, long_ids, 0);
		t += between_us(0.005, 0.05);
	}
	t += between_us(0.005, 0.1);
	if (chance(o->bot ? 0.08 : 0.01)) {
		emit(t, "%s[%u]: lost connection after %s from %s[%s]", svc, sp, data ? "DATA" : "RCPT", c->name, c->addr);
		t += 200;
	}
	char rcptf[32], cmdf[40];
	int cmds = 1 + tls + (o->submission ? 1 : 0) + mail + rcpt_ok + data + 1;
	int all = 1 + tls + (o->submission ? 1 : 0) + mail + rcpt_all + mail + 1;
	if (rcpt_ok == rcpt_all)
		snprintf(rcptf, sizeof(rcptf), "rcpt=%d", rcpt_ok);
	else
		snprintf(rcptf, sizeof(rcptf), "rcpt=%d/%d", rcpt_ok, rcpt_all);
	if (cmds == all)
		snprintf(cmdf, sizeof(cmdf), "commands=%d", cmds);
	else
		snprintf(cmdf, sizeof(cmdf), "commands=%d/%d", cmds, all);
	char dataf[24];
	if (data == mail)
		snprintf(dataf, sizeof(dataf), "data=%d", data);
	else
		snprintf(dataf, sizeof(dataf), "data=%d/%d", data, mail);
	emit(t, "%s[%u]: disconnect from %s[%s] ehlo=%d%s%s mail=%d %s %s quit=1 %s", svc, sp, c->name,
	    c->addr, tls ? 2 : 1, tls ? " starttls=1" : "", o->submission ? " auth=1" : "", mail, rcptf, dataf, cmdf);
}

/* ---- sources ---------------------------------------------------------------------------- */

enum { SRC_NORMAL, SRC_OUTSIDE, SRC_OTHER, SRC_ANVIL, SRC_SCACHE, SRC_CRON, SRC_PLANTED };

enum ptype { PT_BOT, PT_HIJACK, PT_SPAMMER };

struct planted {
	int type;
	uint32_t host;			/* bots, spammers: subscriber host index */
	uint32_t account;		/* hijacked: account index */
	int64_t start, end;
	double interval;		/* mean seconds between sessions */
	uint32_t nets[48];		/* hijacked: the /24s in 198.18.0.0/15 it is used from */
	uint32_t nnets;
	uint8_t used[48];
	uint64_t msgs, rcpts;
	char name[96];
	char key[64];			/* hosts: the address, or its /64 for IPv6 */
};

static struct planted *planted;
static uint32_t nplanted;
static int64_t t_start;
static double span_s;		/* the expected length of the log */

static void
normal_session(int64_t t)
{
	struct client c;
	struct session_opts o = { .c = &c, .pr = &prof_normal };
	char acct[96];
	struct sender snd;

	if (chance(0.2)) {
		/* submission by one of the ISP's mail accounts, from home or from a phone */
		uint32_t a = chance(0.5) ? below(naccounts / 20) : below(naccounts);
		account_name(a, acct, sizeof(acct));
		if (chance(0.7))
			host_client((uint32_t)(mix(0x40e, a) % opt_hosts), &c);
		else
			mobile_client(a, &c);
		o.submission = 1;
		o.sasl_method = chance(0.7) ? "PLAIN" : "LOGIN";
		o.sasl_user = acct;
		snprintf(snd.addr, sizeof(snd.addr), "%s", acct);
		snd.local = 1;
		snd.dom = nbig - 1;
		o.fixed_sender = &snd;
	} else {
		/* port 25 from a subscriber line; a few busy ones send more */
		uint32_t h = chance(0.2) ? below(opt_hosts / 50) : below(opt_hosts);
		host_client(h, &c);
	}
	o.nmsgs = chance(0.85) ? 1 : 2 + (int)below(2);
	session(t, &o);
}

static void
outside_session(int64_t t)
{
	struct client c;
	unsigned sp;
	uint32_t net = below(512), host = below(254);
	char lp[64], acct[96];

	outside_client(net, host, &c, chance(0.3));
	switch (below(4)) {
	case 0:
	case 1: {	/* open-relay probes */
		char r0[96], s0[96];
		sp = pid(P_SMTPD);
		localpart(lp, sizeof(lp), rnd());
		snprintf(r0, sizeof(r0), "%s@%s", lp, doms[dom_pick()].name);
		localpart(lp, sizeof(lp), rnd());
		snprintf(s0, sizeof(s0), "%s@%s", lp, doms[dom_pick_tail()].name);
		emit(t, "postfix/smtpd[%u]: connect from %s[%s]", sp, c.name, c.addr);
		emit(t + 400000, "postfix/smtpd[%u]: NOQUEUE: reject: RCPT from %s[%s]: 454 4.7.1 <%s>: Relay access "
		    "denied; from=<%s> to=<%s> proto=ESMTP helo=<%s>", sp, c.name, c.addr, r0, s0, r0, c.helo);
		emit(t + 700000, "postfix/smtpd[%u]: disconnect from %s[%s] ehlo=1 mail=1 rcpt=0/1 rset=1 quit=1 "
		    "commands=4/5", sp, c.name, c.addr);
		st.rejects++;
		break;
	}
	case 2:		/* password guessing on submission */
		sp = pid(P_SUBM);
		account_name(below(naccounts), acct, sizeof(acct));
		emit(t, "postfix/submission/smtpd[%u]: connect from %s[%s]", sp, c.name, c.addr);
		emit(t + 300000, "postfix/submission/smtpd[%u]: warning: %s[%s]: SASL LOGIN authentication failed: "
		    "UGFzc3dvcmQ6, sasl_username=%s", sp, c.name, c.addr, acct);
		emit(t + 2300000, "postfix/submission/smtpd[%u]: lost connection after AUTH from %s[%s]", sp, c.name, c.addr);
		emit(t + 2300200, "postfix/submission/smtpd[%u]: disconnect from %s[%s] ehlo=2 starttls=1 auth=0/1 "
		    "commands=3/4", sp, c.name, c.addr);
		break;
	default:	/* scanners */
		sp = pid(P_SMTPD);
		emit(t, "postfix/smtpd[%u]: connect from %s[%s]", sp, c.name, c.addr);
		emit(t + 5000, "postfix/smtpd[%u]: lost connection after CONNECT from %s[%s]", sp, c.name, c.addr);
		emit(t + 5100, "postfix/smtpd[%u]: disconnect from %s[%s] commands=0/0", sp, c.name, c.addr);
	}
}

static void
other_program(int64_t t)
{
	char acct[96];
	struct client c;
	uint32_t a = below(naccounts);

	account_name(a, acct, sizeof(acct));
	host_client((uint32_t)(mix(0x40e, a) % opt_hosts), &c);
	unsigned mpid = 30000 + below(30000);
	switch (below(5)) {
	case 0:
	case 1:
		emit(t, "dovecot[%u]: imap-login: Login: user=<%s>, method=PLAIN, rip=%s, lip=10.255.0.30, mpid=%u, "
		    "TLS, session=<%08x%04x>", pid_dovecot, acct, c.addr, mpid, (unsigned)rnd(), below(65536));
		emit(t + between_us(5, 600), "dovecot[%u]: imap(%s)<%u><%08x%04x>: Disconnected: Logged out "
		    "in=%u out=%u deleted=0 expunged=0 trashed=0 hdr_count=0 hdr_bytes=0 body_count=%u body_bytes=%u",
		    pid_dovecot, acct, mpid, (unsigned)rnd(), below(65536), 200 + below(3000), 1000 + below(90000),
		    below(5), below(200000));
		break;
	case 2:
		emit(t, "dovecot[%u]: pop3-login: Login: user=<%s>, method=PLAIN, rip=%s, lip=10.255.0.30, mpid=%u, "
		    "TLS, session=<%08x%04x>", pid_dovecot, acct, c.addr, mpid, (unsigned)rnd(), below(65536));
		break;
	case 3:
		emit(t, "dovecot[%u]: auth: passwd-file(%s,%s): unknown user", pid_dovecot, acct, c.addr);
		break;
	default:
		emit(t, "dovecot[%u]: imap-login: Disconnected: Connection closed (no auth attempts in 0 secs): "
		    "user=<>, rip=%s, lip=10.255.0.30, TLS handshaking: Connection closed, session=<%08x%04x>",
		    pid_dovecot, c.addr, (unsigned)rnd(), below(65536));
	}
}

/* Cron: a job every ten minutes, and the daily mail to root through pickup and local. */
static void
cron(int64_t t)
{
	unsigned cp = next_pid += 2 + below(30);
	emit(t, "CRON[%u]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)", cp);
	emit(t + 2000, "CRON[%u]: (root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)", cp + 1);
	emit(t + 90000, "CRON[%u]: pam_unix(cron:session): session closed for user root", cp);
	if (chance(0.25)) {
		char qid[32];
		int64_t tp = t + 400000;
		make_qid(tp, qid, sizeof(qid), 0);
		emit(tp, "postfix/pickup[%u]: %s: uid=0 from=<root>", pid_pickup, qid);
		emit(tp + 3000, "postfix/cleanup[%u]: %s: message-id=<%s.%u@" RELAY_FQDN ">", pid(P_CLEANUP), qid, qid, cp);
		emit(tp + 6000, "postfix/qmgr[%u]: %s: from=<root@" RELAY_FQDN ">, size=%u, nrcpt=1 (queue active)",
		    pid_qmgr, qid, 700 + below(900));
		emit(tp + 40000, "postfix/local[%u]: %s: to=<root@" RELAY_FQDN ">, orig_to=<root>, relay=local, "
		    "delay=0.04, delays=0.01/0.01/0/0.02, dsn=2.0.0, status=sent (delivered to mailbox)", pid(P_LOCAL), qid);
		emit(tp + 41000, "postfix/qmgr[%u]: %s: removed", pid_qmgr, qid);
	}
}

static void
anvil(int64_t t)
{
	char at[32];
	struct client c;
	host_client(below(opt_hosts / 50), &c);
	t3164(t - between_us(1, 500), at, sizeof(at));
	emit(t, "postfix/anvil[%u]: statistics: max connection rate %u/60s for (smtp:%s) at %s", pid_anvil,
	    3 + below(20), c.addr, at);
	emit(t, "postfix/anvil[%u]: statistics: max connection count %u for (smtp:%s) at %s", pid_anvil,
	    1 + below(6), c.addr, at);
	emit(t, "postfix/anvil[%u]: statistics: max cache size %u at %s", pid_anvil, 200 + below(800), at);
}

static void
scache(int64_t t)
{
	char at[32];
	t3164(t - 300 * USEC, at, sizeof(at));
	emit(t, "postfix/scache[%u]: statistics: start interval %s", pid_scache, at);
	emit(t, "postfix/scache[%u]: statistics: domain lookup hits=%u miss=%u success=%u%%", pid_scache,
	    200 + below(800), 2000 + below(3000), 5 + below(20));
	emit(t, "postfix/scache[%u]: statistics: address lookup hits=%u miss=%u success=%u%%", pid_scache,
	    below(100), 2000 + below(3000), below(5));
	emit(t, "postfix/scache[%u]: statistics: max simultaneous domains=%u addresses=%u connection=%u",
	    pid_scache, 5 + below(20), 5 + below(25), 8 + below(40));
}

/* The subject a host is judged as: IPv4 address, or the IPv6 /64 in RFC 5952 form. */
static void
subject_key(const char *addr, char *buf, size_t size)
{
	struct in6_addr a6;
	char text[INET6_ADDRSTRLEN];

	if (strchr(addr, ':') == NULL || inet_pton(AF_INET6, addr, &a6) != 1) {
		snprintf(buf, size, "%s", addr);
		return;
	}
	memset(a6.s6_addr + 8, 0, 8);
	inet_ntop(AF_INET6, &a6, text, sizeof(text));
	snprintf(buf, size, "%s/64", text);
}

static void
planted_session(int64_t t, struct planted *p)
{
	struct client c;
	struct session_opts o = { .c = &c };
	struct sender snd;
	char acct[96];

	switch (p->type) {
	case PT_BOT:
		host_client(p->host, &c);
		/* bots make up their names */
		if (chance(0.5))
			snprintf(c.helo, sizeof(c.helo), "[%s]", c.addr);
		else
			snprintf(c.helo, sizeof(c.helo), "%c%c%c%c%c%c", 'a' + (char)below(26), 'a' + (char)below(26),
			    'a' + (char)below(26), 'a' + (char)below(26), 'a' + (char)below(26), 'a' + (char)below(26));
		o.nmsgs = 1 + (int)below(4);
		o.min_rcpt = 1;
		o.max_rcpt = 8;
		o.tail = 1;
		o.bot = 1;
		o.pr = &prof_bot;
		break;
	case PT_SPAMMER:
		host_client(p->host, &c);
		o.nmsgs = 1 + (int)below(2);
		o.min_rcpt = 1;
		o.max_rcpt = 3;
		o.pr = &prof_spammer;
		break;
	default: {	/* PT_HIJACK */
		uint32_t k = below(p->nnets);
		outside_client(p->nets[k], below(254), &c, chance(0.2));
		p->used[k] = 1;
		account_name(p->account, acct, sizeof(acct));
		o.submission = 1;
		o.sasl_method = "LOGIN";
		o.sasl_user = acct;
		snprintf(snd.addr, sizeof(snd.addr), "%s", acct);
		snd.local = 1;
		snd.dom = nbig - 1;
		o.fixed_sender = &snd;
		o.nmsgs = 1;
		o.min_rcpt = 5;
		o.max_rcpt = 30;
		o.tail = 1;
		o.pr = &prof_hijack;
		break;
	}
	}
	o.count_msgs = &p->msgs;
	o.count_rcpts = &p->rcpts;
	session(t, &o);
}

static void
planted_init(void)
{
	uint32_t n = opt_bots + opt_hijacked + opt_spammers, i = 0;
	planted = calloc(n ? n : 1, sizeof(*planted));
	if (planted == NULL)
		exit(1);
	/* distinct hosts for bots and spammers, among the subscribers (not the busy few) */
	uint32_t stride = opt_hosts / (opt_bots + opt_spammers + 1), base = opt_hosts / 50 + 1;
	for (uint32_t b = 0; b < opt_bots + opt_spammers; b++) {
		struct planted *p = &planted[i++];
		p->type = b < opt_bots ? PT_BOT : PT_SPAMMER;
		p->host = (base + b * (stride ? stride : 1) + below(stride > 1 ? stride - 1 : 1)) % opt_hosts;
		double dur = p->type == PT_BOT ? 900 + urand() * 4500 : 1800 + urand() * 5400;
		p->start = t_start + (int64_t)(urand() * span_s * 0.85 * USEC);
		p->end = p->start + (int64_t)(dur * USEC);
		p->interval = p->type == PT_BOT ? 25 + urand() * 45 : 40 + urand() * 60;
		struct client c;
		host_client(p->host, &c);
		snprintf(p->name, sizeof(p->name), "%s", c.addr);
		subject_key(c.addr, p->key, sizeof(p->key));
	}
	for (uint32_t h = 0; h < opt_hijacked; h++) {
		struct planted *p = &planted[i++];
		p->type = PT_HIJACK;
		p->account = naccounts / 20 + h * 97 + below(90);		/* not among the busiest */
		p->start = t_start + (int64_t)(urand() * span_s * 0.6 * USEC);
		p->end = p->start + (int64_t)((3600 + urand() * 7200) * USEC);
		p->interval = 40 + urand() * 50;
		p->nnets = 20 + below(28);
		for (uint32_t k = 0; k < p->nnets; k++)
			p->nets[k] = below(512);
		account_name(p->account, p->name, sizeof(p->name));
	}
	nplanted = i;
}

static void
source_fire(int src, int64_t t)
{
	switch (src) {
	case SRC_NORMAL:
		normal_session(t);
		/* sessions: messages / (messages per session ~1.2) */
		schedule(t + (int64_t)(expo(1.18 / opt_rate) * USEC) + 1, SRC_NORMAL);
		break;
	case SRC_OUTSIDE:
		outside_session(t);
		schedule(t + (int64_t)(expo(3.0) * USEC) + 1, SRC_OUTSIDE);
		break;
	case SRC_OTHER:
		other_program(t);
		schedule(t + (int64_t)(expo(25.0 / opt_rate) * USEC) + 1, SRC_OTHER);
		break;
	case SRC_ANVIL:
		anvil(t);
		schedule(t + 600 * USEC + between_us(0, 2), SRC_ANVIL);
		break;
	case SRC_SCACHE:
		scache(t);
		schedule(t + 300 * USEC + between_us(0, 1), SRC_SCACHE);
		break;
	case SRC_CRON:
		cron(t);
		schedule(t + 600 * USEC, SRC_CRON);
		break;
	default: {
		struct planted *p = &planted[src - SRC_PLANTED];
		if (t > p->end)
			break;
		planted_session(t, p);
		schedule(t + (int64_t)(expo(p->interval) * USEC) + 1, src);
	}
	}
}

/* ---- output ----------------------------------------------------------------------------- */

static FILE *out;
static char obuf[1 << 20];
static int64_t cached_sec = -1;
static char cached_ts[64];
static size_t cached_len;

static void
write_line(int64_t t, const char *text)
{
	int64_t sec = t / USEC;
	char head[96];
	size_t n;

	if (sec != cached_sec) {
		struct tparts p;
		tsplit(t, &p);
		if (opt_rfc3164)
			cached_len = (size_t)snprintf(cached_ts, sizeof(cached_ts), "%s %2d %02d:%02d:%02d",
			    months[p.mo - 1], p.d, p.h, p.mi, p.s);
		else
			cached_len = (size_t)snprintf(cached_ts, sizeof(cached_ts), "%04d-%02d-%02dT%02d:%02d:%02d",
			    p.y, p.mo, p.d, p.h, p.mi, p.s);
		cached_sec = sec;
	}
	memcpy(head, cached_ts, cached_len);
	n = cached_len;
	if (!opt_rfc3164)
		n += (size_t)snprintf(head + n, sizeof(head) - n, ".%06d+00:00", (int)(t % USEC));
	memcpy(head + n, " " RELAY_NAME " ", sizeof(" " RELAY_NAME " ") - 1);
	n += sizeof(" " RELAY_NAME " ") - 1;
	fwrite(head, 1, n, out);
	fputs(text, out);
	putc('\n', out);
}

static void
usage(void)
{
	fprintf(stderr, "usage: maillog_gen [-n LINES] [-s SEED] [-f 3339|3164] [-o FILE] [-t TRUTH_FILE]\n"
	    "\t[-r MSGS_PER_S] [-H HOSTS] [-b BOTS] [-a HIJACKED] [-x SPAMMERS]\n"
	    "\t[-P LINES_PER_S [-R SECONDS]] [-V]\n");
	exit(2);
}

static uint64_t
num(const char *s, uint64_t lo, uint64_t hi)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || end == s || v < lo || v > hi) {
		fprintf(stderr, "maillog_gen: bad number \"%s\" (%" PRIu64 "..%" PRIu64 ")\n", s, lo, hi);
		exit(2);
	}
	return v;
}

/* ---- real time: -P and -R ---------------------------------------------------------- */

#define NSEC	1000000000ULL

struct pace {
	uint64_t t0;			/* CLOCK_MONOTONIC ns when the first line was due */
	uint64_t every;			/* lines between two flushes: 10 ms worth */
	unsigned rotations;
	double late_ms;			/* the most a flush was behind its time */
};

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC + (uint64_t)ts.tv_nsec;
}

/*
 * Rotates path as logrotate does without copytruncate: path becomes path.1 (an older path.1
 * goes), a new path is created. A follower holding the old file reads it to its end, then
 * finds the new one by its name. 0, or -1 with errno.
 */
static int
rotate(const char *path)
{
	char old[4096];

	if (fclose(out) != 0) {
		out = NULL;
		return -1;
	}
	out = NULL;
	if ((size_t)snprintf(old, sizeof(old), "%s.1", path) >= sizeof(old)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (rename(path, old) != 0 || (out = fopen(path, "a")) == NULL)
		return -1;
	setvbuf(out, obuf, _IOFBF, sizeof(obuf));
	return 0;
}

/*
 * Before line `written` (every p->every lines): hands what is buffered to the kernel, sleeps
 * until the line is due (written / opt_pace seconds after the start), and rotates the file
 * when the line falls in a new -R period. 0, or -1 with errno.
 */
static int
pace_line(struct pace *p, uint64_t written, const char *path)
{
	uint64_t due = p->t0 + (uint64_t)((double)written * 1e9 / opt_pace), now;

	if (fflush(out) != 0)
		return -1;
	now = mono_ns();
	if (now < due) {
		struct timespec ts = { (time_t)(due / NSEC), (long)(due % NSEC) };
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
	} else if ((double)(now - due) / 1e6 > p->late_ms)
		p->late_ms = (double)(now - due) / 1e6;
	if (opt_rotate_s > 0 && (double)(due - p->t0) / 1e9 >= (p->rotations + 1) * opt_rotate_s) {
		if (rotate(path) != 0)
			return -1;
		p->rotations++;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const char *outpath = NULL, *truthpath = NULL;
	struct pace pace = { 0 };
	int c, rate_set = 0;

	while ((c = getopt(argc, argv, "n:s:f:o:t:r:H:b:a:x:P:R:V")) != -1) {
		switch (c) {
		case 'n': opt_lines = num(optarg, 1, UINT64_C(1) << 40); break;
		case 's': opt_seed = num(optarg, 0, UINT64_MAX); break;
		case 'f':
			if (strcmp(optarg, "3164") == 0)
				opt_rfc3164 = 1;
			else if (strcmp(optarg, "3339") == 0)
				opt_rfc3164 = 0;
			else
				usage();
			break;
		case 'o': outpath = optarg; break;
		case 't': truthpath = optarg; break;
		case 'r': opt_rate = (double)num(optarg, 1, 100000); rate_set = 1; break;
		case 'H': opt_hosts = (uint32_t)num(optarg, 1000, 10000000); break;
		case 'b': opt_bots = (uint32_t)num(optarg, 0, 100000); break;
		case 'a': opt_hijacked = (uint32_t)num(optarg, 0, 10000); break;
		case 'x': opt_spammers = (uint32_t)num(optarg, 0, 10000); break;
		case 'P': opt_pace = (double)num(optarg, 1, 10000000); break;
		case 'R': opt_rotate_s = (double)num(optarg, 1, 86400); break;
		case 'V': puts(GEN_VERSION); return 0;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	if (opt_bots + opt_spammers >= opt_hosts / 4) {
		fprintf(stderr, "maillog_gen: too many bots and spammers for %u hosts\n", opt_hosts);
		return 2;
	}
	if (opt_rotate_s > 0 && (opt_pace == 0 || outpath == NULL)) {
		fprintf(stderr, "maillog_gen: -R needs -P and -o\n");
		return 2;
	}
	/* in real time the log's clock keeps the wall clock's pace: about 12 lines a message */
	if (opt_pace > 0 && !rate_set)
		opt_rate = opt_pace / 12 < 1 ? 1 : opt_pace / 12;
	out = stdout;
	if (outpath != NULL && (out = fopen(outpath, opt_pace > 0 ? "a" : "w")) == NULL) {
		fprintf(stderr, "maillog_gen: %s: %s\n", outpath, strerror(errno));
		return 1;
	}
	setvbuf(out, obuf, _IOFBF, sizeof(obuf));

	uint64_t x = opt_seed;
	for (int i = 0; i < 4; i++)
		rs[i] = splitmix(&x);
	domains_init();
	pids_init();
	naccounts = opt_hosts / 4;
	t_start = (time_days_from_civil(2026, 11, 23) * 86400 + 6 * 3600) * USEC;
	if (opt_pace > 0) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		t_start = (int64_t)ts.tv_sec * USEC + ts.tv_nsec / 1000;
		pace.every = opt_pace / 100 < 1 ? 1 : (uint64_t)(opt_pace / 100);
		pace.t0 = mono_ns();
	}
	/* about 12 lines per subscriber message, all sources included */
	span_s = (double)opt_lines / (opt_rate * 12.0);
	planted_init();

	schedule(t_start, SRC_NORMAL);
	schedule(t_start + 700000, SRC_OUTSIDE);
	schedule(t_start + 300000, SRC_OTHER);
	schedule(t_start + 37 * USEC, SRC_ANVIL);
	schedule(t_start + 140 * USEC, SRC_SCACHE);
	schedule(t_start + 60 * USEC + 2000, SRC_CRON);
	for (uint32_t i = 0; i < nplanted; i++)
		schedule(planted[i].start, SRC_PLANTED + (int)i);

	uint64_t written = 0;
	int64_t last = t_start;
	while (written < opt_lines && nheap > 0) {
		struct event e = heap_pop();
		if (e.type == EV_SOURCE) {
			source_fire(e.src, e.t);
			continue;
		}
		if (opt_pace > 0 && written % pace.every == 0 && pace_line(&pace, written, outpath) != 0) {
			fprintf(stderr, "maillog_gen: %s: %s\n", outpath ? outpath : "stdout", strerror(errno));
			return 1;
		}
		write_line(e.t, e.text);
		last = e.t;
		free(e.text);
		written++;
	}
	if (fflush(out) != 0 || ferror(out) || (out != stdout && fclose(out) != 0)) {
		fprintf(stderr, "maillog_gen: write error: %s\n", strerror(errno));
		return 1;
	}
	if (opt_pace > 0) {
		double secs = (double)(mono_ns() - pace.t0) / 1e9;
		fprintf(stderr, "maillog_gen: lines=%" PRIu64 " seconds=%.3f rate=%.0f rotations=%u behind_ms=%.1f\n",
		    written, secs, secs > 0 ? (double)written / secs : 0, pace.rotations, pace.late_ms);
	}

	uint32_t bots = 0, hij = 0, spam = 0;
	FILE *tf = NULL;
	if (truthpath != NULL && (tf = fopen(truthpath, "w")) == NULL) {
		fprintf(stderr, "maillog_gen: %s: %s\n", truthpath, strerror(errno));
		return 1;
	}
	for (uint32_t i = 0; i < nplanted; i++) {
		struct planted *p = &planted[i];
		if (p->msgs == 0)
			continue;
		if (p->type == PT_BOT)
			bots++;
		else if (p->type == PT_SPAMMER)
			spam++;
		else
			hij++;
		if (tf == NULL)
			continue;
		if (p->type == PT_HIJACK) {
			char seen[48][24];
			uint32_t nseen = 0;
			for (uint32_t k = 0; k < p->nnets; k++) {
				if (!p->used[k])
					continue;
				struct client cl;
				outside_client(p->nets[k], 0, &cl, 0);
				uint32_t j;
				for (j = 0; j < nseen && strcmp(seen[j], cl.net) != 0; j++)
					;
				if (j == nseen)
					snprintf(seen[nseen++], sizeof(seen[0]), "%s", cl.net);
			}
			fprintf(tf, "hijacked %s %" PRIu64 " %u\n", p->name, p->msgs, nseen);
			for (uint32_t j = 0; j < nseen; j++)
				fprintf(tf, "hijack_net %s\n", seen[j]);
		} else
			fprintf(tf, "%s %s %s %" PRIu64 " %" PRIu64 "\n", p->type == PT_BOT ? "bot" : "spam", p->key,
			    p->name, p->msgs, p->rcpts);
	}
	if (tf != NULL && fclose(tf) != 0) {
		fprintf(stderr, "maillog_gen: %s: %s\n", truthpath, strerror(errno));
		return 1;
	}
	fprintf(stderr, "maillog_gen: %" PRIu64 " lines, %.0f s of log (%.0f s expected), %" PRIu64 " sessions, %"
	    PRIu64 " messages, %" PRIu64 " recipients, %" PRIu64 " bounced, %" PRIu64 " deferred, %" PRIu64
	    " notices, %" PRIu64 " rejects; %u bots, %u hijacked accounts, %u spam-refused hosts active; %zu events "
	    "still pending\n", written, (double)(last - t_start) / USEC, span_s, st.sessions, st.messages,
	    st.recipients, st.bounces, st.deferrals, st.notices, st.rejects, bots, hij, spam, nheap);
	return 0;
}
