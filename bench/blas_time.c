/* Time spent inside BLAS calls, for the benchmark's "BLAS %" column.
 *
 * Loaded with LD_PRELOAD into a worker process, this library defines the
 * CBLAS functions numpy calls for real matrices (matmul, dot, inner, outer
 * products), under the names numpy 2.x wheels link against: their bundled
 * scipy-openblas64 prefixes every symbol with `scipy_` and suffixes it with
 * `64_` (64-bit integers; `nm -D` on numpy.libs/libscipy_openblas64_*.so).
 * A preloaded library comes first in the dynamic linker's search order, so
 * numpy's calls land here; each wrapper reads the clock, calls the real
 * function, reads the clock again and adds the difference to a counter that
 * Python reads with ctypes (blas_time.py): blas_time_ns(), blas_calls().
 *
 * Build: cc -O2 -shared -fPIC -o blas_time.so blas_time.c -ldl
 *
 * Only one thread at a time is expected to call BLAS (a training step in
 * Python); overlapping calls from several threads would be counted twice.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef int64_t blas_int; /* the 64_ suffix: an ILP64 build */

static uint64_t total_ns, total_calls;

uint64_t blas_time_ns(void) { return __atomic_load_n(&total_ns, __ATOMIC_RELAXED); }
uint64_t blas_calls(void) { return __atomic_load_n(&total_calls, __ATOMIC_RELAXED); }

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t); /* the clock of Python's perf_counter */
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void add_call(uint64_t start)
{
    __atomic_fetch_add(&total_ns, now_ns() - start, __ATOMIC_RELAXED);
    __atomic_fetch_add(&total_calls, 1, __ATOMIC_RELAXED);
}

static int is_ours(void *address)
{
    Dl_info mine, theirs;
    return dladdr((void *)add_call, &mine) && dladdr(address, &theirs)
           && mine.dli_fbase == theirs.dli_fbase;
}

/* The real `name`. dlsym(RTLD_NEXT, ...) cannot find it: Python opens numpy's
 * extension modules (and so OpenBLAS) with RTLD_LOCAL, outside the global
 * scope RTLD_NEXT searches. So ask every loaded library, skipping this one. */
static void *find_real(const char *name)
{
    struct link_map *map = NULL;
    if (dlinfo(dlopen(NULL, RTLD_LAZY), RTLD_DI_LINKMAP, &map) != 0)
        map = NULL;
    for (; map != NULL; map = map->l_next) {
        if (map->l_name == NULL || map->l_name[0] == '\0')
            continue; /* the program itself: its scope holds our wrappers */
        void *library = dlopen(map->l_name, RTLD_LAZY | RTLD_NOLOAD);
        if (library == NULL)
            continue;
        void *symbol = dlsym(library, name); /* the library and its dependencies */
        dlclose(library); /* only drops the count RTLD_NOLOAD added */
        if (symbol != NULL && !is_ours(symbol))
            return symbol;
    }
    fprintf(stderr, "blas_time: no loaded library defines %s\n", name);
    abort(); /* the caller's arguments cannot go anywhere else */
}

/* `ret name params`, forwarding `args` to the real function between two
 * clock readings. Two threads racing to look it up store the same pointer. */
#define TIMED(ret, name, params, args)                                  \
    ret name params                                                     \
    {                                                                   \
        static ret (*real) params;                                      \
        if (real == NULL)                                               \
            real = (ret (*) params)find_real(#name);                    \
        uint64_t start = now_ns();                                      \
        ret result = real args;                                         \
        add_call(start);                                                \
        return result;                                                  \
    }

#define TIMED_VOID(name, params, args)                                  \
    void name params                                                    \
    {                                                                   \
        static void (*real) params;                                     \
        if (real == NULL)                                               \
            real = (void (*) params)find_real(#name);                   \
        uint64_t start = now_ns();                                      \
        real args;                                                      \
        add_call(start);                                                \
    }

/* CBLAS enums (order, transpose, uplo) are ints. */
#define GEMM(T, name)                                                           \
    TIMED_VOID(name,                                                            \
        (int order, int trans_a, int trans_b, blas_int m, blas_int n,           \
         blas_int k, T alpha, const T *a, blas_int lda, const T *b,             \
         blas_int ldb, T beta, T *c, blas_int ldc),                             \
        (order, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc))
#define GEMV(T, name)                                                           \
    TIMED_VOID(name,                                                            \
        (int order, int trans, blas_int m, blas_int n, T alpha, const T *a,     \
         blas_int lda, const T *x, blas_int incx, T beta, T *y, blas_int incy), \
        (order, trans, m, n, alpha, a, lda, x, incx, beta, y, incy))
#define SYRK(T, name)                                                           \
    TIMED_VOID(name,                                                            \
        (int order, int uplo, int trans, blas_int n, blas_int k, T alpha,       \
         const T *a, blas_int lda, T beta, T *c, blas_int ldc),                 \
        (order, uplo, trans, n, k, alpha, a, lda, beta, c, ldc))
#define AXPY(T, name)                                                           \
    TIMED_VOID(name,                                                            \
        (blas_int n, T alpha, const T *x, blas_int incx, T *y, blas_int incy),  \
        (n, alpha, x, incx, y, incy))
#define DOT(T, name)                                                            \
    TIMED(T, name,                                                              \
        (blas_int n, const T *x, blas_int incx, const T *y, blas_int incy),     \
        (n, x, incx, y, incy))

GEMM(float, scipy_cblas_sgemm64_)
GEMM(double, scipy_cblas_dgemm64_)
GEMV(float, scipy_cblas_sgemv64_)
GEMV(double, scipy_cblas_dgemv64_)
SYRK(float, scipy_cblas_ssyrk64_)
SYRK(double, scipy_cblas_dsyrk64_)
AXPY(float, scipy_cblas_saxpy64_)
AXPY(double, scipy_cblas_daxpy64_)
DOT(float, scipy_cblas_sdot64_)
DOT(double, scipy_cblas_ddot64_)
