#define _GNU_SOURCE
#include "CMeshgateShim.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdlib.h>
#include <malloc.h>
#include <string.h>
#include <liburing.h>
#include <linux/time_types.h>

_Static_assert(sizeof(mg_timespec) == sizeof(struct __kernel_timespec), "timespec layout");
_Static_assert(sizeof(struct io_uring_sqe) == 64, "sqe layout");
_Static_assert(sizeof(struct io_uring_cqe) == 16, "cqe layout");

const int mg_SOCK_NONBLOCK = SOCK_NONBLOCK;
const int mg_SOCK_CLOEXEC = SOCK_CLOEXEC;
const int mg_SOCK_STREAM = SOCK_STREAM;
const unsigned mg_SPLICE_F_MOVE = SPLICE_F_MOVE;
const unsigned mg_SPLICE_F_NONBLOCK = SPLICE_F_NONBLOCK;
const unsigned mg_SPLICE_F_MORE = SPLICE_F_MORE;
const int mg_F_SETPIPE_SZ = F_SETPIPE_SZ;
const int mg_F_GETPIPE_SZ = F_GETPIPE_SZ;
const uint32_t mg_EPOLLIN = EPOLLIN;
const uint32_t mg_EPOLLOUT = EPOLLOUT;
const uint32_t mg_EPOLLERR = EPOLLERR;
const uint32_t mg_EPOLLHUP = EPOLLHUP;
const uint32_t mg_EPOLLRDHUP = EPOLLRDHUP;
const uint32_t mg_EPOLLET = EPOLLET;
const uint32_t mg_EPOLLONESHOT = EPOLLONESHOT;
const uint32_t mg_EPOLLEXCLUSIVE = EPOLLEXCLUSIVE;
const short mg_POLLIN = POLLIN;
const short mg_POLLOUT = POLLOUT;
const short mg_POLLERR = POLLERR;
const short mg_POLLHUP = POLLHUP;
const short mg_POLLRDHUP = POLLRDHUP;
const uint8_t mg_IOSQE_IO_LINK = IOSQE_IO_LINK;
const uint8_t mg_IOSQE_ASYNC = IOSQE_ASYNC;
const uint8_t mg_IOSQE_IO_HARDLINK = IOSQE_IO_HARDLINK;
const unsigned mg_IORING_ASYNC_CANCEL_ALL = IORING_ASYNC_CANCEL_ALL;
const unsigned mg_IORING_SETUP_CQSIZE = IORING_SETUP_CQSIZE;
const uint8_t mg_IOSQE_CQE_SKIP_SUCCESS = IOSQE_CQE_SKIP_SUCCESS;
const unsigned mg_IORING_SETUP_SINGLE_ISSUER = IORING_SETUP_SINGLE_ISSUER;
const unsigned mg_IORING_SETUP_DEFER_TASKRUN = IORING_SETUP_DEFER_TASKRUN;
const unsigned mg_IORING_SETUP_COOP_TASKRUN = IORING_SETUP_COOP_TASKRUN;
const unsigned mg_IORING_SETUP_SUBMIT_ALL = IORING_SETUP_SUBMIT_ALL;
const unsigned mg_IORING_CQE_F_MORE = IORING_CQE_F_MORE;
const unsigned mg_IORING_FEAT_NODROP = IORING_FEAT_NODROP;
const unsigned mg_IORING_POLL_ADD_MULTI = IORING_POLL_ADD_MULTI;
const int mg_IORING_OP_LAST = IORING_OP_LAST;
const int mg_EPOLL_CTL_ADD = EPOLL_CTL_ADD;
const int mg_EPOLL_CTL_MOD = EPOLL_CTL_MOD;
const int mg_EPOLL_CTL_DEL = EPOLL_CTL_DEL;
const int mg_MSG_NOSIGNAL = MSG_NOSIGNAL;

ssize_t mg_splice(int fd_in, int fd_out, size_t len, unsigned flags) {
    return splice(fd_in, NULL, fd_out, NULL, len, flags);
}

int mg_pipe_nonblock(int fds[2]) { return pipe2(fds, O_NONBLOCK | O_CLOEXEC); }

int mg_accept_nonblock(int fd) { return accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC); }

