/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TERN_TOOLS_MQTTSN_CLIENT_H
#define TERN_TOOLS_MQTTSN_CLIENT_H

/*
 * The client side of one MQTT-SN v1.2 session over a connected UDP socket,
 * for tern-mqttsn (tests/tools/tern_mqttsn.c). Every datagram goes through
 * the codec (proto/mqttsn.h): tmq_send() encodes a struct mqttsn_msg,
 * tmq_recv() decodes one; nothing here builds or parses bytes by hand.
 *
 * Single-threaded: received messages are decoded into one static buffer, so
 * the views of a received struct mqttsn_msg are valid until the next
 * tmq_recv() / tmq_request() / tmq_pump() of any client.
 *
 * The datagrams travel as plain UDP unless the client has a transport
 * (struct tmq_transport): tern-mqttsn --dtls sets mqttsn_dtls.c's, which
 * carries each message as one DTLS record. The session code above it is the
 * same either way.
 *
 * Functions returning int give 0 on success and a negative errno-style code
 * otherwise; those that fail for a protocol reason (timeout, reject, the
 * gateway's DISCONNECT) have already printed why (tmq_error()).
 */

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "proto/mqttsn.h"

/* Exit status of tern-mqttsn. */
enum {
	TMQ_EXIT_OK = 0,
	TMQ_EXIT_FAIL = 1,      /* protocol failure, timeout, reject */
	TMQ_EXIT_USAGE = 2,
};

struct tmq_client;

/*
 * A secure channel over the connected socket, chosen once per client before
 * tmq_open(). Each message is one unit of the channel (one send(), one
 * recv() result). All functions run on the tool's one thread.
 */
struct tmq_transport {
	const char *name;       /* "DTLS" */
	/* After c->fd is connected: set up c->tr_sess (handshake). 0, or negative, printed. */
	int (*open)(struct tmq_client *c);
	/* Send one message. 0, or negative: -EAGAIN, -ECONNREFUSED, or an error printed. */
	int (*send)(struct tmq_client *c, const uint8_t *p, size_t len);
	/*
	 * Receive one message into @p buf of @p size without blocking.
	 * @return its length (size: it was longer and is cut), -EAGAIN for
	 *         nothing yet, -ECONNREFUSED, or another negative code (printed).
	 */
	int (*recv)(struct tmq_client *c, uint8_t *buf, size_t size);
	/* True if a message is already buffered: poll() would not show it. */
	bool (*pending)(const struct tmq_client *c);
	/* Tell the peer and free c->tr_sess; c->fd stays open. */
	void (*close)(struct tmq_client *c);
};

/* Set by SIGINT / SIGTERM: tmq_pump() returns 0 at once, so loops wind down. */
extern volatile sig_atomic_t tmq_interrupted;

/*
 * Called for every received message a tmq_request() did not wait for, and
 * for every message tmq_pump() receives (after the keep-alive PINGRESP is
 * taken out). Returns 0 to go on, 1 to make tmq_pump() return 1, or a
 * negative code to abort the request or the pump with it.
 */
typedef int (*tmq_msg_fn)(struct tmq_client *c, const struct mqttsn_msg *m, void *arg);

struct tmq_client {
	int fd;                 /* connected UDP socket, -1 when closed */
	const char *client_id;
	const char *tag;        /* prefix of verbose lines (load: the client id), or NULL */
	uint16_t next_msg_id;
	uint16_t bind_port;     /* tmq_open() binds to this local port first; 0: any */
	int timeout_ms;         /* per response */
	unsigned int retries;   /* retransmissions after the first send (Nretry) */
	unsigned int keepalive_ms; /* tmq_pump() pings after this much silence; 0: never */
	bool verbose;
	bool json;
	bool refused;           /* an ICMP port unreachable came back */
	bool ping_out;          /* keep-alive PINGREQ waiting for its PINGRESP */
	unsigned int ping_tries;
	uint64_t last_tx_ns;
	uint64_t ping_ns;       /* when the outstanding PINGREQ was sent */
	tmq_msg_fn on_msg;
	void *arg;
	const struct tmq_transport *tr; /* NULL: plain UDP */
	void *tr_conf;          /* the transport's shared settings (DTLS: the SSL_CTX) */
	void *tr_sess;          /* the transport's state of this client (DTLS: the SSL) */
};

/** Monotonic clock in nanoseconds. */
uint64_t tmq_now_ns(void);

