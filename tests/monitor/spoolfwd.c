/* SPDX-License-Identifier: ISC */
/* Test helper: run pb_spool_forward (what `pbctl forward` calls) on a settings file and print the
 * counts. */
#include <stdio.h>

#include "conf.h"
#include "err.h"
#include "spool.h"

int main(int argc, char **argv)
{
	struct pb_conf *conf = NULL;
	struct pb_conf_err cerr;
	char err[1024] = "";
	unsigned fw = 0, left = 0;
	if (argc != 2) {
		fprintf(stderr, "usage: spoolfwd CONFIG\n");
		return 2;
	}
	if (pb_conf_load(argv[1], &conf, &cerr) < 0) {
		fprintf(stderr, "spoolfwd: %s\n", cerr.msg);
		return 2;
	}
	int rc = pb_spool_forward(conf, &fw, &left, err, sizeof(err));
	printf("forwarded %u pending %u\n", fw, left);
	if (rc < 0)
		fprintf(stderr, "spoolfwd: %s (%s)\n", err, pb_strerror(rc));
	pb_conf_free(conf);
	return rc < 0 ? 1 : 0;
}
