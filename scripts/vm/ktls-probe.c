// ktls-probe: checks that kernel TLS (kTLS) works on loopback TCP, for scripts/ktls-vm-test --self-check.
//
//   ktls-probe                  expect kTLS: exit 0 only if every check below passes
//   ktls-probe --expect-no-ktls expect no kTLS: exit 0 only if TCP_ULP "tls" fails with ENOENT
//
// Checks, each on its own loopback connection:
//   1. wire:   TCP_ULP "tls" + TLS_TX on the sender only; the plain receiver must see a TLS 1.3
//              application-data record (type 23, length = plaintext + 1 + 16) whose body is not
//              the plaintext, i.e. the kernel encrypted it.
//   2. read:   TCP_ULP on both ends, TLS_TX on one, TLS_RX on the other (same dummy AES-128-GCM
//              key); 1 MiB written is read back unchanged with read(2) (kernel encrypts + decrypts).
//   3. splice: another 1 MiB on the same connection moved socket -> pipe with splice(2) from the
//              kTLS RX socket, read from the pipe, unchanged.
//   4. counters: getsockopt(SOL_TLS, TLS_TX / TLS_RX) rec_seq equal on both ends and > 0.
//
// Build: gcc -O2 -static -o ktls-probe ktls-probe.c   (dynamic works too)
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/tls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SOL_TLS
#define SOL_TLS 282
#endif
#ifndef TCP_ULP
#define TCP_ULP 31
#endif

#define MIB (1024 * 1024)

static void fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("ktls-probe: FAIL: ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
    fflush(stdout);
    exit(1);
}

static void say(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("ktls-probe: ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
    fflush(stdout);
}

static void on_alarm(int sig) {
    (void)sig;
    static const char msg[] = "ktls-probe: FAIL: timed out after 60 s\n";
    (void)!write(1, msg, sizeof msg - 1);
    _exit(1);
}

// A connected loopback TCP pair: *a is the connecting end, *b the accepted end.
static void tcp_pair(int *a, int *b) {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    if (l < 0) fail("socket: %s", strerror(errno));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    if (bind(l, (struct sockaddr *)&sa, sizeof sa) < 0) fail("bind 127.0.0.1:0: %s", strerror(errno));
    if (listen(l, 1) < 0) fail("listen: %s", strerror(errno));
    if (getsockname(l, (struct sockaddr *)&sa, &len) < 0) fail("getsockname: %s", strerror(errno));
    *a = socket(AF_INET, SOCK_STREAM, 0);
    if (*a < 0) fail("socket: %s", strerror(errno));
    if (connect(*a, (struct sockaddr *)&sa, sizeof sa) < 0) fail("connect: %s", strerror(errno));
    *b = accept(l, NULL, NULL);
    if (*b < 0) fail("accept: %s", strerror(errno));
    close(l);
}

static int set_ulp(int fd) { return setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", sizeof "tls"); }

static struct tls12_crypto_info_aes_gcm_128 dummy_crypto_info(void) {
    struct tls12_crypto_info_aes_gcm_128 ci;
    memset(&ci, 0, sizeof ci);
    ci.info.version = 0x0304;    // TLS_1_3_VERSION
    ci.info.cipher_type = 51;    // TLS_CIPHER_AES_GCM_128
    for (unsigned i = 0; i < sizeof ci.key; i++) ci.key[i] = (unsigned char)(0x10 + i);
    for (unsigned i = 0; i < sizeof ci.iv; i++) ci.iv[i] = (unsigned char)(0xa0 + i);
    for (unsigned i = 0; i < sizeof ci.salt; i++) ci.salt[i] = (unsigned char)(0x50 + i);
    // rec_seq stays 0 on both ends.
    return ci;
}

static void set_crypto(int fd, int dir, const char *what) {
    struct tls12_crypto_info_aes_gcm_128 ci = dummy_crypto_info();
    if (setsockopt(fd, SOL_TLS, dir, &ci, sizeof ci) < 0)
        fail("setsockopt(SOL_TLS, %s, AES-128-GCM): %s", what, strerror(errno));
}

static uint64_t rec_seq(int fd, int dir, const char *what) {
    struct tls12_crypto_info_aes_gcm_128 ci;
    socklen_t len = sizeof ci;
    memset(&ci, 0, sizeof ci);
    if (getsockopt(fd, SOL_TLS, dir, &ci, &len) < 0)
        fail("getsockopt(SOL_TLS, %s): %s", what, strerror(errno));
    if (len != sizeof ci) fail("getsockopt(SOL_TLS, %s): length %u, want %zu", what, len, sizeof ci);
    if (ci.info.cipher_type != 51) fail("getsockopt(SOL_TLS, %s): cipher %u, want 51", what, ci.info.cipher_type);
    uint64_t s = 0;
    for (unsigned i = 0; i < sizeof ci.rec_seq; i++) s = (s << 8) | ci.rec_seq[i];
    return s;
}

// Deterministic pseudo-random bytes; different seeds give different streams.
static void fill(unsigned char *buf, size_t n, uint32_t seed) {
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf[i] = (unsigned char)x;
    }
}

static void write_all(int fd, const unsigned char *p, size_t n, const char *what) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) fail("%s: write: %s", what, w < 0 ? strerror(errno) : "wrote 0");
        p += w;
        n -= (size_t)w;
    }
}

