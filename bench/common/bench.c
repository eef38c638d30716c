/* SPDX-License-Identifier: ISC */
/* Shared by the benchmark programs: clocks, percentiles, and timing round trips on a TLS connection. */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "err.h"

int64_t pb_bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v. */
static double pct(const double *v, size_t n, double p)
{
	size_t k = (size_t)(p / 100.0 * (double)n + 0.999999);

	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return v[k - 1];
}

void pb_bench_stats(double *v, size_t n, struct pb_bench_stats *out)
{
	double sum = 0;
	size_t i;

	qsort(v, n, sizeof(*v), cmp_double);
	for (i = 0; i < n; i++)
		sum += v[i];
	out->n = n;
	out->min = v[0];
	out->max = v[n - 1];
	out->p50 = pct(v, n, 50);
	out->p90 = pct(v, n, 90);
	out->p99 = pct(v, n, 99);
	out->mean = sum / (double)n;
}

void pb_bench_print(const char *name, const char *unit, const struct pb_bench_stats *st)
{
	printf("%-28s n=%-6zu p50=%-9.1f p90=%-9.1f p99=%-9.1f min=%-9.1f max=%-9.1f mean=%.1f %s\n",
	       name, st->n, st->p50, st->p90, st->p99, st->min, st->max, st->mean, unit);
	fflush(stdout);
}

int pb_bench_rtt(struct pb_tls *t, const void *req, size_t len, size_t n, double *out_us)
{
	size_t i;

	for (i = 0; i < n; i++) {
		int64_t t0 = pb_bench_now_ns();
		uint8_t *p;
		size_t plen;
		int rc = pb_tls_send_frame(t, req, len, 5000);

		if (rc == 0)
			rc = pb_tls_recv_frame(t, 0, 5000, &p, &plen);
		if (rc < 0)
			return rc;
		free(p);
		out_us[i] = (double)(pb_bench_now_ns() - t0) / 1000.0;
	}
	return 0;
}
