#define _GNU_SOURCE
#include "CSocketShims.h"
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#define SKYLARK_BATCH 64

int skylark_sendmmsg(int fd, const skylark_datagram_out *datagrams, int count) {
    struct mmsghdr headers[SKYLARK_BATCH];
    struct iovec vectors[SKYLARK_BATCH];
    int sent = 0;
    while (sent < count) {
        int n = count - sent;
        if (n > SKYLARK_BATCH) n = SKYLARK_BATCH;
        memset(headers, 0, sizeof(struct mmsghdr) * (size_t)n);
        for (int i = 0; i < n; i++) {
            const skylark_datagram_out *d = &datagrams[sent + i];
            vectors[i].iov_base = (void *)d->data;
            vectors[i].iov_len = d->length;
            headers[i].msg_hdr.msg_iov = &vectors[i];
            headers[i].msg_hdr.msg_iovlen = 1;
            headers[i].msg_hdr.msg_name = (void *)d->address;
            headers[i].msg_hdr.msg_namelen = d->address_length;
        }
        int r = sendmmsg(fd, headers, (unsigned int)n, MSG_DONTWAIT);
        if (r < 0) {
            if (errno == EINTR) continue;
            return sent > 0 ? sent : -errno;
        }
        if (r == 0) break;
        sent += r;
        if (r < n) {
            /* The kernel stopped early (e.g. one bad destination): skip it so one peer cannot stall the batch. */
            sent += 1;
        }
    }
    return sent;
}

int skylark_recvmmsg(int fd, skylark_datagram_in *datagrams, int count) {
    struct mmsghdr headers[SKYLARK_BATCH];
    struct iovec vectors[SKYLARK_BATCH];
    /* Room for one SCM_TIMESTAMPNS per datagram; unused unless the socket asked for timestamps. */
    union { char bytes[CMSG_SPACE(sizeof(struct timespec))]; struct cmsghdr align; } controls[SKYLARK_BATCH];
    if (count > SKYLARK_BATCH) count = SKYLARK_BATCH;
    memset(headers, 0, sizeof(struct mmsghdr) * (size_t)count);
    for (int i = 0; i < count; i++) {
        vectors[i].iov_base = datagrams[i].data;
        vectors[i].iov_len = datagrams[i].capacity;
        headers[i].msg_hdr.msg_iov = &vectors[i];
        headers[i].msg_hdr.msg_iovlen = 1;
        headers[i].msg_hdr.msg_name = datagrams[i].address;
        headers[i].msg_hdr.msg_namelen = sizeof(datagrams[i].address);
        headers[i].msg_hdr.msg_control = controls[i].bytes;
        headers[i].msg_hdr.msg_controllen = sizeof(controls[i].bytes);
    }
    int r;
    do { r = recvmmsg(fd, headers, (unsigned int)count, MSG_DONTWAIT, NULL); } while (r < 0 && errno == EINTR);
    if (r < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
    for (int i = 0; i < r; i++) {
        datagrams[i].length = headers[i].msg_len;
        datagrams[i].address_length = headers[i].msg_hdr.msg_namelen;
        datagrams[i].timestamp_ns = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&headers[i].msg_hdr); c != NULL; c = CMSG_NXTHDR(&headers[i].msg_hdr, c)) {
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
                struct timespec stamp;
                memcpy(&stamp, CMSG_DATA(c), sizeof(stamp));
                datagrams[i].timestamp_ns = (int64_t)stamp.tv_sec * 1000000000 + stamp.tv_nsec;
            }
        }
    }
    return r;
}

int skylark_enable_receive_timestamps(int fd) {
    int yes = 1;
    return setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &yes, sizeof(yes)) == 0 ? 0 : -errno;
}