static void read_all(int fd, unsigned char *p, size_t n, const char *what) {
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) fail("%s: read: %s", what, strerror(errno));
        if (r == 0) fail("%s: read: unexpected EOF with %zu bytes missing", what, n);
        p += r;
        n -= (size_t)r;
    }
}

static size_t first_difference(const unsigned char *a, const unsigned char *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i]) return i;
    return n;
}

static int expect_no_ktls(void) {
    int a, b;
    tcp_pair(&a, &b);
    int ra = set_ulp(a), ea = errno;
    int rb = set_ulp(b), eb = errno;
    if (ra == 0 || rb == 0) fail("TCP_ULP \"tls\" succeeded, but --expect-no-ktls was given (kTLS is available)");
    if (ea != ENOENT || eb != ENOENT)
        fail("TCP_ULP \"tls\" failed with %s / %s, want ENOENT on both ends", strerror(ea), strerror(eb));
    say("TCP_ULP \"tls\" fails with ENOENT on both ends, as expected: no kTLS in this kernel");
    say("OK: the no-kTLS fallback case is detected");
    return 0;
}

// Check 1: the plain receiver sees encrypted TLS records.
static void check_wire(void) {
    enum { N = 1000 };
    unsigned char plain[N], rec[N + 64];
    int a, b;
    tcp_pair(&a, &b);
    if (set_ulp(a) < 0) fail("TCP_ULP \"tls\" on the sender: %s (no kTLS: tls module not loaded?)", strerror(errno));
    set_crypto(a, TLS_TX, "TLS_TX");
    fill(plain, N, 7);
    write_all(a, plain, N, "wire");
    read_all(b, rec, 5, "wire header");
    unsigned len = (unsigned)rec[3] << 8 | rec[4];
    if (rec[0] != 23 || rec[1] != 3 || rec[2] != 3)
        fail("wire: record header %02x %02x %02x, want 17 03 03 (TLS application data)", rec[0], rec[1], rec[2]);
    if (len != N + 1 + 16) fail("wire: record length %u, want %u (plaintext + content type + GCM tag)", len, N + 1 + 16);
    read_all(b, rec + 5, len, "wire body");
    if (memmem(rec + 5, len, plain, 16) != NULL) fail("wire: plaintext visible in the record body");
    say("wire:   kTLS TX sent one TLS 1.3 record (type 23, %u bytes) for %d plaintext bytes; body is ciphertext", len, N);
    close(a);
    close(b);
}

