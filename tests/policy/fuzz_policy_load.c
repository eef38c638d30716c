/* SPDX-License-Identifier: ISC */
/* Fuzz harness: the policy loader on arbitrary bytes must fail cleanly or give a policy that evaluates. */
#include <stdint.h>
#include <string.h>

#include "engine.h"
#include "policy_load.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pe_policy *p = NULL;
	struct pb_conf_err err;
	if (pd_policy_load_buf("fuzz.yaml", data, size, &p, &err) == 0) {
		const char *argv[] = {"ls", "-l", "/tmp"};
		const char *groups[] = {"wheel"};
		struct pe_request rq;
		struct pe_result res;
		memset(&rq, 0, sizeof(rq));
		memset(&res, 0, sizeof(res));
		rq.host = "host1.test";
		rq.user = "alice";
		rq.group = "users";
		rq.groups = groups;
		rq.n_groups = 1;
		rq.command = "/bin/ls";
		rq.argv = argv;
		rq.argc = 3;
		rq.cwd = "/tmp";
		rq.tty = "/dev/pts/1";
		rq.shell = "pbksh";
		rq.uniqueid = "x";
		for (int m = 0; m < PE_MODE_COUNT; m++) {
			rq.mode = (enum pe_mode)m;
			pe_eval(p, &rq, &res);
			for (int v = 0; v < PE_VAR_COUNT; v++) {
				char buf[64];
				if (res.vars[v] != NULL && res.vars[v]->str != NULL)
					pe_expand(res.vars[v]->str, &rq, buf, sizeof(buf));
			}
		}
		pe_policy_free(p);
	}
	return 0;
}
