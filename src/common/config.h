/*
 * config.h — lazaretd's configuration: one INI file, every key documented in
 * etc/lazaret.conf. config_load validates everything and names file:line on error;
 * config_print writes the normalised form that `lazaretd -n` shows.
 */
#ifndef LAZARET_COMMON_CONFIG_H
#define LAZARET_COMMON_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/addr.h"
#include "common/level.h"
#include "common/nat.h"
#include "common/timeutil.h"

#define CONFIG_MAX_LISTEN   8
#define CONFIG_MAX_POLICY_ALLOW 64
#define CONFIG_MAX_JUDGE_IGNORE 64
#define CONFIG_TEXT_MAX     400
/* The API socket when [api] socket is not set: beside the default store, for the source tree. */
#define CONFIG_API_SOCKET   "var/api.sock"

enum count_at { COUNT_AT_DATA, COUNT_AT_RCPT };

/* [enforce] mode: bits, each a way to isolate ("nftables radius": both) */
enum enforce_mode { ENFORCE_MODE_NONE = 0, ENFORCE_MODE_NFTABLES = 1, ENFORCE_MODE_RADIUS = 2 };
/* [daemon] seccomp: kill a process on a system call outside its list, log it, or no filter */
enum seccomp_mode { SECCOMP_MODE_KILL, SECCOMP_MODE_LOG, SECCOMP_MODE_OFF };

/* A remediation destination quarantined hosts may reach: a host name (resolved by the
 * daemon, again every resolve_interval) or an address/network; a port (0 = any) and a
 * protocol (IPPROTO_TCP, IPPROTO_UDP, 0 = both). */
struct remediation_conf {
	char name[256];        /* "" when net holds an address or network */
	struct cidr net;
	uint16_t port;
	uint8_t proto;
};

/* "N per period, with a burst of B": a GCRA limit. */
struct rate_spec {
	uint32_t count;
	usec_t period;
	uint32_t burst;
};

/* Weight and half-life of one evidence kind, from an [evidence NAME] section. */
struct evidence_conf {
	char kind[48];
	double weight;        /* score per unit of evidence; <0 = not set */
	usec_t half_life;     /* 0 = not set */
	int line;             /* where the section started, for errors found later */
};

/* One struct per section, named as its keys are (the field's comment gives the
 * default only where the key table in config.c does not make it plain). */
struct config_daemon {
	char store[PATH_MAX];                /* an SQLite file, or PostgreSQL's conninfo */
	int store_line;
	char local_store[PATH_MAX];          /* with PostgreSQL: this node's own SQLite file */
	char node[64];                       /* "" = the host name */
	int log_level;
	bool syslog;
	usec_t checkpoint_interval;
	usec_t idle_expiry;
	char user[64];                       /* "" = stay who we are (drop capabilities only) */
	enum seccomp_mode seccomp;
	bool huge_pages;                     /* malloc's memory in transparent huge pages (common/hugepages.h) */
	unsigned background_nice;            /* the background threads' nice steps below the loop (common/background.h) */
};

struct config_policy {
	struct listen_addr listen[CONFIG_MAX_LISTEN];
	size_t listen_count;
	enum count_at count_at;
	uint32_t max_connections;
	int max_connections_line;            /* 0: the default; for the descriptor check at start */
	usec_t idle_timeout;
	usec_t repeat_log_interval;          /* a subject's same refusal logged once per this; 0: every one */
	struct cidr allow[CONFIG_MAX_POLICY_ALLOW];   /* TCP peers allowed to connect */
	size_t allow_count;
	usec_t request_timeout;              /* first byte of a request to its end */
	uint32_t max_connections_per_peer;
	char defer_text[CONFIG_TEXT_MAX];
	char reject_text[CONFIG_TEXT_MAX];
};

struct config_limits {
	unsigned host_prefix_v4;
	unsigned host_prefix_v6;
	struct rate_spec host_messages, host_recipients;
	struct rate_spec account_messages, account_recipients;
	double throttle_factor;
};

struct config_judge {
	double threshold[LEVEL_COUNT];     /* score at which a level starts; [WATCH..QUARANTINE] */
	double release_ratio;              /* step down when the score falls below ratio × threshold */
	uint32_t quarantine_cap;           /* automatic quarantines per hour at most; 0 = no cap */
	uint32_t max_subjects;             /* tracked hosts and accounts at most (see judge.h) */
	struct cidr ignore[CONFIG_MAX_JUDGE_IGNORE];   /* never host subjects: loopback by default */
	size_t ignore_count;
};

struct config_allowlist {
	struct cidr *networks;
	size_t network_count;
	char **accounts;
	size_t account_count;
};