int mg_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

int mg_fionread(int fd) {
    int n = 0;
    if (ioctl(fd, FIONREAD, &n) < 0) return -1;
    return n;
}

int mg_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int mg_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev;
    ev.events = events;
    ev.data.u64 = data;
    return epoll_ctl(epfd, op, fd, &ev);
}

int mg_epoll_wait(int epfd, uint64_t *datas, uint32_t *events, int max, int timeout_ms) {
    struct epoll_event evs[256];
    if (max > 256) max = 256;
    int n = epoll_wait(epfd, evs, max, timeout_ms);
    for (int i = 0; i < n; i++) {
        datas[i] = evs[i].data.u64;
        events[i] = evs[i].events;
    }
    return n;
}

int mg_uring_probe_errno(void) {
    struct io_uring_params p = {0};
    int fd = (int)syscall(__NR_io_uring_setup, 2, &p);
    if (fd < 0) return -errno;
    close(fd);
    return 0;
}

// ---- io_uring -----------------------------------------------------------------

#define MG_TIMESPECS 256

struct mg_ring {
    struct io_uring ring;
    struct __kernel_timespec ts[MG_TIMESPECS];  // referenced by queued timeout SQEs
    struct sockaddr_storage addrs[MG_TIMESPECS];  // referenced by queued connect SQEs
    unsigned ts_used;
};

mg_ring *mg_ring_create(unsigned entries, unsigned *setup_flags, int *error) {
    mg_ring *r = calloc(1, sizeof(*r));
    if (!r) { *error = -ENOMEM; return NULL; }
    const unsigned attempts[] = {
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
        IORING_SETUP_COOP_TASKRUN,
        0,
    };
    int rc = -EINVAL;
    for (unsigned i = 0; i < sizeof(attempts) / sizeof(attempts[0]); i++) {
        struct io_uring_params p;
        memset(&p, 0, sizeof(p));
        p.flags = attempts[i] | IORING_SETUP_CQSIZE;
        p.cq_entries = entries * 4;
        rc = io_uring_queue_init_params(entries, &r->ring, &p);
        if (rc == 0) {
            *setup_flags = attempts[i];
            return r;
        }
    }
    free(r);
    *error = rc;
    return NULL;
}

void mg_ring_destroy(mg_ring *r) {
    io_uring_queue_exit(&r->ring);
    free(r);
}

static struct io_uring_sqe *mg_sqe(mg_ring *r) {
    struct io_uring_sqe *s = io_uring_get_sqe(&r->ring);
    if (s) return s;
    io_uring_submit(&r->ring);
    r->ts_used = 0;
    s = io_uring_get_sqe(&r->ring);
    if (!s) abort();  // cannot happen right after a submit
    return s;
}

static struct __kernel_timespec *mg_ts(mg_ring *r, int64_t ns) {
    if (r->ts_used == MG_TIMESPECS) {
        io_uring_submit(&r->ring);
        r->ts_used = 0;
    }
    struct __kernel_timespec *t = &r->ts[r->ts_used++];
    if (ns < 1) ns = 1;
    t->tv_sec = ns / 1000000000;
    t->tv_nsec = ns % 1000000000;
    return t;
}