int main(int argc, char **argv) {
    int no_ktls = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--expect-no-ktls") == 0) no_ktls = 1;
        else {
            fprintf(stderr, "usage: %s [--expect-no-ktls]\n", argv[0]);
            return 2;
        }
    }
    signal(SIGALRM, on_alarm);
    signal(SIGPIPE, SIG_IGN);
    alarm(60);

    struct utsname u;
    if (uname(&u) == 0) say("kernel %s %s", u.release, u.machine);
    if (no_ktls) return expect_no_ktls();

    // TCP_ULP on both ends of the data connection first (reported separately).
    int tx, rx;
    tcp_pair(&tx, &rx);
    if (set_ulp(tx) < 0) fail("TCP_ULP \"tls\" on the TX end: %s (no kTLS: tls module not loaded?)", strerror(errno));
    if (set_ulp(rx) < 0) fail("TCP_ULP \"tls\" on the RX end: %s", strerror(errno));
    say("ulp:    setsockopt(IPPROTO_TCP, TCP_ULP, \"tls\") succeeded on both ends");
    set_crypto(tx, TLS_TX, "TLS_TX");
    set_crypto(rx, TLS_RX, "TLS_RX");
    say("keys:   TLS_TX on one end, TLS_RX on the other (TLS 1.3, AES-128-GCM, dummy key)");

    check_wire();

    unsigned char *want1 = malloc(MIB), *want2 = malloc(MIB), *got = malloc(MIB);
    if (!want1 || !want2 || !got) fail("out of memory");
    fill(want1, MIB, 1);
    fill(want2, MIB, 2);

    pid_t child = fork();
    if (child < 0) fail("fork: %s", strerror(errno));
    if (child == 0) {
        close(rx);
        write_all(tx, want1, MIB, "sender (read part)");
        write_all(tx, want2, MIB, "sender (splice part)");
        _exit(0);
    }

    // Check 2: read(2) on the kTLS RX socket.
    read_all(rx, got, MIB, "read");
    size_t d = first_difference(got, want1, MIB);
    if (d != MIB) fail("read: byte %zu differs after kTLS encrypt/decrypt", d);
    say("read:   1048576 bytes written through kTLS TX came back unchanged through kTLS RX read()");

    // Check 3: splice(2) from the kTLS RX socket into a pipe.
    int p[2];
    if (pipe(p) < 0) fail("pipe: %s", strerror(errno));
    size_t done = 0;
    unsigned long calls = 0;
    while (done < MIB) {
        size_t want = MIB - done < 65536 ? MIB - done : 65536;
        ssize_t n = splice(rx, NULL, p[1], NULL, want, SPLICE_F_MOVE);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) fail("splice(kTLS socket -> pipe): %s", strerror(errno));
        if (n == 0) fail("splice(kTLS socket -> pipe): EOF with %zu bytes missing", MIB - done);
        calls++;
        read_all(p[0], got + done, (size_t)n, "pipe");
        done += (size_t)n;
    }
    d = first_difference(got, want2, MIB);
    if (d != MIB) fail("splice: byte %zu differs", d);
    say("splice: 1048576 bytes spliced from the kTLS RX socket through a pipe (%lu splice calls), unchanged", calls);

    int status;
    if (waitpid(child, &status, 0) < 0) fail("waitpid: %s", strerror(errno));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) fail("sender process failed (status 0x%x)", status);

    // Check 4: the kernel's record counters agree.
    uint64_t stx = rec_seq(tx, TLS_TX, "TLS_TX"), srx = rec_seq(rx, TLS_RX, "TLS_RX");
    if (stx == 0 || stx != srx) fail("records: TX rec_seq %llu, RX rec_seq %llu; want equal and > 0",
                                     (unsigned long long)stx, (unsigned long long)srx);
    say("records: TX rec_seq %llu == RX rec_seq %llu (getsockopt SOL_TLS)", (unsigned long long)stx,
        (unsigned long long)srx);
    say("OK: kTLS works both ways (kernel encrypt + decrypt) and splice works on a kTLS socket");
    return 0;
}
