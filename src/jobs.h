/*
 * jobs.h - margins and answers as jobs that share micro-batches (jobs.c), for
 * engine.c.
 */
#ifndef WIM_JOBS_H
#define WIM_JOBS_H

#include "session.h"

/* A new job in a free sequence forked from the document's first n_cells
 * positions, to be fed prompt (for an answer, notes: the notes it shows, or
 * NULL): 1 started, 0 when every sequence is taken, -1 on error (s->err). */
int wim_job_start(wim_session *s, wim_job_kind kind, int seg, int q, llama_pos n_cells,
                  const wim_tokens *prompt, const char *notes, int max_gen);
/* One micro-batch: every job's next tokens, then up to the room left of the
 * document tokens doc[0..n_doc) of segment seg (n_doc may be 0). The jobs it
 * finished are moved to done[0..*n_done) (room for WIM_MAX_SEQ), for the
 * caller to act on and then end with wim_job_end. Returns document tokens
 * decoded, or -1. */
int wim_step(wim_session *s, const llama_token *doc, int n_doc, int seg, wim_job *done,
             int *n_done);
/* Hands every job in flight over, as a step hands over finished ones. */
void wim_jobs_cut(wim_session *s, wim_job *done, int *n_done);
/* Frees a job and gives its sequence back, its cells dropped. */
void wim_job_end(wim_session *s, wim_job *j);
void wim_jobs_free(wim_session *s);

#endif
