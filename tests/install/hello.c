/*
 * hello.c - a program as a user of the installed library writes it: built
 * against the installed wim.h and libwim with pkg-config or find_package(wim),
 * it reads a document and prints each event's type and the answer.
 */
#include <stdio.h>
#include <string.h>
#include <wim.h>

static int on_event(const wim_event *ev, void *user)
{
    (void)user;
    printf("%s\n", wim_event_name(ev->type));
    if (ev->type == WIM_EVENT_ANSWER) printf("answer: %s\n", ev->text);
    return WIM_CONTINUE;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: hello MODEL.gguf DOCUMENT QUESTION\n");
        return 2;
    }
    if (strcmp(wim_version(), WIM_VERSION_STRING) != 0) {
        fprintf(stderr, "hello: header %s, library %s\n", WIM_VERSION_STRING, wim_version());
        return 1;
    }
    char err[256];
    wim_options o;
    wim_options_default(&o);
    o.segment_tokens = 16;
    o.max_margin_tokens = o.max_answer_tokens = 4;
    wim_model *m = wim_model_load(argv[1], NULL, err, sizeof err);
    wim_session *s = m ? wim_session_new(m, &o, err, sizeof err) : NULL;
    int rc = s ? wim_session_run(s, argv[2], strlen(argv[2]), argv[3], on_event, NULL) : -1;
    if (rc != 0) fprintf(stderr, "hello: %s\n", s ? wim_session_error(s) : err);
    wim_session_free(s);
    wim_model_free(m);
    return rc == 0 ? 0 : 1;
}
