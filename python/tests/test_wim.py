"""The Python binding as a user meets it, on the tiny made model (random
weights: what is checked is the shape of what comes back, not its words).
WIM_LIBRARY names libwim.so and WIM_TEST_MODEL the model (scripts/test.sh)."""
import os
import signal

import pytest

import wim

MODEL = os.environ["WIM_TEST_MODEL"]
DOC = ("Mara went to the orchard. The rain stopped at noon. Tobin walked to the pier. "
       "The bells rang twice in the evening. Mara travelled to the boathouse. ") * 2
SMALL = dict(segment_tokens=16, max_margin_tokens=3, max_verdict_tokens=3, max_answer_tokens=3)


@pytest.fixture(scope="module")
def model():
    with wim.Model(MODEL) as m:
        yield m


def test_version_is_the_headers():
    assert wim.version().count(".") == 2


def test_a_reading_reports_every_step_and_answers(model):
    seen = []
    with wim.Session(model, **SMALL) as s:
        done = s.read(DOC, "Where is Mara?", seen.append)
    kinds = [e["event"] for e in seen]
    assert kinds[0] == "start" and kinds[-1] == "done"
    assert kinds.count("margin") == done["segments"] > 1
    assert kinds.count("verdict") == kinds.count("margin")
    assert done["answers"] == [done["answer"]]
    assert seen[0]["segment_tokens"] == 16


def test_several_questions_get_an_answer_each(model):
    with wim.Session(model, **SMALL) as s:
        done = s.read(DOC, ["Where is Mara?", "Where is Tobin?"])
    assert len(done["answers"]) == 2


def test_events_iterate_and_leaving_early_ends_the_reading(model):
    with wim.Session(model, **SMALL) as s:
        kinds = [e["event"] for e in s.events(DOC, "Where is Mara?")]
        assert kinds[0] == "start" and kinds[-1] == "done"
        for e in s.events(DOC, "Where is Mara?"):
            if e["event"] == "segment":
                break
        # the session is free again: the abandoned reading ended
        assert s.read(DOC, "Where is Tobin?")["event"] == "done"


def test_a_stop_still_answers_from_what_was_read(model):
    with wim.Session(model, **SMALL) as s:
        done = s.read(DOC, "Where is Mara?",
                      lambda e: wim.STOP if e["event"] == "margin" else wim.CONTINUE)
    assert done["stopped_early"] and done["segments_read"] < done["segments"]


def test_ctrl_c_stops_the_reading_and_raises(model):
    def interrupt(e):
        if e["event"] == "segment":
            os.kill(os.getpid(), signal.SIGINT)

    with wim.Session(model, **SMALL) as s:
        with pytest.raises(KeyboardInterrupt):
            s.read(DOC, "Where is Mara?", interrupt)
        assert s.read(DOC, "Where is Mara?")["event"] == "done"


def test_a_stored_document_answers_new_questions(model, tmp_path):
    path = str(tmp_path / "doc.wimdoc")
    with wim.Session(model, **SMALL) as s:
        read = s.read(DOC, "Where is Mara?")
        s.save_doc(path)
    with wim.Session(model, **SMALL) as s:
        s.load_doc(path)
        asked = s.ask(["Where is Tobin?"])
    assert asked["segments"] == read["segments"] and len(asked["answers"]) == 1


def test_modes_and_switches_as_keywords(model):
    with wim.Session(model, mode="rag", assume_relevant=True, **SMALL) as s:
        done = s.read(DOC, "Where is Mara?")
    assert done["event"] == "done" and done["margins"] == 0


@pytest.mark.parametrize("options, says", [
    (dict(segment_tokens="many"), "segment_tokens"),
    (dict(mode="guess"), "mode"),
    (dict(colour="blue"), "colour"),
])
def test_bad_options_raise_value_error_naming_them(model, options, says):
    with pytest.raises(ValueError, match=says):
        wim.Session(model, **options)


def test_errors_are_exceptions_with_the_reason(model, tmp_path):
    with pytest.raises(wim.WimError, match="no-such"):
        wim.Model(str(tmp_path / "no-such.gguf"))
    with wim.Session(model, **SMALL) as s:
        with pytest.raises(wim.WimError, match="document"):
            s.read("", "Where is Mara?")
        with pytest.raises(wim.WimError):
            s.load_doc(str(tmp_path / "none.wimdoc"))


def test_a_callbacks_own_error_ends_the_reading_and_propagates(model):
    def boom(e):
        raise RuntimeError("callback failed")

    with wim.Session(model, **SMALL) as s:
        with pytest.raises(RuntimeError, match="callback failed"):
            s.read(DOC, "Where is Mara?", boom)


def test_yes_no_reads_verdicts_as_wim_does():
    assert (wim.yes_no("YES# it says"), wim.yes_no(" no#nothing"), wim.yes_no("maybe")) == \
        (1, 0, -1)