struct config_api {
	struct listen_addr listen;
	bool listen_set;                   /* TCP listener: off unless configured */
	int listen_line;
	char token_file[PATH_MAX];
	int token_file_line;
	char token[256];                   /* read from token_file at load */
	char socket[108];                  /* the Unix socket; "" for none */
	char socket_group[64];             /* its group; "" for the daemon's own */
	int socket_group_line;
	char tls_cert[PATH_MAX];           /* PEM files for HTTPS on listen; "" for none */
	char tls_key[PATH_MAX];
	int tls_line;
};

/* the relay's delivery log */
struct config_maillog {
	char **files;
	size_t file_count;
	usec_t poll_interval;
	usec_t queue_id_max_age;
	uint32_t max_queue_ids;
	usec_t bounce_window;
	uint32_t bounce_min_recipients;
	double bounce_threshold;
	double bounce_confidence;
	usec_t domains_window;
	uint32_t domains_min;
	double domains_factor;
	usec_t account_window;
	uint32_t account_networks;
	uint32_t account_addresses;        /* more than this many addresses in account_window */
	uint32_t account_sessions;         /* this many addresses in sessions open at once */
	unsigned account_prefix_v4, account_prefix_v6;
	char ignore_text[CONFIG_TEXT_MAX];   /* refusals containing this are lazaret's own */
};

/* webmail and IMAP logins as account evidence (sense/delivery.h's delivery_login) */
struct config_logins {
	bool dovecot;                       /* Dovecot's login lines in the [maillog] files count */
	char roundcube_log[PATH_MAX];       /* Roundcube's userlogins log to follow; "": off */
};

/* What names the subscriber of a DHCP lease: [dhcp] subscriber_id (sense/lease_follow.h's order). */
enum dhcp_subscriber_id { DHCP_ID_CLIENT_ID, DHCP_ID_HWADDR, DHCP_ID_DUID, DHCP_ID_CIRCUIT_ID, DHCP_ID_REMOTE_ID };

/* the DHCP server's lease files: which subscriber held which address when */
struct config_dhcp {
	char **lease_files;                 /* Kea memfile lease files; none: off */
	size_t lease_file_count;
	enum dhcp_subscriber_id subscriber_id;
	usec_t poll_interval;
};

struct config_portal {
	char url[CONFIG_TEXT_MAX];
	struct listen_addr listen;
	char templates[PATH_MAX];
	char support_contact[CONFIG_TEXT_MAX];
	char abuse_contact[CONFIG_TEXT_MAX];
	uint32_t self_release_limit;        /* 0: never */
	usec_t self_release_window;
	usec_t grace;
	usec_t min_quarantine;              /* before an automatic quarantine may be self-released */
	usec_t token_ttl;
	char secret_file[PATH_MAX];         /* "": a random secret at start */
	uint32_t max_connections;
	int max_connections_line;           /* 0: the default; for the descriptor check at start */
	uint32_t max_connections_per_address;
	usec_t request_timeout;             /* a whole request within this, or the connection goes */
};

/* the network: facts every part shares (the walled garden's port-25 rule, the flow
 * detectors' direction and direct-to-MX) */
struct config_network {
	struct cidr *subscribers;           /* the subscribers' address ranges */
	size_t subscriber_count;
	struct addr *relays;                /* the mail relays */
	size_t relay_count;
};

/* deterministic CGNAT pools (RFC 7422): a report's public address and port name the
 * private address behind it (common/nat.h) */
struct config_nat {
	struct nat_pool *pools;
	size_t pool_count;
};

/* the walled garden on the subscriber-facing gateway */
struct config_enforce {
	enum enforce_mode mode;
	int mode_line;                      /* for errors found once the file is read */
	char table[32];
	struct addr *resolvers;
	size_t resolver_count;
	struct remediation_conf *remediation;
	size_t remediation_count;
	struct addr portal_v4, portal_v6;   /* family 0: none */
	uint16_t portal_port;
	usec_t element_timeout;
	usec_t refresh_interval;
	usec_t resolve_interval;
};

/* A sampling rate for the flow exporters inside net that never announce one. */
struct flow_sampling_conf {
	struct cidr net;
	uint32_t rate;
};

#define CONFIG_MAX_FLOW_LISTEN 8

/* A C&C or drop list for cc_contact: [flows] blocklist = NAME FORMAT PATH. */
struct flow_blocklist_conf {
	char name[32];                      /* [a-z0-9_-], named in summaries */
	char format[16];                    /* sense/blocklist.h's names: auto, plain, drop, drop-json, feodo-csv */
	char path[PATH_MAX];
	int line;                           /* where it was set, for the load's errors */
};

