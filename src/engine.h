/*
 * engine.h - what engine.c lends window.c: prompts from templates, and the
 * list of the notes kept.
 */
#ifndef WIM_ENGINE_H
#define WIM_ENGINE_H

#include "session.h"

/* t += template id filled with vals, optionally closed by the generation
 * header. 0, or -1 (s->err). */
int wim_add_prompt(wim_session *s, wim_tokens *t, wim_template_id id, const wim_value *vals,
                   size_t n_vals, bool close_turn);
/* The kept notes of segments 0..n_seg-1 of questions q0..q1-1, in document
 * order: each where the document last says it in the text its margin was
 * shown (a margin quoting an earlier segment's fact again sits with that
 * fact, not after the facts read since), else at its segment's end; a note
 * saying a text at the same place as an earlier one is that one. With once,
 * each text once (a window's margins often repeat the notes it shows): at
 * the latest place the document says it, so that a fact read again (a
 * person back at a place) stays the latest note, else at its first copy.
 * *at gets their indices in s->notes, [*n] (malloc'd). 0, or -1 (memory,
 * s->err). */
int wim_listed_notes(wim_session *s, int q0, int q1, int n_seg, bool once, int **at, int *n);
/* out += the listed notes at[0..n-1] as "- note" lines. */
void wim_format_notes(const wim_session *s, const int *at, int n, wim_strbuf *out);

#endif
