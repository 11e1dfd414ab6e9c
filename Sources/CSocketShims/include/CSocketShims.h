#ifndef CSOCKET_SHIMS_H
#define CSOCKET_SHIMS_H

#include <stddef.h>
#include <stdint.h>

/* Linux socket calls Swift cannot make comfortably. No OpenSSL here. */

/* Batched UDP I/O (Linux sendmmsg/recvmmsg). */

/// One datagram of a batch: a buffer and a peer address (struct sockaddr_storage bytes).
typedef struct {
    const void *data;
    size_t length;
    const void *address;      /* struct sockaddr_in or sockaddr_in6 */
    uint32_t address_length;
} skylark_datagram_out;

/// Sends up to `count` datagrams with one sendmmsg call (repeated until all are sent or an error).
/// Returns how many were sent, or -errno when none was.
int skylark_sendmmsg(int fd, const skylark_datagram_out *datagrams, int count);

typedef struct {
    void *data;
    size_t capacity;
    size_t length;                 /* out */
    uint8_t address[128];          /* out: struct sockaddr_storage */
    uint32_t address_length;       /* out */
    int64_t timestamp_ns;          /* out: when the kernel received it (CLOCK_REALTIME), 0 without SO_TIMESTAMPNS */
} skylark_datagram_in;

/// Receives up to `count` datagrams without blocking. Returns how many, 0 when none waits, or -errno.
int skylark_recvmmsg(int fd, skylark_datagram_in *datagrams, int count);

/// setsockopt(SO_TIMESTAMPNS): the kernel stamps each received datagram with its arrival time. Returns 0 or -errno.
int skylark_enable_receive_timestamps(int fd);

#endif
