/*
 * judge.c - asking a model whether an answer is right. The case is the
 * "document" of an llm-mode run and the instruction its question, so the
 * judge's prompt gets the model's own chat template like every other prompt,
 * and text in the answers is never read as template markers.
 */
#include "judge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct eval_judge {
    wim_session *s;
    char *reply; /* the reply being gathered from answer events */
};

static const char instruction[] =
    "You are grading an answer to the question above. Compare the candidate answer with the "
    "reference answer: it is correct when it gives the same fact, even in other words or "
    "with more detail, and wrong when it gives another fact, several facts without choosing, "
    "or none. Reply YES#reason if the candidate answer is correct, or NO#reason if it is "
    "not, with a reason of a few words.";

eval_judge *eval_judge_new(wim_model *m, int n_threads, char *err, size_t errlen)
{
    wim_options o;
    wim_options_default(&o);
    o.mode = WIM_MODE_LLM;
    o.max_answer_tokens = 24;
    o.n_threads = n_threads;
    eval_judge *j = calloc(1, sizeof *j);
    if (!j) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    j->s = wim_session_new(m, &o, err, errlen);
    if (!j->s) {
        free(j);
        return NULL;
    }
    return j;
}

static int on_event(const wim_event *ev, void *user)
{
    eval_judge *j = user;
    if (ev->type == WIM_EVENT_ANSWER) {
        free(j->reply);
        j->reply = strdup(ev->text);
    }
    return WIM_CONTINUE;
}

int eval_judge_ask(eval_judge *j, const char *question, const char *target, const char *answer,
                   char **reply)
{
    const char *fmt = "Question: %s\n\nReference answer: %s\n\nCandidate answer: %s\n";
    size_t len = strlen(fmt) + strlen(question) + strlen(target) + strlen(answer);
    char *doc = malloc(len);
    if (!doc) return -2;
    int n = snprintf(doc, len, fmt, question, target, answer);
    free(j->reply);
    j->reply = NULL;
    int rc = wim_session_run(j->s, doc, (size_t)n, instruction, on_event, j);
    free(doc);
    if (rc != 0 || !j->reply) {
        *reply = strdup(rc != 0 ? wim_session_error(j->s) : "");
        return -2;
    }
    *reply = j->reply;
    j->reply = NULL;
    return wim_yes_no(*reply);
}

void eval_judge_free(eval_judge *j)
{
    if (!j) return;
    wim_session_free(j->s);
    free(j->reply);
    free(j);
}
