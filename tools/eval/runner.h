/*
 * runner.h - running every example of some datasets in each mode, one JSON
 * line of results per (dataset, example, mode) under the output folder, and
 * skipping the lines already there, so an interrupted run resumes.
 */
#ifndef WIM_EVAL_RUNNER_H
#define WIM_EVAL_RUNNER_H

#include "dataset.h"
#include "judge.h"
#include "wim.h"

#include <stdbool.h>

typedef struct eval_run {
    wim_model *model;       /* the model under test */
    const char *model_path; /* as given, for the record of settings */
    wim_options o;          /* engine settings; the mode is set per run */
    wim_mode modes[3];      /* in the order given */
    int n_modes;
    int limit;           /* examples per dataset; 0 = all */
    const char *out_dir; /* results.jsonl and settings.json go here */
    eval_judge *judge;   /* NULL: string metrics only */
    bool quiet;          /* no progress bar */
} eval_run;

/* Runs what results.jsonl does not hold yet. Refuses a folder whose
 * settings.json records other settings. 0, or -1 with a one-line reason. A
 * failing example is recorded with its error and the run goes on. */
int eval_run_all(const eval_run *r, const eval_dataset *sets, int n_sets, char *err, size_t errlen);

#endif
