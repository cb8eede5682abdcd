// meshgate's C shim: what Swift cannot import directly from the system headers
// (function-like macros, enum-typed flag constants, packed structs, _GNU_SOURCE calls).
// Everything here is prefixed `mg_`; C types stay out of meshgate's public Swift API.
#ifndef CMESHGATE_SHIM_H
#define CMESHGATE_SHIM_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

// ---- flags and constants -------------------------------------------------
extern const int mg_SOCK_NONBLOCK;
extern const int mg_SOCK_CLOEXEC;
extern const int mg_SOCK_STREAM;
extern const unsigned mg_SPLICE_F_MOVE;
extern const unsigned mg_SPLICE_F_NONBLOCK;
extern const unsigned mg_SPLICE_F_MORE;
extern const int mg_F_SETPIPE_SZ;
extern const int mg_F_GETPIPE_SZ;
extern const uint32_t mg_EPOLLIN;
extern const uint32_t mg_EPOLLOUT;
extern const uint32_t mg_EPOLLERR;
extern const uint32_t mg_EPOLLHUP;
extern const uint32_t mg_EPOLLRDHUP;
extern const uint32_t mg_EPOLLET;
extern const uint32_t mg_EPOLLONESHOT;
extern const uint32_t mg_EPOLLEXCLUSIVE;
extern const short mg_POLLIN;
extern const short mg_POLLOUT;
extern const short mg_POLLERR;
extern const short mg_POLLHUP;
extern const short mg_POLLRDHUP;
extern const uint8_t mg_IOSQE_IO_LINK;
extern const uint8_t mg_IOSQE_ASYNC;
extern const uint8_t mg_IOSQE_IO_HARDLINK;
extern const unsigned mg_IORING_ASYNC_CANCEL_ALL;
extern const unsigned mg_IORING_SETUP_CQSIZE;
extern const uint8_t mg_IOSQE_CQE_SKIP_SUCCESS;
extern const unsigned mg_IORING_SETUP_SINGLE_ISSUER;
extern const unsigned mg_IORING_SETUP_DEFER_TASKRUN;
extern const unsigned mg_IORING_SETUP_COOP_TASKRUN;
extern const unsigned mg_IORING_SETUP_SUBMIT_ALL;
extern const unsigned mg_IORING_CQE_F_MORE;
extern const unsigned mg_IORING_FEAT_NODROP;
extern const unsigned mg_IORING_POLL_ADD_MULTI;
extern const int mg_IORING_OP_LAST;

// ---- syscalls Swift's Glibc module does not expose -----------------------
/// splice(2); returns bytes moved or -1 with errno.
ssize_t mg_splice(int fd_in, int fd_out, size_t len, unsigned flags);
/// pipe2(2) with O_NONBLOCK|O_CLOEXEC.
int mg_pipe_nonblock(int fds[2]);
/// accept4(2) with SOCK_NONBLOCK|SOCK_CLOEXEC.
int mg_accept_nonblock(int fd);
/// eventfd(2) non-blocking, close-on-exec.
int mg_eventfd(void);
/// Number of bytes queued in a pipe or socket receive buffer (FIONREAD).
int mg_fionread(int fd);

// ---- threads: kernel-visible names and CPU affinity ------------------------
/// pthread_setname_np on the calling thread (what ps, top, perf and /proc/<pid>/task/*/comm
/// show); `name` at most 15 bytes. 0 or an errno value (ERANGE: too long).
int mg_thread_set_name(const char *name);
/// The CPUs the process may run on (sched_getaffinity of its main thread), ascending; writes up
/// to `max` CPU numbers to `cpus`. Returns the count, or -errno.
int mg_allowed_cpus(int *cpus, int max);
/// Pins the calling thread to one CPU (sched_setaffinity on its own tid). 0 or an errno value.
int mg_thread_pin_cpu(int cpu);

// ---- kernel TLS (linux/tls.h constants; the header is not always installed) ---------------
/// setsockopt(IPPROTO_TCP, TCP_ULP, "tls"); 0 or -1 with errno (ENOENT: no kTLS in this kernel).
int mg_ktls_attach(int fd);
/// setsockopt(SOL_TLS, TLS_TX (tx != 0) or TLS_RX, info, length); 0 or -1 with errno.
int mg_ktls_install(int fd, int tx, const void *info, unsigned length);
/// Sends one record of `type` (21 alert, 22 handshake, 23 data) on a kTLS TX socket with
/// the TLS_SET_RECORD_TYPE control message; bytes sent or -1 with errno.
ssize_t mg_ktls_send_record(int fd, unsigned char type, const void *data, size_t length);
/// Reads one record from a kTLS RX socket with recvmsg; stores its TLS_GET_RECORD_TYPE in
/// *type (23 when the kernel attached none); bytes read, 0 at end of stream, or -1 with errno.
ssize_t mg_ktls_recv_record(int fd, void *buffer, size_t length, unsigned char *type);

