/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoints: an SMTP session's phases and the queue's events, so that
 * perf trace or trace-cmd can follow a delivery (events "ksmtp:*").
 * trace.c defines them (CREATE_TRACE_POINTS).
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM ksmtp

#if !defined(_KSMTP_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _KSMTP_TRACE_H

#include <linux/tracepoint.h>
#include <linux/ksmtp.h>

#define ksmtp_show_phase(p)					\
	__print_symbolic(p,					\
			 { KSMTP_PHASE_NONE, "none" },		\
			 { KSMTP_PHASE_CONNECT, "connect" },	\
			 { KSMTP_PHASE_GREETING, "greeting" },	\
			 { KSMTP_PHASE_EHLO, "EHLO" },		\
			 { KSMTP_PHASE_AUTH, "AUTH" },		\
			 { KSMTP_PHASE_MAIL, "MAIL" },		\
			 { KSMTP_PHASE_RCPT, "RCPT" },		\
			 { KSMTP_PHASE_DATA, "DATA" },		\
			 { KSMTP_PHASE_MESSAGE, "message" },	\
			 { KSMTP_PHASE_QUIT, "QUIT" },		\
			 { KSMTP_PHASE_TLS, "TLS" })

TRACE_EVENT(ksmtp_session_phase,
	    TP_PROTO(const void *session, enum ksmtp_phase phase),
	    TP_ARGS(session, phase),
	    TP_STRUCT__entry(__field(const void *, session)
			     __field(u32, phase)),
	    TP_fast_assign(__entry->session = session;
			   __entry->phase = phase;),
	    TP_printk("session=%p phase=%s", __entry->session,
		      ksmtp_show_phase(__entry->phase))
);

TRACE_EVENT(ksmtp_session_end,
	    TP_PROTO(const void *session, const struct ksmtp_result *res),
	    TP_ARGS(session, res),
	    TP_STRUCT__entry(__field(const void *, session)
			     __field(int, err)
			     __field(u32, phase)
			     __field(u32, code)
			     __field(bool, transient)),
	    TP_fast_assign(__entry->session = session;
			   __entry->err = res->kr_err;
			   __entry->phase = res->kr_phase;
			   __entry->code = res->kr_code;
			   __entry->transient = res->kr_transient;),
	    TP_printk("session=%p err=%d phase=%s code=%u transient=%d",
		      __entry->session, __entry->err,
		      ksmtp_show_phase(__entry->phase), __entry->code,
		      __entry->transient)
);

TRACE_EVENT(ksmtp_queue_event,
	    TP_PROTO(u64 id, u32 type, u32 end, unsigned int attempts, int err),
	    TP_ARGS(id, type, end, attempts, err),
	    TP_STRUCT__entry(__field(u64, id)
			     __field(u32, type)
			     __field(u32, end)
			     __field(unsigned int, attempts)
			     __field(int, err)),
	    TP_fast_assign(__entry->id = id;
			   __entry->type = type;
			   __entry->end = end;
			   __entry->attempts = attempts;
			   __entry->err = err;),
	    TP_printk("id=%llu %s%s attempts=%u err=%d", __entry->id,
		      __print_symbolic(__entry->type,
				       { KSMTP_EV_QUEUED, "queued" },
				       { KSMTP_EV_RETRY, "retry" },
				       { KSMTP_EV_END, "end" }),
		      __entry->type != KSMTP_EV_END ? "" :
		      __print_symbolic(__entry->end,
				       { KSMTP_END_SENT, " sent" },
				       { KSMTP_END_FAILED, " failed" },
				       { KSMTP_END_EXPIRED, " expired" },
				       { KSMTP_END_DROPPED, " dropped" },
				       { KSMTP_END_COALESCED, " coalesced" }),
		      __entry->attempts, __entry->err)
);

#endif /* _KSMTP_TRACE_H */

/* Out of tree the header is found beside its .c (module/Kbuild adds
 * -I$(src) for trace.o); in tree the same.
 */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
