/* SPDX-License-Identifier: ISC */
/* pbsh (and pbksh, built with -DPBKSH): a thin main around the interpreter core library. */
#include "shell.h"

extern char **environ;

int main(int argc, char **argv)
{
	sh_main(argc, argv, environ);
}