/** Print "tern-mqttsn: MESSAGE" on stderr (and {"error": ...} on stdout with --json). */
void tmq_error(const struct tmq_client *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/** The specification's name of a return code ("congestion"); "reserved" above 3. */
const char *tmq_rc_name(unsigned int rc);

/** Upper-case name of a message type ("PUBLISH"), "UNKNOWN" for none. */
const char *tmq_type_upper(unsigned int type);

/**
 * Set up @p c with the given settings and open a UDP socket connected to
 * @p host (name, IPv4 or IPv6 literal) port @p port, bound first to local
 * port c->bind_port if it is not 0; then open c->tr on it if set (the DTLS
 * handshake). Prints the reason and returns a negative code on failure.
 */
int tmq_open(struct tmq_client *c, const char *host, const char *port);

/** Bind @p fd to the any address of @p family, UDP port @p port. @return bind()'s result. */
int tmq_bind_any(int fd, int family, uint16_t port);

/** Close the transport (DTLS: close_notify), then the socket. */
void tmq_close(struct tmq_client *c);

/** Next message id (1..65535, never 0). */
uint16_t tmq_msg_id(struct tmq_client *c);

/** Encode and send one message; -v prints it. @return 0, or the codec's / send()'s error. */
int tmq_send(struct tmq_client *c, const struct mqttsn_msg *m);

/** True if a message is buffered above the socket (DTLS): receive before poll(). */
bool tmq_pending(const struct tmq_client *c);

/**
 * Wait up to @p timeout_ms (0: do not wait) for one decodable message;
 * undecodable datagrams are reported with -v and skipped.
 * @return 1 with @p m filled, 0 on timeout, negative on a socket error.
 */
int tmq_recv(struct tmq_client *c, struct mqttsn_msg *m, int timeout_ms);

/**
 * Send @p req and wait for a message of type @p want (or, if @p alt is not
 * -1, of type @p alt) carrying the same msg id if @p match_id; on each
 * timeout retransmit, with DUP set for PUBLISH and SUBSCRIBE, up to
 * c->retries times. Other messages go to c->on_msg.
 * @p what names the exchange in messages ("CONNECT").
 * @return 0 with @p resp filled, -ETIMEDOUT (printed), or the error of
 *         sending or of c->on_msg.
 */
int tmq_request(struct tmq_client *c, const char *what, struct mqttsn_msg *req, int want,
		int alt, bool match_id, struct mqttsn_msg *resp);

/**
 * Receive and dispatch to c->on_msg until @p until_ns (tmq_now_ns() time),
 * sending a keep-alive PINGREQ after c->keepalive_ms without sending and
 * retransmitting it like a request.
 * @return 0 at @p until_ns, 1 when c->on_msg returned 1, negative on error
 *         (-ETIMEDOUT after the last unanswered PINGREQ, printed).
 */
int tmq_pump(struct tmq_client *c, uint64_t until_ns);

/* ---- high-level exchanges: 0, or negative with the reason printed ---- */

/** CONNECT, wait CONNACK; a return code other than accepted fails with -EPROTO. */
int tmq_connect(struct tmq_client *c, uint16_t keepalive_s, bool clean);

/** REGISTER @p name, wait REGACK; @p topic_id gets the assigned id. */
int tmq_register(struct tmq_client *c, const char *name, uint16_t *topic_id);

/**
 * SUBSCRIBE at @p qos to @p name (topic type NORMAL) or @p topic_id
 * (PREDEFINED, SHORT), wait SUBACK; @p suback gets it.
 */
int tmq_subscribe(struct tmq_client *c, int qos, int topic_type, const char *name,
		  uint16_t topic_id, struct mqttsn_msg *suback);

/**
 * DISCONNECT (with @p duration seconds if @p sleep), wait for the
 * gateway's DISCONNECT.
 */
int tmq_disconnect(struct tmq_client *c, bool sleep, uint16_t duration);

/* ---- output helpers ---- */

/** Print one message as a line: "> PUBLISH qos=1 ..." or a JSON object. */
void tmq_print_msg(const struct tmq_client *c, FILE *f, const char *dir,
		   const struct mqttsn_msg *m);

/** Write @p p as a JSON string (quotes included); bytes that are not UTF-8 as \u00XX. */
void tmq_json_str(FILE *f, const uint8_t *p, size_t len);

/** Write @p p for a text line: control bytes and '\\' escaped as \xNN and \\. */
void tmq_text_bytes(FILE *f, const uint8_t *p, size_t len);

/** True if @p p is valid UTF-8. */
bool tmq_utf8_valid(const uint8_t *p, size_t len);

#endif
