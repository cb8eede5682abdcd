// LD_PRELOAD malloc counter for scripts/bench-alloc: counts every allocation call of the
// process and prints "ALLOCS N" on standard error at exit. Measurement tool, not product code.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <unistd.h>
#include <errno.h>
extern void *__libc_malloc(size_t); extern void *__libc_calloc(size_t, size_t); extern void *__libc_realloc(void *, size_t); extern void *__libc_memalign(size_t, size_t);
static atomic_long n;
void *malloc(size_t s) { atomic_fetch_add(&n, 1); return __libc_malloc(s); }
void *calloc(size_t a, size_t b) { atomic_fetch_add(&n, 1); return __libc_calloc(a, b); }
void *realloc(void *p, size_t s) { atomic_fetch_add(&n, 1); return __libc_realloc(p, s); }
int posix_memalign(void **p, size_t a, size_t s) { atomic_fetch_add(&n, 1); void *r = __libc_memalign(a, s); if (!r) return ENOMEM; *p = r; return 0; }
void *aligned_alloc(size_t a, size_t s) { atomic_fetch_add(&n, 1); return __libc_memalign(a, s); }
void *memalign(size_t a, size_t s) { atomic_fetch_add(&n, 1); return __libc_memalign(a, s); }
__attribute__((destructor)) static void done(void) { char b[64]; int l = snprintf(b, sizeof b, "ALLOCS %ld\n", atomic_load(&n)); write(2, b, l); }