/* the flow collector: NetFlow v5/v9, IPFIX and sFlow v5 from the network's exporters */
struct config_flows {
	struct listen_addr listen[CONFIG_MAX_FLOW_LISTEN];   /* UDP; none: the collector is off */
	size_t listen_count;
	uint32_t receive_buffer;            /* bytes asked of the kernel per socket */
	struct flow_sampling_conf *sampling;
	size_t sampling_count;
	uint32_t max_exporters;
	uint32_t max_templates;             /* per exporter */
	uint32_t max_hosts;                 /* subscriber hosts the detectors follow at most */
	usec_t direct_mx_window;            /* direct_mx: the window */
	uint32_t direct_mx_destinations;    /* direct_mx: distinct TCP/25 destinations in it that flag */
	double scan_theta0, scan_theta1;    /* scanning, TRW: P(success) of a benign host, of a scanner */
	double scan_alpha, scan_beta;       /* scanning, TRW: false-positive bound, detection probability */
	usec_t scan_window;                 /* scanning, fan-out: the window */
	uint32_t scan_destinations;         /* scanning, fan-out: distinct destinations on one port in it */
	uint32_t scan_ports;                /* scanning, vertical fan-out: distinct ports of one destination in it */
	uint32_t dos_packets;               /* outbound_dos: packets/s that flag */
	uint32_t dos_megabits;              /* outbound_dos: Mbit/s that flag */
	uint32_t dos_flows;                 /* outbound_dos: flows/s that flag */
	double dos_factor;                  /* outbound_dos: times the host's own usual packets/s */
	uint32_t dos_factor_floor;          /* outbound_dos: packets/s below which the factor does not apply */
	struct cidr *allow_destinations;    /* kept out of outbound_dos and hosting */
	size_t allow_destination_count;
	usec_t hosting_window;              /* hosting: the window */
	uint32_t hosting_sources;           /* hosting: distinct outside clients served in it that flag */
	struct flow_blocklist_conf *blocklists;   /* cc_contact's lists, loaded at start and on SIGHUP */
	size_t blocklist_count;
};

/* [identity]: the address history */
struct config_identity {
	usec_t retention;                   /* ended intervals are kept this long */
};

#define CONFIG_MAX_RADIUS_LISTEN 8
#define CONFIG_RADIUS_SECRET_MAX 128

/* Which attribute of an Accounting-Request names the subscriber. */
enum radius_subscriber_id { RADIUS_ID_USER_NAME, RADIUS_ID_CALLING_STATION_ID, RADIUS_ID_NAS_PORT_ID };

/* A [radius client NAME] section: a NAS, BNG or FreeRADIUS that sends accounting. */
struct radius_client_section {
	char name[64];                      /* [a-z0-9_.-]: in logs and stats */
	struct cidr net;                    /* its address or network */
	bool net_set;
	char secret_file[PATH_MAX];
	uint8_t secret[CONFIG_RADIUS_SECRET_MAX];   /* read from secret_file at load */
	size_t secret_len;
	int line;                           /* where the section started */
};

/* An attribute line of a [radius nas NAME] section ("Filter-Id = \"garden\""), read
 * against the dictionary when the CoA client is made (act/coa.c), and where it was. */
struct radius_avp_line {
	char text[CONFIG_TEXT_MAX];
	int line;
};

#define CONFIG_RADIUS_AVPS_MAX 16

/* A [radius nas NAME] section: a NAS or BNG told of quarantines by CoA or Disconnect
 * (RFC 5176), found for a session by its NAS-IP-Address or NAS-Identifier. */
struct radius_nas_section {
	char name[64];
	struct addr address;                /* where its CoA server listens; and its NAS-IP-Address */
	bool address_set;
	uint16_t port;                      /* 3799 */
	char identifier[64];                /* its NAS-Identifier; "" : the section's name */
	char secret_file[PATH_MAX];
	uint8_t secret[CONFIG_RADIUS_SECRET_MAX];
	size_t secret_len;
	char identify[CONFIG_TEXT_MAX];     /* session attributes it finds sessions by; "": Acct-Session-Id */
	int identify_line;
	bool disconnect;                    /* method = disconnect */
	bool message_authenticator;
	struct radius_avp_line quarantine[CONFIG_RADIUS_AVPS_MAX];
	size_t quarantine_count;
	struct radius_avp_line release[CONFIG_RADIUS_AVPS_MAX];
	size_t release_count;
	int line;
};