void mg_ring_accept_multishot(mg_ring *r, int fd, uint64_t ud) {
    struct io_uring_sqe *s = mg_sqe(r);
    io_uring_prep_multishot_accept(s, fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    io_uring_sqe_set_data64(s, ud);
}

void mg_ring_accept(mg_ring *r, int fd, uint64_t ud) {
    struct io_uring_sqe *s = mg_sqe(r);
    io_uring_prep_accept(s, fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    io_uring_sqe_set_data64(s, ud);
}

void mg_ring_cancel(mg_ring *r, uint64_t target) {
    struct io_uring_sqe *s = mg_sqe(r);
    io_uring_prep_cancel64(s, target, IORING_ASYNC_CANCEL_ALL);
    io_uring_sqe_set_data64(s, 0);
}

void mg_ring_connect(mg_ring *r, int fd, const struct sockaddr *addr, socklen_t len,
                     uint64_t ud, int64_t timeout_ns) {
    // Both SQEs must be consecutive: make room for two first.
    if (io_uring_sq_space_left(&r->ring) < 2) { io_uring_submit(&r->ring); r->ts_used = 0; }
    struct __kernel_timespec *t = mg_ts(r, timeout_ns);
    // The kernel reads the address when the SQE is submitted: keep a copy until then
    // (slot shares the timespec's index, so both are recycled at the same submit).
    struct sockaddr_storage *a = &r->addrs[t - r->ts];
    if (len > sizeof(*a)) len = sizeof(*a);
    memcpy(a, addr, len);
    struct io_uring_sqe *c = mg_sqe(r);
    io_uring_prep_connect(c, fd, (const struct sockaddr *)a, len);
    io_uring_sqe_set_data64(c, ud);
    c->flags |= IOSQE_IO_LINK;
    struct io_uring_sqe *l = mg_sqe(r);
    io_uring_prep_link_timeout(l, t, 0);
    io_uring_sqe_set_data64(l, 0);
}

void mg_ring_poll_multishot(mg_ring *r, int fd, unsigned mask, uint64_t ud) {
    struct io_uring_sqe *s = mg_sqe(r);
    io_uring_prep_poll_multishot(s, fd, mask);
    io_uring_sqe_set_data64(s, ud);
}

void mg_ring_cancel_and_close(mg_ring *r, int fd) {
    if (io_uring_sq_space_left(&r->ring) < 2) { io_uring_submit(&r->ring); r->ts_used = 0; }
    struct io_uring_sqe *c = mg_sqe(r);
    io_uring_prep_cancel_fd(c, fd, IORING_ASYNC_CANCEL_ALL);
    io_uring_sqe_set_data64(c, 0);
    c->flags |= IOSQE_IO_HARDLINK | IOSQE_CQE_SKIP_SUCCESS;
    struct io_uring_sqe *x = mg_sqe(r);
    io_uring_prep_close(x, fd);
    io_uring_sqe_set_data64(x, 0);
    x->flags |= IOSQE_CQE_SKIP_SUCCESS;
}

void mg_ring_cancel_fd(mg_ring *r, int fd) {
    struct io_uring_sqe *c = mg_sqe(r);
    io_uring_prep_cancel_fd(c, fd, IORING_ASYNC_CANCEL_ALL);
    io_uring_sqe_set_data64(c, 0);
    c->flags |= IOSQE_CQE_SKIP_SUCCESS;
    // Submitted now, not with the next batch: the caller hands the descriptor to another
    // owner, which may close it at once. A cancel queued past that close finds no file (or
    // another one under the same number), and the multishot poll keeps its reference to the
    // socket's file forever: the socket stays open with no descriptor, its SO_LINGER reset
    // never sent. The cancelled poll drops that reference when its completion is reaped.
    io_uring_submit(&r->ring);
    r->ts_used = 0;
}

static void mg_cancel_data(mg_ring *r, uint64_t target) {
    if (target == 0) return;
    struct io_uring_sqe *c = mg_sqe(r);
    io_uring_prep_cancel64(c, target, IORING_ASYNC_CANCEL_ALL);
    io_uring_sqe_set_data64(c, 0);
    c->flags |= IOSQE_CQE_SKIP_SUCCESS;
}

void mg_ring_cancel_data_and_close(mg_ring *r, int fd, uint64_t first, uint64_t second) {
    // Not linked: a cancel by user_data does not need the descriptor, so it may run after the
    // close too. The cancelled poll drops its reference to the socket's file when it
    // completes, and the socket closes then (within the same io_uring_enter).
    mg_cancel_data(r, first);
    mg_cancel_data(r, second);
    struct io_uring_sqe *x = mg_sqe(r);
    io_uring_prep_close(x, fd);
    io_uring_sqe_set_data64(x, 0);
    x->flags |= IOSQE_CQE_SKIP_SUCCESS;
}

void mg_ring_cancel_data_now(mg_ring *r, uint64_t first, uint64_t second) {
    mg_cancel_data(r, first);
    mg_cancel_data(r, second);
    io_uring_submit(&r->ring);
    r->ts_used = 0;
}

void mg_ring_timeout(mg_ring *r, int64_t ns, uint64_t ud) {
    struct __kernel_timespec *t = mg_ts(r, ns);
    struct io_uring_sqe *s = mg_sqe(r);
    io_uring_prep_timeout(s, t, 0, 0);
    io_uring_sqe_set_data64(s, ud);
}

void mg_ring_read(mg_ring *r, int fd, void *buf, unsigned len, uint64_t ud) {
    struct io_uring_sqe *s = mg_sqe(r);
    io_uring_prep_read(s, fd, buf, len, 0);
    io_uring_sqe_set_data64(s, ud);
}

int mg_ring_submit_and_wait(mg_ring *r, int64_t timeout_ns) {
    int rc;
    if (timeout_ns == 0) {
        rc = io_uring_submit_and_get_events(&r->ring);
    } else if (timeout_ns < 0) {
        rc = io_uring_submit_and_wait(&r->ring, 1);
    } else {
        struct __kernel_timespec t = { .tv_sec = timeout_ns / 1000000000, .tv_nsec = timeout_ns % 1000000000 };
        struct io_uring_cqe *cqe = NULL;
        rc = io_uring_submit_and_wait_timeout(&r->ring, &cqe, 1, &t, NULL);
    }
    r->ts_used = 0;
    return rc < 0 ? rc : 0;
}

unsigned mg_ring_reap(mg_ring *r, mg_cqe *out, unsigned max) {
    unsigned head, n = 0;
    struct io_uring_cqe *cqe;
    io_uring_for_each_cqe(&r->ring, head, cqe) {
        if (n == max) break;
        out[n].user_data = cqe->user_data;
        out[n].res = cqe->res;
        out[n].flags = cqe->flags;
        n++;
    }
    io_uring_cq_advance(&r->ring, n);
    return n;
}

// ---- kernel TLS ------------------------------------------------------------------------------
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

enum { MG_SOL_TLS = 282, MG_TLS_TX = 1, MG_TLS_RX = 2, MG_TLS_SET_RECORD_TYPE = 1, MG_TLS_GET_RECORD_TYPE = 2 };
#ifndef TCP_ULP
#define TCP_ULP 31
#endif

int mg_ktls_attach(int fd) { return setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", 4); }

int mg_ktls_install(int fd, int tx, const void *info, unsigned length) {
    return setsockopt(fd, MG_SOL_TLS, tx ? MG_TLS_TX : MG_TLS_RX, info, length);
}

ssize_t mg_ktls_send_record(int fd, unsigned char type, const void *data, size_t length) {
    char control[CMSG_SPACE(sizeof(unsigned char))];
    memset(control, 0, sizeof control);
    struct iovec iov = { .iov_base = (void *)data, .iov_len = length };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control };
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = MG_SOL_TLS;
    cmsg->cmsg_type = MG_TLS_SET_RECORD_TYPE;
    cmsg->cmsg_len = CMSG_LEN(sizeof(unsigned char));
    *CMSG_DATA(cmsg) = type;
    return sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
}

ssize_t mg_ktls_recv_record(int fd, void *buffer, size_t length, unsigned char *type) {
    char control[CMSG_SPACE(sizeof(unsigned char))];
    struct iovec iov = { .iov_base = buffer, .iov_len = length };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control };
    ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT);
    *type = 23;
    if (n < 0) return n;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == MG_SOL_TLS && c->cmsg_type == MG_TLS_GET_RECORD_TYPE) *type = *CMSG_DATA(c);
    }
    return n;
}


// ---- threads: kernel-visible names and CPU affinity ------------------------
#include <pthread.h>
#include <sched.h>

int mg_thread_set_name(const char *name) { return pthread_setname_np(pthread_self(), name); }

int mg_allowed_cpus(int *cpus, int max) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(getpid(), sizeof set, &set) != 0) return -errno;
    int n = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE && n < max; cpu++) {
        if (CPU_ISSET(cpu, &set)) cpus[n++] = cpu;
    }
    return n;
}

int mg_thread_pin_cpu(int cpu) {
    if (cpu < 0 || cpu >= CPU_SETSIZE) return EINVAL;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set) == 0 ? 0 : errno;
}

int mg_malloc_trim(void) { return malloc_trim(0); }
