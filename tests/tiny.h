/*
 * tiny.h - for the tests that run the engine: the tiny made Qwen2 model
 * (made by CTest's fixtures), loaded once per test program.
 */
#ifndef WIM_TEST_TINY_H
#define WIM_TEST_TINY_H

#include "wim.h"

#include <stdio.h>

static wim_model *model;

/* Loads it into model; 0, or -1 with the reason on stderr. */
static int load_tiny_model(void)
{
    char err[512];
    model = wim_model_load(WIM_TEST_MODELS "/tiny-qwen2.gguf", NULL, err, sizeof err);
    if (!model) fprintf(stderr, "%s\n", err);
    return model ? 0 : -1;
}

/* The group fixtures of a test that needs nothing else. */
static int setup(void **state)
{
    (void)state;
    return load_tiny_model();
}

static int teardown(void **state)
{
    (void)state;
    wim_model_free(model);
    return 0;
}

#endif
