/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * ksmtp: an SMTP client in the kernel, configured over generic netlink.
 *
 * This header is shared by the module and by userspace (ksmtpctl). The
 * family is described in YAML beside this file (ksmtp.yaml).
 *
 * Commands (family KSMTP_GENL_NAME, version KSMTP_GENL_VERSION). "Needs
 * CAP_NET_ADMIN" means in the initial user namespace (GENL_ADMIN_PERM),
 * whichever network namespace the caller configures: the queue's memory,
 * the delivery workers and the mail relay are the host's, not charged to
 * a container, so a container's root (CAP_NET_ADMIN only in its own user
 * namespace) may read but not configure or send. Every command is strictly
 * validated: unknown attributes, flags and header fields are refused.
 *
 * Every message carries its data in nests at the top level, one per kind
 * of object (enum ksmtp_a): KSMTP_A_CONFIG, KSMTP_A_MAIL, KSMTP_A_RESULT,
 * KSMTP_A_STATS, KSMTP_A_QUEUE_ENTRY, KSMTP_A_EVENT, KSMTP_A_TLS. Each
 * command has its own policy: it takes only the nests and attributes
 * listed for it here; any other is refused.
 *
 * KSMTP_CMD_CONFIG_SET: needs CAP_NET_ADMIN. KSMTP_A_CONFIG, updating the
 *   namespace's default client. Only the attributes present change; the
 *   others keep their value (a zero-length string clears a string), unless
 *   REPLACE says the request is the whole configuration. The new
 *   configuration replaces the old one atomically, or a refused request
 *   changes nothing: mails already being sent finish with the old one.
 *   In KSMTP_A_CONFIG (enum ksmtp_a_cfg):
 *   SERVER_ADDR:   binary, 4 octets (IPv4) or 16 octets (IPv6), network
 *                  byte order. Setting it clears SERVER_NAME.
 *   PORT:          u16, 1..65535 (default 25, 465 with implicit TLS).
 *   USERNAME:      NUL-terminated string, at most 255 octets.
 *   PASSWORD:      NUL-terminated string, at most 255 octets. Write only:
 *                  never reported back, and wiped from the request once
 *                  taken (an error's ack that echoes the request shows
 *                  zeros).
 *   FROM:          NUL-terminated string: the envelope and header sender.
 *   DOMAIN:        NUL-terminated string: EHLO/HELO argument. Empty: an
 *                  address literal of the local address of each connection.
 *   AUTH:          u32, enum ksmtp_auth_type.
 *   AUTH_CLEARTEXT: u8, 0 or 1: allow AUTH (PLAIN, LOGIN, CRAM-MD5)
 *                  without TLS. Off by default.
 *   HELO_ONLY:     u8, 0 or 1: greet with HELO, not EHLO.
 *   TLS:           u32, enum ksmtp_tls_mode (default none).
 *   TLS_NAME:      NUL-terminated string: the server name the certificate
 *                  must carry. With TLS, required unless SERVER_NAME is a
 *                  host name, which is then the default.
 *   TLS_CA_FILE:   NUL-terminated string: absolute path of a PEM CA bundle,
 *                  read by the TLS helper. Empty: the system trust store.
 *   RCPT:          NUL-terminated string: default recipient(s), up to 16
 *                  separated by commas (mails sent or queued without one).
 *   TIMEOUT_CONNECT, _GREETING, _COMMAND, _DATA_BLOCK, _FINAL_DOT: u32,
 *                  milliseconds, 100..3600000 each: TCP connect, greeting,
 *                  each command reply, the whole message, the reply to the
 *                  final dot.
 *   QUEUE_MAX:     u32, mails queued at most, 1..65536 (256).
 *   QUEUE_BYTES:   u32, octets queued at most, 4096..268435456 (16 MiB).
 *   RETRY_MAX:     u32, attempts per mail at most, 1..1000 (10).
 *   RETRY_AGE:     u32, seconds a mail may wait at most, 1..604800 (86400).
 *   RETRY_BASE_MS: u32, first retry delay, doubled each time (with jitter,
 *                  at most one hour), 100..3600000 (30000).
 *   COALESCE_MS:   u32, a queued mail waits this long for identical ones to
 *                  merge into it, 0..3600000 (2000).
 *   SERVER_NAME:   NUL-terminated string, at most 253 octets: the server as
 *                  a host name, resolved at each session (the kernel's DNS
 *                  resolver upcall), each of its addresses tried in turn
 *                  until one connects; or an address literal. Setting it
 *                  clears SERVER_ADDR and setting SERVER_ADDR clears it
 *                  (both in one request are refused); empty: no server.
 *                  A host name is labels of letters, digits, '-' and '_',
 *                  3 octets at least; an address literal is an IPv4 or
 *                  IPv6 address, or either in brackets ("[2001:db8::1]"),
 *                  and needs no resolver. The name is resolved by the
 *                  session's worker, never by the request: dns_query()
 *                  with the option "list", which keyutils'
 *                  key.dns_resolver (request-key) answers by getaddrinfo()
 *                  in the initial namespaces' userspace, whatever network
 *                  namespace asks; each session asks anew (the key is
 *                  invalidated once read, whatever its time to live), so
 *                  a relay whose address changed is found at the next
 *                  session. A host name's last label starts with a
 *                  letter; IPv4 literals have no leading zeros (both
 *                  would mean other addresses to the C library). At
 *                  most 8 addresses are tried, in the resolver's order
 *                  (getaddrinfo's: IPv6
 *                  first where it is usable), each within TIMEOUT_CONNECT:
 *                  a refused or unreachable address costs nothing, one that
 *                  drops packets the whole timeout, so a name of N such
 *                  addresses may take N times TIMEOUT_CONNECT. A name that
 *                  does not resolve fails the mail in the connect phase
 *                  ("cannot resolve NAME: ..."), transiently. A kernel
 *                  without CONFIG_DNS_RESOLVER refuses host names here.
 *   PASSWORD_FILE: NUL-terminated string, at most 4095 octets: the file the
 *                  password was read from, kept and reported so that a
 *                  configuration can be printed back (ksmtpctl showconf);
 *                  the module never opens it. A request that sets PASSWORD
 *                  without it clears it (it named the old password's
 *                  file).
 *   SEND_GID:      u32: a group (as the setter's user namespace numbers it)
 *                  whose members may SEND without CAP_NET_ADMIN (see
 *                  KSMTP_CMD_SEND); 4294967295 (-1, the default): none.
 *   REPLACE:       u8, 1: the request is a whole configuration: every
 *                  attribute it does not carry goes back to its default
 *                  (the password and the server included), in the same
 *                  atomic step; without a server, the namespace is no
 *                  longer configured. 0: as if absent. Never reported.
 *   KLOG:          u8, 0 or 1: the kernel-log reporter: kernel faults are
 *                  mailed to RCPT through the queue. Initial network
 *                  namespace only (elsewhere 1 is refused). Off by default.
 *   KLOG_LEVEL:    u32, 0..8: besides the lines that start a fault report
 *                  (an oops, BUG, WARNING, hung task, soft or hard lockup,
 *                  RCU stall, OOM kill, panic), any line of this log level
 *                  or more severe (0 emerg .. 7 debug) starts a report;
 *                  8: those lines only (8). Only the kernel's own lines
 *                  (facility 0) start one, the fault lines only at
 *                  KERN_WARNING or more severe (or the default message
 *                  level, KERN_DEFAULT's): a line written to /dev/kmsg, or
 *                  a KERN_INFO line that starts with a process's name,
 *                  never does.
 *   KLOG_CONTEXT:  u32, lines before the first line that go with it, 0..32 (8).
 *   KLOG_WINDOW_MS: u32, the lines that follow within this time go into the
 *                  same report (one oops, one mail), 0..600000 (5000).
 *   KLOG_PER_HOUR: u32, reports mailed per hour at most, 1..3600 (6); the
 *                  lines that would have started others are counted and
 *                  said in the next one. A new value starts a new hour.
 *
 * KSMTP_CMD_CONFIG_GET: allowed to all; no attributes. Answers KSMTP_A_CONFIG
 *   with the attributes above except PASSWORD and REPLACE, and of the
 *   server the one set (SERVER_ADDR or SERVER_NAME); a string without a
 *   value may be absent; PASSWORD_SET (u8) tells whether a password is set, CONFIGURED
 *   (u8) whether the server (its address or its name) and the from address
 *   are.
 *
 * KSMTP_CMD_SEND: needs CAP_NET_ADMIN, or the group SEND_GID (below).
 *   KSMTP_A_MAIL (enum ksmtp_a_mail)
 *   with RCPT (string; default: the configured RCPT), SUBJECT (string),
 *   PRIORITY (u32, enum ksmtp_priority), BODY (binary; may be repeated,
 *   the parts are joined in order, at most KSMTP_BODY_MAX octets in all),
 *   QUEUE (u8, 1: queue the mail instead). A nest holds at most 64 KiB, so
 *   a larger body comes in several KSMTP_A_MAIL nests: the BODY parts of
 *   all of them are joined in order; each other attribute is taken from
 *   the last nest that has it. The handler never waits for the
 *   network: the mail is checked (bad input is refused with an extended ack
 *   naming the attribute) and the reply comes at once: KSMTP_A_MAIL with
 *   ID (u64). A queued mail's outcome comes as events. Otherwise a worker
 *   runs the SMTP session, and when it is over a KSMTP_CMD_SEND message
 *   goes to the requesting socket (its port id, the request's sequence
 *   number; it may arrive before or after the ack): KSMTP_A_MAIL with the
 *   same ID, and KSMTP_A_RESULT. At most 64 such mails are in flight per
 *   namespace, of them at most 32 of send group members (-EBUSY beyond);
 *   unload and namespace exit cut them, each then reported as failed.
 *   The body is charged to the caller's memory cgroup.
 *   A whole message (what sendmail(8) takes on stdin) comes with:
 *   HEADERS:       NUL-terminated string, at most KSMTP_HEADERS_MAX octets:
 *                  the caller's header section, without the empty line
 *                  that ends it; lines end in CR LF or LF (a last line may
 *                  end in neither). Every line is checked: a field name of
 *                  printable ASCII without ':' followed by ':', or a
 *                  continuation line starting with a space or tab (not
 *                  first); no bare CR, no NUL or other control octet but
 *                  tab, no empty line, none starting with '.' (the
 *                  block is not dot-stuffed), at most 998 octets each. 8-bit
 *                  octets are allowed (RFC 6532) and make the mail need
 *                  SMTPUTF8 at the server (failed, permanently, without).
 *                  The lines go out as given (each ended by CR LF); the
 *                  kernel adds only what is missing: Date, From (the
 *                  configured address, or ENVELOPE_FROM; with FROM_NAME as
 *                  its display name) and Message-ID, and, when the caller
 *                  gave none of MIME-Version, Content-Type and
 *                  Content-Transfer-Encoding and the body is not 7-bit
 *                  text of lines up to 998 octets, those three (the body
 *                  then 8bit or quoted-printable as for any mail). When the
 *                  caller gave one of them, the body is never re-encoded:
 *                  it must be text of lines up to 998 octets without NUL,
 *                  and 8-bit text goes with BODY=8BITMIME; a server that
 *                  does not offer 8BITMIME, or a body that would need
 *                  encoding, fails the mail permanently, nothing sent
 *                  after MAIL. With HEADERS, SUBJECT (but "") and
 *                  PRIORITY (but normal) and QUEUE are refused: such a
 *                  mail is sent at once, never queued, so it is never
 *                  coalesced with another. A Bcc field is refused, from
 *                  every caller (it would go out to every recipient):
 *                  its recipients go in RCPT, the field is dropped (as
 *                  sendmail -t does).
 *   ENVELOPE_FROM: NUL-terminated string: the envelope sender (MAIL FROM)
 *                  instead of the configured FROM, checked as an address;
 *                  "" for the null sender ("MAIL FROM:<>"). Only with
 *                  HEADERS.
 *   FROM_NAME:     NUL-terminated string, at most 255 octets, no control
 *                  octets: the display name of the From header the kernel
 *                  adds (sendmail -F); unused when HEADERS has a From.
 *                  Only with HEADERS. Printable ASCII goes as a quoted
 *                  string, any other (or one with "=?", which a reader
 *                  would decode as an encoded word) as RFC 2047 encoded
 *                  words.
 *   Who may send: CAP_NET_ADMIN (in the initial user namespace), or a
 *   socket whose opener's credentials hold the group SEND_GID of the
 *   namespace's configuration (effective or supplementary). Such a member
 *   may not QUEUE (refused with -EPERM: the queue is shared with the
 *   kernel's own mails, which a member could otherwise crowd out), may
 *   not give ENVELOPE_FROM, nor in HEADERS From, Sender, Return-Path,
 *   Resent-*, Reply-To, Mail-Reply-To, Mail-Followup-To, Mail-Copies-To,
 *   Errors-To, Return-Receipt-To, Disposition-Notification-To,
 *   X-Confirm-Reading-To, Author, List-*, Received, Delivered-To,
 *   X-Original-To, Envelope-To, DKIM-Signature, DomainKey-Signature,
 *   ARC-*, Authentication-Results or Received-SPF (refused with -EPERM:
 *   another sender or author, where replies, copies, bounces or receipts
 *   go, a list's addresses, a server's trace or verdict): its mails always carry
 *   the configured sender; FROM_NAME it may give, in ASCII without '@',
 *   '<', '>', '"' or "=?" (it could pass for an address: as it is, as an
 *   encoded word, or through a look-alike such as U+FF20).
 *
 * KSMTP_CMD_STATS_GET: allowed to all; no attributes. Answers KSMTP_A_STATS
 *   (enum ksmtp_a_stats, u64 each; FAILED_PHASE a nest of one u64 per
 *   phase) and the last failure as KSMTP_A_RESULT.
 *
 * KSMTP_CMD_QUEUE_GET: allowed to all; no attributes; a dump, one message
 *   per queued mail, in id order (a dump in several parts neither skips
 *   nor repeats a mail): KSMTP_A_QUEUE_ENTRY (enum ksmtp_a_qe: ID u64,
 *   RCPT and SUBJECT strings, PRIORITY, ATTEMPTS, REPEATS, AGE_MS, NEXT_MS
 *   u32) and the last failure as KSMTP_A_RESULT.
 * KSMTP_CMD_QUEUE_FLUSH: needs CAP_NET_ADMIN; no attributes. Drops every
 *   queued mail (each reported as dropped).
 * KSMTP_CMD_QUEUE_RETRY: needs CAP_NET_ADMIN; no attributes. Retries every
 *   queued mail now.
 *
 * KSMTP_CMD_EVENT: multicast on the group KSMTP_MCGRP_EVENTS of the mail's
 *   network namespace: KSMTP_A_EVENT (TYPE u32, enum ksmtp_event_type; for
 *   an end END u32, enum ksmtp_end), KSMTP_A_QUEUE_ENTRY (NEXT_MS for a
 *   retry), and for a retry or an end KSMTP_A_RESULT (the attempt's, or
 *   the reason an end without attempt came).
 *
 * KSMTP_A_RESULT (enum ksmtp_a_res):
 *   ERRNO:     u32, 0 or a positive errno value.
 *   PHASE:     u32, enum ksmtp_phase that failed.
 *   CODE:      u32, the server's reply code (0 if none).
 *   TEXT:      string, the first line of the server's text.
 *   TRANSIENT: u8, 1 when a later retry may succeed.
 *   UNKNOWN:   u8, 1 when the mail may have been delivered (no reply to
 *              the final dot).
 *   REASON:    string, what the failure means.
 *   TLS:       string, the TLS session ("TLS1.3 AES-256-GCM"), absent when
 *              the session was in cleartext.
 *
 * TLS handshakes (a userspace helper, ksmtp-tlsd, does them; the module then
 * uses kernel TLS on the socket). The helper needs CAP_NET_ADMIN and serves
 * the namespace it runs in. In KSMTP_A_TLS (enum ksmtp_a_tls):
 *
 * KSMTP_CMD_TLS_REQUEST: multicast on KSMTP_MCGRP_TLS when a session needs
 *   a handshake: ID (u64). It carries nothing secret; joining the group
 *   needs CAP_NET_ADMIN all the same.
 * KSMTP_CMD_TLS_ACCEPT: needs CAP_NET_ADMIN. Takes the request ID (or,
 *   without it or without KSMTP_A_TLS, the oldest one waiting). The reply
 *   holds ID, FD (u32: the session's TCP socket, now a descriptor of the
 *   caller, close-on-exec), NAME (the server name to verify), CA_FILE
 *   (absent: system trust store) and TIMEOUT_MS (u32: the time left for
 *   the handshake). -ENOENT when no such request waits.
 * KSMTP_CMD_TLS_DONE: needs CAP_NET_ADMIN, from the socket that accepted:
 *   ID, STATUS (u32: 0, or a positive errno: EKEYREJECTED for a
 *   certificate refused, ECONNABORTED for a failed handshake), REASON
 *   (string, the failure in words), INFO (string, the version and cipher).
 *   Before reporting 0 the helper installs the kernel TLS transmit and
 *   receive state on the socket and closes its descriptor: the module
 *   checks both. A helper whose netlink socket closes fails the handshakes
 *   it accepted.
 */
#ifndef _UAPI_LINUX_KSMTP_H
#define _UAPI_LINUX_KSMTP_H

#define KSMTP_GENL_NAME		"ksmtp"
#define KSMTP_GENL_VERSION	1

#define KSMTP_BODY_MAX		1048576
#define KSMTP_STR_MAX		255
#define KSMTP_SUBJECT_MAX	2048
#define KSMTP_HEADERS_MAX	32768

/**
 * enum ksmtp_auth_type - authentication mechanism
 * @KSMTP_AUTH_NONE: no AUTH, unless credentials are set and the server
 *	offers AUTH: then the best offered mechanism.
 * @KSMTP_AUTH_PLAIN: AUTH PLAIN with an initial response.
 * @KSMTP_AUTH_LOGIN: AUTH LOGIN.
 * @KSMTP_AUTH_CRAM_MD5: AUTH CRAM-MD5.
 * @__KSMTP_AUTH_MAX: number of mechanisms
 * @KSMTP_AUTH_MAX: highest mechanism
 */
enum ksmtp_auth_type {
	KSMTP_AUTH_NONE,
	KSMTP_AUTH_PLAIN,
	KSMTP_AUTH_LOGIN,
	KSMTP_AUTH_CRAM_MD5,

	__KSMTP_AUTH_MAX,
	KSMTP_AUTH_MAX = __KSMTP_AUTH_MAX - 1
};

/**
 * enum ksmtp_tls_mode - TLS for the connection to the server
 * @KSMTP_TLS_NONE: cleartext
 * @KSMTP_TLS_STARTTLS: STARTTLS (RFC 3207) after the first EHLO; required:
 *	a server that does not offer it, or a failed handshake, fails the mail
 * @KSMTP_TLS_IMPLICIT: TLS from the first octet (RFC 8314; port 465 unless
 *	another is set)
 * @__KSMTP_TLS_MAX: number of modes
 * @KSMTP_TLS_MAX: highest mode
 */
enum ksmtp_tls_mode {
	KSMTP_TLS_NONE,
	KSMTP_TLS_STARTTLS,
	KSMTP_TLS_IMPLICIT,

	__KSMTP_TLS_MAX,
	KSMTP_TLS_MAX = __KSMTP_TLS_MAX - 1
};

/**
 * enum ksmtp_priority - priority of a mail (its X-Priority header)
 * @KSMTP_PRIO_NORMAL: X-Priority: 3 (Normal)
 * @KSMTP_PRIO_LOW: X-Priority: 5 (Lowest)
 * @KSMTP_PRIO_HIGH: X-Priority: 1 (Highest)
 * @__KSMTP_PRIO_MAX: number of priorities
 * @KSMTP_PRIO_MAX: highest priority value
 */
enum ksmtp_priority {
	KSMTP_PRIO_NORMAL,
	KSMTP_PRIO_LOW,
	KSMTP_PRIO_HIGH,

	__KSMTP_PRIO_MAX,
	KSMTP_PRIO_MAX = __KSMTP_PRIO_MAX - 1
};

/**
 * enum ksmtp_phase - the step of a session that failed
 * @KSMTP_PHASE_NONE: none (success), or before connecting (bad input)
 * @KSMTP_PHASE_CONNECT: TCP connect
 * @KSMTP_PHASE_GREETING: the server's 220 greeting
 * @KSMTP_PHASE_EHLO: EHLO or HELO
 * @KSMTP_PHASE_AUTH: AUTH
 * @KSMTP_PHASE_MAIL: MAIL FROM
 * @KSMTP_PHASE_RCPT: RCPT TO
 * @KSMTP_PHASE_DATA: DATA (waiting for 354)
 * @KSMTP_PHASE_MESSAGE: the message and the reply to its final dot
 * @KSMTP_PHASE_QUIT: QUIT
 * @KSMTP_PHASE_TLS: STARTTLS and the TLS handshake (last in number only, to
 *	keep the values above; in a session it comes after EHLO, or first)
 * @__KSMTP_PHASE_MAX: number of phases
 * @KSMTP_PHASE_MAX: highest phase
 */
enum ksmtp_phase {
	KSMTP_PHASE_NONE,
	KSMTP_PHASE_CONNECT,
	KSMTP_PHASE_GREETING,
	KSMTP_PHASE_EHLO,
	KSMTP_PHASE_AUTH,
	KSMTP_PHASE_MAIL,
	KSMTP_PHASE_RCPT,
	KSMTP_PHASE_DATA,
	KSMTP_PHASE_MESSAGE,
	KSMTP_PHASE_QUIT,
	KSMTP_PHASE_TLS,

	__KSMTP_PHASE_MAX,
	KSMTP_PHASE_MAX = __KSMTP_PHASE_MAX - 1
};

/**
 * enum ksmtp_end - how a queued mail ended (each mail ends exactly once)
 * @KSMTP_END_SENT: the server accepted it
 * @KSMTP_END_FAILED: refused for good (5xx or bad input): never retried
 * @KSMTP_END_EXPIRED: still failing transiently when its retries or its
 *	age ran out
 * @KSMTP_END_DROPPED: dropped on purpose: flushed, cancelled, module
 *	unload, network namespace exit
 * @KSMTP_END_COALESCED: merged into an identical mail still queued (the
 *	fault-storm rate limit); that mail carries the repeat count
 * @__KSMTP_END_MAX: number of ends
 * @KSMTP_END_MAX: highest end
 */
enum ksmtp_end {
	KSMTP_END_SENT,
	KSMTP_END_FAILED,
	KSMTP_END_EXPIRED,
	KSMTP_END_DROPPED,
	KSMTP_END_COALESCED,

	__KSMTP_END_MAX,
	KSMTP_END_MAX = __KSMTP_END_MAX - 1
};

/**
 * enum ksmtp_event_type - what a KSMTP_CMD_EVENT multicast reports
 * @KSMTP_EV_QUEUED: a mail was accepted into the queue
 * @KSMTP_EV_RETRY: an attempt failed transiently; another follows at
 *	KSMTP_A_QE_NEXT_MS
 * @KSMTP_EV_END: the mail ended, as KSMTP_A_EV_END says
 */
enum ksmtp_event_type {
	KSMTP_EV_QUEUED,
	KSMTP_EV_RETRY,
	KSMTP_EV_END,
};

#define KSMTP_MCGRP_EVENTS	"events"
#define KSMTP_MCGRP_TLS		"tls"

enum ksmtp_cmd {
	KSMTP_CMD_UNSPEC,
	KSMTP_CMD_CONFIG_SET,
	KSMTP_CMD_CONFIG_GET,
	KSMTP_CMD_SEND,
	KSMTP_CMD_STATS_GET,
	KSMTP_CMD_QUEUE_GET,
	KSMTP_CMD_QUEUE_FLUSH,
	KSMTP_CMD_QUEUE_RETRY,
	KSMTP_CMD_EVENT,
	KSMTP_CMD_TLS_REQUEST,
	KSMTP_CMD_TLS_ACCEPT,
	KSMTP_CMD_TLS_DONE,

	__KSMTP_CMD_MAX,
	KSMTP_CMD_MAX = __KSMTP_CMD_MAX - 1
};

/*
 * Attributes. The top level holds one nest per kind of object; each
 * command accepts only the nests (and, inside, only the attributes) listed
 * for it above: anything else is refused. Numbers are frozen: new
 * attributes go at the end of their set.
 */
enum ksmtp_a {
	KSMTP_A_UNSPEC,
	KSMTP_A_CONFIG,		/* nest, enum ksmtp_a_cfg */
	KSMTP_A_MAIL,		/* nest, enum ksmtp_a_mail */
	KSMTP_A_RESULT,		/* nest, enum ksmtp_a_res */
	KSMTP_A_STATS,		/* nest, enum ksmtp_a_stats */
	KSMTP_A_QUEUE_ENTRY,	/* nest, enum ksmtp_a_qe */
	KSMTP_A_EVENT,		/* nest, enum ksmtp_a_ev */
	KSMTP_A_TLS,		/* nest, enum ksmtp_a_tls */

	__KSMTP_A_MAX,
	KSMTP_A_MAX = __KSMTP_A_MAX - 1
};

/* KSMTP_A_CONFIG: the namespace's configuration */
enum ksmtp_a_cfg {
	KSMTP_A_CFG_UNSPEC,
	KSMTP_A_CFG_SERVER_ADDR,
	KSMTP_A_CFG_PORT,
	KSMTP_A_CFG_USERNAME,
	KSMTP_A_CFG_PASSWORD,
	KSMTP_A_CFG_PASSWORD_SET,
	KSMTP_A_CFG_FROM,
	KSMTP_A_CFG_DOMAIN,
	KSMTP_A_CFG_AUTH,
	KSMTP_A_CFG_AUTH_CLEARTEXT,
	KSMTP_A_CFG_HELO_ONLY,
	KSMTP_A_CFG_TLS,
	KSMTP_A_CFG_TLS_NAME,
	KSMTP_A_CFG_TLS_CA_FILE,
	KSMTP_A_CFG_RCPT,
	KSMTP_A_CFG_TIMEOUT_CONNECT,
	KSMTP_A_CFG_TIMEOUT_GREETING,
	KSMTP_A_CFG_TIMEOUT_COMMAND,
	KSMTP_A_CFG_TIMEOUT_DATA_BLOCK,
	KSMTP_A_CFG_TIMEOUT_FINAL_DOT,
	KSMTP_A_CFG_QUEUE_MAX,
	KSMTP_A_CFG_QUEUE_BYTES,
	KSMTP_A_CFG_RETRY_MAX,
	KSMTP_A_CFG_RETRY_AGE,
	KSMTP_A_CFG_RETRY_BASE_MS,
	KSMTP_A_CFG_COALESCE_MS,
	KSMTP_A_CFG_CONFIGURED,
	KSMTP_A_CFG_SERVER_NAME,
	KSMTP_A_CFG_PASSWORD_FILE,
	KSMTP_A_CFG_REPLACE,
	/* #12 B: the group that may send */
	KSMTP_A_CFG_SEND_GID,
	/* the kernel-log reporter (#12 part A) */
	KSMTP_A_CFG_KLOG,
	KSMTP_A_CFG_KLOG_LEVEL,
	KSMTP_A_CFG_KLOG_CONTEXT,
	KSMTP_A_CFG_KLOG_WINDOW_MS,
	KSMTP_A_CFG_KLOG_PER_HOUR,

	__KSMTP_A_CFG_MAX,
	KSMTP_A_CFG_MAX = __KSMTP_A_CFG_MAX - 1
};

/* KSMTP_A_MAIL: a mail to send, or the id of one */
enum ksmtp_a_mail {
	KSMTP_A_MAIL_UNSPEC,
	KSMTP_A_MAIL_ID,
	KSMTP_A_MAIL_RCPT,
	KSMTP_A_MAIL_SUBJECT,
	KSMTP_A_MAIL_PRIORITY,
	KSMTP_A_MAIL_BODY,
	KSMTP_A_MAIL_QUEUE,
	KSMTP_A_MAIL_PAD,
	/* #12 B: a message whose header section comes from the caller */
	KSMTP_A_MAIL_HEADERS,
	KSMTP_A_MAIL_ENVELOPE_FROM,
	KSMTP_A_MAIL_FROM_NAME,

	__KSMTP_A_MAIL_MAX,
	KSMTP_A_MAIL_MAX = __KSMTP_A_MAIL_MAX - 1
};

/* KSMTP_A_RESULT: how a send ended (struct ksmtp_result) */
enum ksmtp_a_res {
	KSMTP_A_RES_UNSPEC,
	KSMTP_A_RES_ERRNO,
	KSMTP_A_RES_PHASE,
	KSMTP_A_RES_CODE,
	KSMTP_A_RES_TEXT,
	KSMTP_A_RES_TRANSIENT,
	KSMTP_A_RES_UNKNOWN,
	KSMTP_A_RES_REASON,
	KSMTP_A_RES_TLS,

	__KSMTP_A_RES_MAX,
	KSMTP_A_RES_MAX = __KSMTP_A_RES_MAX - 1
};

/* KSMTP_A_STATS: the namespace's counters, u64 each */
enum ksmtp_a_stats {
	KSMTP_A_STATS_UNSPEC,
	KSMTP_A_STATS_SENT,
	KSMTP_A_STATS_FAILED_TRANSIENT,
	KSMTP_A_STATS_FAILED_PERMANENT,
	KSMTP_A_STATS_FAILED_PHASE,	/* nest: u64 per enum ksmtp_phase */
	KSMTP_A_STATS_QUEUED,
	KSMTP_A_STATS_RETRIED,
	KSMTP_A_STATS_EXPIRED,
	KSMTP_A_STATS_DROPPED,
	KSMTP_A_STATS_COALESCED,
	KSMTP_A_STATS_REFUSED,
	KSMTP_A_STATS_QUEUE_LEN,
	KSMTP_A_STATS_QUEUE_BYTES,
	KSMTP_A_STATS_PAD,

	__KSMTP_A_STATS_MAX,
	KSMTP_A_STATS_MAX = __KSMTP_A_STATS_MAX - 1
};

/*
 * KSMTP_A_STATS_FAILED_PHASE holds one u64 per phase, its attribute type
 * the enum ksmtp_phase value (1..KSMTP_PHASE_MAX); type 0 is padding.
 */
#define KSMTP_A_PHASE_PAD	0

/* KSMTP_A_QUEUE_ENTRY: a queued mail */
enum ksmtp_a_qe {
	KSMTP_A_QE_UNSPEC,
	KSMTP_A_QE_ID,
	KSMTP_A_QE_RCPT,
	KSMTP_A_QE_SUBJECT,
	KSMTP_A_QE_PRIORITY,
	KSMTP_A_QE_ATTEMPTS,
	KSMTP_A_QE_REPEATS,
	KSMTP_A_QE_AGE_MS,
	KSMTP_A_QE_NEXT_MS,
	KSMTP_A_QE_PAD,

	__KSMTP_A_QE_MAX,
	KSMTP_A_QE_MAX = __KSMTP_A_QE_MAX - 1
};

/* KSMTP_A_EVENT: what happened to a queued mail */
enum ksmtp_a_ev {
	KSMTP_A_EV_UNSPEC,
	KSMTP_A_EV_TYPE,
	KSMTP_A_EV_END,

	__KSMTP_A_EV_MAX,
	KSMTP_A_EV_MAX = __KSMTP_A_EV_MAX - 1
};

/* KSMTP_A_TLS: a TLS handshake handed to the helper */
enum ksmtp_a_tls {
	KSMTP_A_TLS_UNSPEC,
	KSMTP_A_TLS_ID,
	KSMTP_A_TLS_FD,
	KSMTP_A_TLS_NAME,
	KSMTP_A_TLS_CA_FILE,
	KSMTP_A_TLS_TIMEOUT_MS,
	KSMTP_A_TLS_STATUS,
	KSMTP_A_TLS_REASON,
	KSMTP_A_TLS_INFO,
	KSMTP_A_TLS_PAD,

	__KSMTP_A_TLS_MAX,
	KSMTP_A_TLS_MAX = __KSMTP_A_TLS_MAX - 1
};

#endif /* _UAPI_LINUX_KSMTP_H */
