/* SPDX-License-Identifier: ISC */
/* Shared by the benchmark programs: clocks, percentiles, and timing round trips on a TLS connection. */
#ifndef PB_BENCH_H
#define PB_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "tls.h"

struct pb_bench_stats {
	size_t n;
	double min, p50, p90, p99, max, mean;	/* in the unit of the samples */
};

/* pb_bench_now_ns: CLOCK_MONOTONIC in nanoseconds. */
int64_t pb_bench_now_ns(void);

/* pb_bench_stats: sort v (n > 0 samples, modified) and summarise it. */
void pb_bench_stats(double *v, size_t n, struct pb_bench_stats *out);

/* pb_bench_print: one line "name: n=… p50=… p90=… p99=… min … max … mean … unit" on stdout. */
void pb_bench_print(const char *name, const char *unit, const struct pb_bench_stats *st);

/*
 * pb_bench_rtt: send req (one frame) and wait for one answer frame, n
 * times, on an established connection; out_us[i] gets each round trip in
 * microseconds. Returns 0 or the first PB_ERR_* (the count done so far is
 * lost: a benchmark that fails has no numbers).
 */
int pb_bench_rtt(struct pb_tls *t, const void *req, size_t len, size_t n, double *out_us);

#endif
