"""wim - Writing in the Margins over long documents, on local GGUF models.

A ctypes binding of libwim (the C library, include/wim.h): nothing to compile
at install time and nothing from PyPI. The library is found through
WIM_LIBRARY (a path), else the system's (ldconfig), else libwim.so.0.

    import wim
    with wim.Model("reader.gguf") as model:
        session = wim.Session(model, segment_tokens=400)
        result = session.read(text, "Where is Mara?")
        print(result["answer"])

Events are the C library's, as dicts (docs/events.md): a callback gets each
one as it happens, or session.events(...) yields them.
"""
import ctypes
import ctypes.util
import json
import os
import queue
import threading

__all__ = ["Model", "Session", "WimError", "CONTINUE", "STOP", "ABORT", "version", "yes_no"]

CONTINUE, STOP, ABORT = 0, 1, 2  # what a callback returns (wim.h)
_ERR = 512


class WimError(Exception):
    """A model that does not load, a run that fails: the library's one-line reason."""


# ---- the library ------------------------------------------------------------

def _load():
    path = os.environ.get("WIM_LIBRARY") or ctypes.util.find_library("wim") or "libwim.so.0"
    try:
        return ctypes.CDLL(path)
    except OSError as e:
        raise ImportError(f"wim: cannot load libwim ({path}): set WIM_LIBRARY to its path") from e


_lib = _load()
_libc = ctypes.CDLL(None)

_EVENT_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)


class _ModelParams(ctypes.Structure):
    """wim_model_params, as wim.h lays it out."""
    _fields_ = [("n_gpu_layers", ctypes.c_int), ("use_mmap", ctypes.c_bool),
                ("use_mlock", ctypes.c_bool), ("rpc_servers", ctypes.c_char_p)]


def _sig(name, res, *args):
    f = getattr(_lib, name)
    f.restype, f.argtypes = res, list(args)
    return f


_p, _s, _i, _sz = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_size_t
_version = _sig("wim_version", _s)
_options_default = _sig("wim_options_default", None, _p)
_options_set = _sig("wim_options_set", _i, _p, _s, _s, _s, _sz)
_options_check = _sig("wim_options_check", _i, _p, _s, _sz)
_params_default = _sig("wim_model_params_default", None, ctypes.POINTER(_ModelParams))
_model_load = _sig("wim_model_load", _p, _s, ctypes.POINTER(_ModelParams), _s, _sz)
_model_free = _sig("wim_model_free", None, _p)
_count_tokens = _sig("wim_model_count_tokens", _i, _p, _s, _sz)
_session_new = _sig("wim_session_new", _p, _p, _p, _s, _sz)
_session_free = _sig("wim_session_free", None, _p)
_run_many = _sig("wim_session_run_many", _i, _p, _s, _sz, ctypes.POINTER(_s), _i, _EVENT_FN, _p)
_ask = _sig("wim_session_ask", _i, _p, ctypes.POINTER(_s), _i, _EVENT_FN, _p)
_interrupt = _sig("wim_session_interrupt", None, _p, _i)
_save_doc = _sig("wim_session_save_doc", _i, _p, _s)
_load_doc = _sig("wim_session_load_doc", _i, _p, _s)
_session_error = _sig("wim_session_error", _s, _p)
_event_to_json = _sig("wim_event_to_json", _p, _p)
_yes_no = _sig("wim_yes_no", _i, _s)
_libc.free.argtypes, _libc.free.restype = [_p], None


def version():
    """The library's version, "MAJOR.MINOR.PATCH"."""
    return _version().decode()


def yes_no(text):
    """1, 0 or -1: text reads as YES#..., NO#... or neither, as wim reads verdicts."""
    return _yes_no(text.encode())


# ---- models and sessions ----------------------------------------------------

class _Owned:
    """A handle of the library's, freed once: by close(), a with block's end,
    or the garbage collector."""
    _h = None
    _free = None  # the library's function that frees the handle

    def _handle(self):
        if not self._h:
            raise WimError(f"the {type(self).__name__.lower()} is closed")
        return self._h

    def close(self):
        if self._h:
            type(self)._free(self._h)
            self._h = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()


class Model(_Owned):
    """A loaded GGUF model (wim_model_load). Close it, or use it in a with block."""

    _free = staticmethod(_model_free)

    def __init__(self, path, n_gpu_layers=0, use_mmap=True, use_mlock=False):
        p = _ModelParams()
        _params_default(ctypes.byref(p))
        p.n_gpu_layers, p.use_mmap, p.use_mlock = n_gpu_layers, use_mmap, use_mlock
        err = ctypes.create_string_buffer(_ERR)
        self._h = _model_load(os.fsencode(path), ctypes.byref(p), err, _ERR)
        if not self._h:
            raise WimError(err.value.decode(errors="replace"))

    def count_tokens(self, text):
        """Tokens in text as a document is counted."""
        b = text.encode()
        return _count_tokens(self._handle(), b, len(b))