/* [radius]: RADIUS accounting in, CoA and Disconnect out */
struct config_radius {
	struct listen_addr listen[CONFIG_MAX_RADIUS_LISTEN];   /* UDP; none: off */
	size_t listen_count;
	uint32_t receive_buffer;            /* bytes asked of the kernel per socket */
	enum radius_subscriber_id subscriber_id;
	char dictionary[PATH_MAX];          /* a FreeRADIUS dictionary for vendor attributes; "": RFC ones only */
	usec_t coa_timeout;                 /* the first wait for a NAS's answer, doubled at each retry */
	uint32_t coa_retries;
	usec_t coa_resend;                  /* a session whose NAS never answered is told again this often */
	struct radius_client_section *clients;
	size_t client_count;
	struct radius_nas_section *nases;
	size_t nas_count;
};

/* A [reports source NAME] section: who sends reports, and how much their word counts. */
struct report_source_section {
	char name[64];                      /* [a-zA-Z0-9_.-]: --source, ?source=, a subdirectory */
	double trust;                       /* each report's evidence is multiplied by it */
	int line;
};

/* [reports]: abuse reports from outside (sense/report_intake.h) */
struct config_reports {
	char directory[PATH_MAX];           /* the spool: reports dropped or posted; "": off */
	usec_t poll_interval;
	uint32_t max_size;                  /* bytes: a larger file or request is refused */
	usec_t dedup_window;                /* a report seen again within it counts once */
	double trust;                       /* a source without a section of its own */
	char **relay_names;                 /* our relays' names in Received headers (complaints) */
	size_t relay_name_count;
	struct cidr *relay_networks;        /* the addresses they send from; none: [network] relays */
	size_t relay_network_count;
	struct report_source_section *sources;
	size_t source_count;
};

struct config {
	char path[PATH_MAX];
	struct config_daemon daemon;
	struct config_network network;
	struct config_nat nat;
	struct config_policy policy;
	struct config_limits limits;
	struct config_judge judge;
	struct evidence_conf *evidence;     /* the [evidence NAME] sections */
	size_t evidence_count;
	struct config_allowlist allowlist;
	struct config_api api;
	struct config_maillog maillog;
	struct config_logins logins;
	struct config_dhcp dhcp;
	struct config_portal portal;
	struct config_enforce enforce;
	struct config_flows flows;
	struct config_identity identity;
	struct config_radius radius;
	struct config_reports reports;
	int *refs;                          /* from config_load_new: its references; NULL: the caller's own */
};

/* The [reports source NAME] section of name, or NULL. */
const struct report_source_section *config_report_source(const struct config *cfg, const char *name);

/* Fills *cfg with the shipped defaults (everything config_load does not find). */
void config_defaults(struct config *cfg);

/*
 * config_load — defaults, then the file at path. Returns 0, or -1 with
 * "path:line: problem" (line 0 when the problem is the file as a whole) in err.
 * On failure *cfg is freed and zeroed.
 */
int config_load(const char *path, struct config *cfg, char *err, size_t errlen);

/*
 * config_load_new — config_load into a configuration of its own, counted: it lives until
 * its last reference is dropped (config_unref). NULL with err set on failure.
 */
struct config *config_load_new(const char *path, char *err, size_t errlen);

/*
 * config_ref / config_unref — modules keep their configuration by reference, taken in
 * their *_new or *_configure and dropped when they take the next or are freed: a reload
 * that fails half-way then leaves none pointing at a freed one. A configuration of the
 * caller's own (config_load into its struct, as tests do) is not counted: both are no-ops
 * on it, and it must outlive its users. config_unref(NULL) does nothing.
 */
const struct config *config_ref(const struct config *cfg);
void config_unref(const struct config *cfg);

/*
 * The keys whose value differs between old and new but that only a restart applies
 * (listeners, files, the store, the user...): "[policy] listen, [daemon] store" into buf,
 * "" when none.
 */
void config_restart_changes(const struct config *old, const struct config *new, char *buf, size_t size);

/* One key of the key table (config.c): for documentation and its checks. */
struct config_key_info {
	const char *section, *name;
	const char *def;                    /* the default as the file writes it; NULL: none */
	const char *doc;                    /* one line */
	bool repeatable, reloadable;
};

/* The i-th key, from 0; false past the last. */
bool config_key_at(size_t i, struct config_key_info *out);

/* Writes the configuration as an INI file that config_load reads back identically. */
void config_print(const struct config *cfg, FILE *out);

void config_free(struct config *cfg);

bool config_account_allowed(const struct config *cfg, const char *account);
bool config_address_allowed(const struct config *cfg, const struct addr *a);
/* True when a is in [judge] ignore: the relay's own clients, never a host subject. */
bool config_address_ignored(const struct config *cfg, const struct addr *a);
/* True when a TCP peer at a may use the policy service ([policy] allow). */
bool config_policy_peer_allowed(const struct config *cfg, const struct addr *a);

/* The evidence_conf for kind, or NULL. */
const struct evidence_conf *config_evidence(const struct config *cfg, const char *kind);

#endif
