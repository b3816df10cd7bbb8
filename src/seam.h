/*
 * seam.h - the test seams: verdicts injected in place of the model's, and
 * readings made slow. For tests only: no option or flag sets them.
 *
 * Made models (random weights) never write YES# or NO#, so without it no test
 * of the engine would see a verdict that parses. WIM_TEST_VERDICTS holds
 * answers separated by '|'; segment i gets answer i mod their number, for every
 * question: in two-pass and rag as the classifier's whole answer, in one-pass
 * as the first tokens of the margin (the model writes on from there, unless
 * they decide NO#). Unset or empty, the model answers. For tests only: no
 * option or flag sets it.
 */
#ifndef WIM_SEAM_H
#define WIM_SEAM_H

#include "model.h"
#include "strbuf.h"

/* Two-pass and rag: raw, the classifier's answer about segment seg (or its
 * margin), becomes the injected answer. */
void wim_seam_verdict(int seg, wim_strbuf *raw);

/* One-pass: the tokens the margin after segment seg is made to begin with
 * appended to forced (none when nothing is injected, or out of memory). */
void wim_seam_margin(const wim_model *m, int seg, wim_tokens *forced);

/* WIM_TEST_SLOW_MS: milliseconds to pause before every decode step, so that a
 * tiny model's reading lasts at least so long on any machine (tests of what
 * happens while one waits or works); 0 when unset. */
int wim_seam_slow_ms(void);

#endif