class Session(_Owned):
    """Reads documents on a model (wim_session_new). Options are wim_options_set's
    names as keyword arguments: mode="rag", classify="one-pass",
    segment_tokens=400, temp=0.7, ... (a bad one raises ValueError)."""

    _free = staticmethod(_session_free)

    def __init__(self, model, **options):
        # an opaque wim_options, larger than the C struct: only the library's
        # own functions touch it, so its layout is not repeated here
        self._opts = (ctypes.c_uint64 * 256)()
        self._keep = []  # the option strings the C struct points to
        _options_default(self._opts)
        err = ctypes.create_string_buffer(_ERR)
        for key, value in options.items():
            v = None if value is True else str(value).lower() if isinstance(value, bool) \
                else str(value)
            kv = (key.encode(), v.encode() if v is not None else None)
            self._keep.append(kv)
            if _options_set(self._opts, kv[0], kv[1], err, _ERR) != 0:
                raise ValueError(f"{key}: {err.value.decode()}")
        if _options_check(self._opts, err, _ERR) != 0:
            raise ValueError(err.value.decode())
        self.model = model
        self._h = _session_new(model._handle(), self._opts, err, _ERR)
        if not self._h:
            raise WimError(err.value.decode(errors="replace"))

    def read(self, document, query, callback=None):
        """Reads document and answers query (a string, or a list of them).
        callback(event) sees each event as a dict and may return wim.STOP (answer
        from what was read so far) or wim.ABORT. Returns the done event, whose
        "answers" holds every answer ("answer": the first). Ctrl-C stops the
        reading at its next event and raises KeyboardInterrupt."""
        queries = [query] if isinstance(query, str) else list(query)
        doc = document.encode()
        qs = (ctypes.c_char_p * len(queries))(*[q.encode() for q in queries])
        return self._call(lambda fn: _run_many(self._handle(), doc, len(doc), qs, len(queries),
                                               fn, None), callback)

    def ask(self, query, callback=None):
        """New questions about the document already read (or loaded)."""
        queries = [query] if isinstance(query, str) else list(query)
        qs = (ctypes.c_char_p * len(queries))(*[q.encode() for q in queries])
        return self._call(lambda fn: _ask(self._handle(), qs, len(queries), fn, None), callback)

    def events(self, document, query):
        """The reading as an iterator of event dicts, the done event last.
        Leaving the loop early aborts the reading."""
        q, stop = queue.Queue(maxsize=64), threading.Event()

        def put(ev):
            while not stop.is_set():
                try:
                    q.put(ev, timeout=0.1)
                    return CONTINUE
                except queue.Full:
                    pass
            return ABORT

        def run():
            try:
                self.read(document, query, put)
                q.put(None)
            except BaseException as e:  # handed to the reader of the iterator
                q.put(e)

        t = threading.Thread(target=run, daemon=True)
        t.start()
        try:
            while True:
                ev = q.get()
                if ev is None:
                    return
                if isinstance(ev, BaseException):
                    raise ev
                yield ev
        finally:
            stop.set()
            t.join()

    def stop(self, how=STOP):
        """Asks the reading in progress, from another thread, to stop (or abort)."""
        _interrupt(self._handle(), how)

    def save_doc(self, path):
        """Stores the document last read to the end, with its KV cache."""
        if _save_doc(self._handle(), os.fsencode(path)) != 0:
            raise WimError(self._error())

    def load_doc(self, path):
        """Loads a stored document, for ask()."""
        if _load_doc(self._handle(), os.fsencode(path)) != 0:
            raise WimError(self._error())

    def _call(self, start, callback):
        done, caught = {}, []

        def on_event(ev, _user):
            try:
                text = _event_to_json(ev)
                if not text:
                    raise MemoryError("wim: an event did not fit in memory")
                d = json.loads(ctypes.string_at(text).decode())
                _libc.free(text)
                if d["event"] == "done":
                    done.update(d)
                how = callback(d) if callback else CONTINUE
                return how if how in (STOP, ABORT) else CONTINUE
            except BaseException as e:  # Ctrl-C, or the callback's own error
                caught.append(e)
                return ABORT

        fn = _EVENT_FN(on_event)
        rc = start(fn)
        if caught:
            raise caught[0]
        if rc < 0:
            raise WimError(self._error())
        return done if rc == 0 else None

    def _error(self):
        return _session_error(self._h).decode(errors="replace")