// ---- epoll, whose `struct epoll_event` is packed on x86_64 ---------------
int mg_epoll_create(void);
int mg_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data);
/// Waits for events; writes up to `max` (data, events) pairs. Returns count or -1 with errno.
int mg_epoll_wait(int epfd, uint64_t *datas, uint32_t *events, int max, int timeout_ms);
extern const int mg_EPOLL_CTL_ADD;
extern const int mg_EPOLL_CTL_MOD;
extern const int mg_EPOLL_CTL_DEL;
extern const int mg_MSG_NOSIGNAL;

// ---- io_uring ---------------------------------------------------------------
// liburing's header cannot be imported into Swift next to Glibc (it changes feature macros,
// so `fd_set` and friends differ between the two modules). These thin wrappers keep
// liburing on the C side; the policy lives in Swift (MeshgateLoop.UringBackend).

/// Layout of `struct __kernel_timespec` used by io_uring timeouts.
typedef struct mg_timespec { int64_t tv_sec; long long tv_nsec; } mg_timespec;
/// A completion copied out of the CQ ring.
typedef struct mg_cqe { uint64_t user_data; int32_t res; uint32_t flags; } mg_cqe;
/// An io_uring instance plus storage for timespecs referenced by queued SQEs.
typedef struct mg_ring mg_ring;

/// io_uring_setup probe: returns 0 when the kernel allows io_uring, else -errno.
int mg_uring_probe_errno(void);
/// Creates a ring, trying SINGLE_ISSUER|DEFER_TASKRUN, then COOP_TASKRUN, then no flags.
/// On success stores the accepted setup flags in `*setup_flags`; on failure returns NULL
/// and stores -errno in `*error`.
mg_ring *mg_ring_create(unsigned entries, unsigned *setup_flags, int *error);
void mg_ring_destroy(mg_ring *ring);
/// Multishot accept (non-blocking, close-on-exec descriptors).
void mg_ring_accept_multishot(mg_ring *ring, int fd, uint64_t user_data);
/// One accept (non-blocking, close-on-exec descriptor).
void mg_ring_accept(mg_ring *ring, int fd, uint64_t user_data);
/// Cancels every request carrying `target` as user_data.
void mg_ring_cancel(mg_ring *ring, uint64_t target);
/// connect(2) linked to a timeout of `timeout_ns` (the connect then fails with -ECANCELED).
void mg_ring_connect(mg_ring *ring, int fd, const struct sockaddr *addr, socklen_t len,
                     uint64_t user_data, int64_t timeout_ns);
/// Multishot poll for `mask` (POLLIN|POLLOUT|POLLRDHUP…).
void mg_ring_poll_multishot(mg_ring *ring, int fd, unsigned mask, uint64_t user_data);
/// Cancels all requests on `fd`, then closes it (hard-linked, no completions on success).
void mg_ring_cancel_and_close(mg_ring *ring, int fd);
/* Cancels every request on fd, leaving it open (it passes to another owner). */
void mg_ring_cancel_fd(mg_ring *ring, int fd);
/// Cancels every request carrying `first` or `second` as user_data (0: none), then closes
/// `fd`; no completions on success. Cancelling by user_data is a lookup in the kernel's cancel
/// hash; cancelling by descriptor (`mg_ring_cancel_and_close`) walks every armed poll.
void mg_ring_cancel_data_and_close(mg_ring *ring, int fd, uint64_t first, uint64_t second);
/// Cancels every request carrying `first` or `second` as user_data (0: none) and submits at
/// once; no completions on success.
void mg_ring_cancel_data_now(mg_ring *ring, uint64_t first, uint64_t second);
/// One-shot timeout; completes with -ETIME.
void mg_ring_timeout(mg_ring *ring, int64_t ns, uint64_t user_data);
/// read(2) into `buf`.
void mg_ring_read(mg_ring *ring, int fd, void *buf, unsigned len, uint64_t user_data);
/// Submits queued SQEs and waits up to `timeout_ns` (<0: forever, 0: no wait) for one
/// completion. Returns 0 or -errno (-ETIME on timeout).
int mg_ring_submit_and_wait(mg_ring *ring, int64_t timeout_ns);
/// Copies up to `max` completions into `out` and consumes them. Returns the count.
unsigned mg_ring_reap(mg_ring *ring, mg_cqe *out, unsigned max);

/* Returns free heap pages of every malloc arena to the system (glibc malloc_trim(0)); 1 when
   memory was released. */
int mg_malloc_trim(void);

#ifdef __cplusplus
}
#endif
#endif
