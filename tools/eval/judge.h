/*
 * judge.h - optional LLM-judge scoring of QA answers: a model (the one under
 * test or another GGUF) is shown the question, the reference answer and the
 * candidate answer, and says YES# or NO#. Reported apart from string metrics.
 */
#ifndef WIM_EVAL_JUDGE_H
#define WIM_EVAL_JUDGE_H

#include "wim.h"

typedef struct eval_judge eval_judge;

/* A judge on model m (not owned), with the engine's thread count. NULL with a
 * one-line reason in err. */
eval_judge *eval_judge_new(wim_model *m, int n_threads, char *err, size_t errlen);

/* 1 when the judge calls the answer correct, 0 when not, -1 when its reply has
 * neither shape, -2 on an engine error (reason in *reply). *reply is the judge's
 * raw reply, malloc'd. */
int eval_judge_ask(eval_judge *j, const char *question, const char *target, const char *answer,
                   char **reply);

void eval_judge_free(eval_judge *j);

#endif
