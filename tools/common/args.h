/*
 * args.h - what every wim tool's command line shares: one-line fatal errors,
 * numbers from flags, and the engine's settings as flags.
 */
#ifndef WIM_TOOLS_ARGS_H
#define WIM_TOOLS_ARGS_H

#include "wim.h"

#include <stdbool.h>

/* The tool's name in messages ("wim", "wim-eval"); set first thing in main. */
extern const char *args_program;

/* Prints "PROGRAM: error: ..." on one line and exits with status 1. */
_Noreturn void args_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* --version: prints "PROGRAM VERSION" (the library's) and exits with status 0. */
_Noreturn void args_version(void);

/* arg is the short (may be NULL) or the long name of a flag. */
bool args_is(const char *arg, const char *short_name, const char *long_name);

/* A whole number in [lo, hi] from flag's value v, or dies naming the flag. */
long args_whole(const char *flag, const char *v, long lo, long hi);

/* When argv[*i] is one of the engine's settings, applies it and moves *i past
 * its value: every wim_options name as --name-with-dashes, the short forms -t
 * (threads), -c (ctx size), -b (batch size), and -ngl/--n-gpu-layers. Returns
 * false, touching nothing, for any other argument. Dies on a bad value. */
bool args_engine(int argc, char **argv, int *i, wim_options *o, wim_model_params *mp);

/* The usage lines for those flags, to print inside a tool's --help. */
extern const char args_engine_usage[];

#endif
