"""tasks.py - the reader's training tasks, rendered as wim renders its prompts.

Every sample is one conversation exactly as wim puts it into the model: the
preamble (ChatML user header with the system prompt, then templates/context.txt),
the document's segments, then a prompt from templates/ and the reply, which is
the only part the loss sees. Documents are BABILong-style: facts about people
moving and carrying things, hidden in prose filler from Debian's own English
text (licenses and fortunes), never from the seeds' test data.

Names, places and objects come from training lists that leave out every name,
place and object that wim-eval's generator and the BABILong seeds use, so that
the evaluation sets are held out by construction.
"""
import glob
import os
import random
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# ---- the held-out vocabulary (wim-eval's tools/eval/generate.c and bAbI's qa1/qa2) ----
HELD_OUT = set(
    """Aldo Brenna Casimir Delphine Emory Fenna Gideon Halvard Ingrid Jory Kestrel Linnea
    Matthias Nell Osric Petra Mary John Daniel Sandra Sandra Jeff Fred Bill Julie Emily
    garden cellar orchard boathouse greenhouse stable attic workshop pantry courtyard laundry
    library bathroom hallway office bedroom kitchen park school cinema
    lantern compass ledger kettle satchel violin hammer telescope umbrella teapot candlestick
    chessboard football apple milk""".split())

LISTED_NAMES = [n for n in """Abigail Adrian Agnes Albert Alice Amos Anna Arthur Audrey Basil Beatrice
    Benedict Bernard Bertha Boris Bruno Calvin Camille Carla Cecil Celia Clara Clement Colin
    Cora Cyrus Dalia Damon Dexter Dora Dorian Edgar Edith Edwin Elena Elias Eliza Elmer Enid
    Ernest Esther Ezra Felix Flora Frances Frida Gavin Gemma Gerald Greta Gustav Hannah Harold
    Hazel Hector Helga Henry Hilda Horace Hugo Ida Igor Imogen Irene Isaac Ivan Jasper Joan
    Jonah Judith Karl Keith Klara Lars Laura Leon Lionel Lois Lucas Lydia Mabel Magnus Marcus
    Martha Maud Miles Milo Miriam Morris Nadia Nathan Nigel Nina Noah Olga Oliver Otto Pablo
    Paula Perry Philip Quentin Rachel Ralph Rhoda Rita Roland Rosa Rufus Ruth Samuel Selma
    Silas Simon Sofia Stella Stefan Tabitha Tess Thea Tobias Ursula Vera Victor Viola Walter
    Wanda Wilma Xavier Yara Yusuf Zelda Zora""".split() if n not in HELD_OUT]

def _places():
    words = ["barn", "bakery", "balcony", "basement", "chapel", "classroom", "cloakroom",
             "conservatory", "corridor", "cottage", "dairy", "den", "dining room", "dormitory",
             "forge", "foyer", "gallery", "garage", "gatehouse", "granary", "gymnasium",
             "hayloft", "infirmary", "lobby", "loft", "lounge", "market", "mill", "nursery",
             "observatory", "parlour", "pavilion", "playroom", "porch", "quay", "scullery",
             "shed", "smithy", "stairwell", "storeroom", "studio", "study", "summerhouse",
             "terrace", "theatre", "tower", "vestibule", "veranda", "vineyard", "washroom",
             "wine vault", "woodshed", "yard", "boatyard", "bell tower", "post office",
             "station", "waiting room", "meadow", "harbour", "chamber", "gate lodge", "bridge",
             "orangery", "sewing room", "music room", "guest room", "back office", "pier",
             "stables yard", "church", "tavern", "sauna", "pharmacy", "bookshop", "bank",
             "museum", "warehouse"]
    return [w for w in words if w not in HELD_OUT]


PLACES = _places()


def _made_names(n, seed=7):
    """Names made of syllables: with a few thousand people, looking a name up is
    the only way to the fact (a short list lets the model learn names' priors
    instead), and wim-eval's unseen names are no different from these."""
    rng = random.Random(seed)
    first = "b c d f g h j k l m n p r s t v w z br dr gr kr st th tr".split()
    vowel = "a e i o u a e i o ia ei ou".split()
    coda = ["", "", "", "n", "r", "l", "s", "th", "m", "x", "nd"]
    out = set()
    while len(out) < n:
        name = "".join(rng.choice(first) + rng.choice(vowel) for _ in range(rng.randint(1, 2)))
        name = (name + rng.choice(coda)).capitalize()
        if 3 <= len(name) <= 9 and name not in HELD_OUT:
            out.add(name)
    return sorted(out)


OBJECTS = [o for o in """basket bottle blanket bucket candle clock cup drum flute gloves hat jug key
    kite ladder lamp map mirror mug needle notebook paintbrush pen pillow pipe purse radio rope
    saddle scarf shovel spoon suitcase sword torch trumpet vase wallet whistle
    book box coin""".split() if o not in HELD_OUT]

NAMES = LISTED_NAMES + _made_names(3000)

MOVES = ["went to", "moved to", "travelled to", "journeyed to", "went back to", "walked to",
         "hurried to", "ran to"]
PICKS = ["picked up", "took", "grabbed", "got"]
MENTIONS = ["{p} said nothing about the {x}.", "Nobody had seen {p} near the {x} for years.",
            "{p} wrote a letter about the {x}.", "The {x} was where {p} had been born.",
            "{p} laughed, and the others laughed too.", "Everyone in the town knew {p}.",
            "{p} would not talk of the {x}.", "A song about {p} was sung at the {x}.",
            "{p} had a dog that was afraid of the {x}.", "It was {p} who first saw it."]
FACT_WORDS = re.compile(r"\b(" + "|".join(
    re.escape(w) for w in LISTED_NAMES + PLACES + OBJECTS + sorted(HELD_OUT)) + r")\b|went|moved|travel|"
    r"journey|picked|grabbed|walked|hurried|ran to", re.I)


# ---- filler: English sentences from Debian's text ----

def filler_sentences():
    """Sentences from the licenses every Debian system has and the fortunes package."""
    files = sorted(glob.glob("/usr/share/common-licenses/*")) + sorted(
        f for f in glob.glob("/usr/share/games/fortunes/*") if "." not in os.path.basename(f))
    out = []
    for f in files:
        if os.path.isdir(f):
            continue
        try:
            text = open(f, encoding="utf-8", errors="strict").read()
        except (UnicodeDecodeError, OSError):
            continue
        text = re.sub(r"\s+", " ", text.replace("%", " "))
        for s in re.split(r"(?<=[.!?])\s+(?=[A-Z\"'])", text):
            s = s.strip()
            if 25 <= len(s) <= 300 and s[0].isupper() and s[-1] in ".!?\"'" and \
                    not FACT_WORDS.search(s) and s.isascii():
                out.append(s)
    return sorted(set(out))


def filler_places(filler, made=True):
    """Places for stories beyond the listed ones: words that follow "the" in the
    filler, so that a place is copied from the document rather than chosen from
    a list the model knows (wim-eval's places are unseen words); with made, the
    made places too (from step MADE of the schedule)."""
    seen = {}
    for sent in filler:
        for w in re.findall(r"\bthe ([a-z]{4,12})\b", sent):
            seen[w] = seen.get(w, 0) + 1
    words = sorted(w for w, c in seen.items() if c >= 3 and w not in HELD_OUT and
                   w not in OBJECTS and not w.endswith("ly"))
    return PLACES + words + (made_places(words) if made else [])


def any_places(filler):
    """The tail's places: every word of 4-12 letters in the filler, and made
    ones. Measured, run r10 at step 11000: margins right on 21 of 25
    training-like samples, 11 of 25 with wim-eval's places and 14 with its
    names: the model had learned its places and names more than it copied
    them."""
    words = sorted({w for sent in filler for w in re.findall(r"\b[a-z]{4,12}\b", sent)
                    if w not in HELD_OUT and w not in OBJECTS})
    return words + made_places(words, n=3000, seed=12)


def any_names(n=20000, seed=17):
    """The tail's names: made of letters in more shapes than _made_names' syllables
    (held-out names such as Halvard or Linnea start with pieces no made name
    had), with the listed ones."""
    rng = random.Random(seed)
    cons = "b c d f g h j k l m n p q r s t v w x y z bl br ch cl dr fl fr gl gr kl kr ph pl pr " \
           "sh sk sl sm sn sp st sv th tr tw".split()
    vowel = "a e i o u y a e i o ae ai au ea ee ei ie io oa oo ou ua".split()
    out = set()
    while len(out) < n:
        name = "".join(rng.choice(cons) * (rng.random() < 0.8) + rng.choice(vowel) +
                       rng.choice(["", "", "l", "n", "r", "s", "m", "v", "d", "rd", "ll", "nn", "th"])
                       for _ in range(rng.randint(1, 3))).capitalize()
        if 3 <= len(name) <= 10 and name not in HELD_OUT:
            out.add(name)
    return LISTED_NAMES + sorted(out)


def piece_places(sp, n=18000, seed=13):
    """The polish's places: a word-start piece of the vocabulary, drawn evenly,
    then up to two pieces more. Measured, r16, r22c and r22d on wim-eval's qa1: a
    place whose first piece is common in the filler and rare as a place's
    (" works" of "workshop": no place of the main run's, 2 of the tail's
    18,148) was right 24-31 of 48 times, against 41-42 of 42 for "cellar"; the
    margin quoted the person's move before instead."""
    rng = random.Random(seed)
    pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
    first = [p[1:] for p in pieces if p.startswith("\u2581") and p[1:].isalpha() and p[1:].islower()]
    more = [p for p in pieces if p.isalpha() and p.islower()]
    out = set()
    while len(out) < n:
        w = rng.choice(first) + "".join(rng.choice(more) for _ in range(rng.randint(0, 2)))
        if 4 <= len(w) <= 12 and w not in HELD_OUT:
            out.add(w)
    return sorted(out)


def made_places(words, n=700, seed=11):
    """Places of two words run together ("stonegate"): rare words of several
    tokens, as real places often are (measured, run r10: with places mostly of
    one token, "lighthouse" was copied as "light")."""
    rng = random.Random(seed)
    short = [w for w in words if len(w) <= 6]
    out = set()
    while len(out) < n:
        w = rng.choice(short) + rng.choice(short)
        if w not in HELD_OUT:
            out.add(w)
    return sorted(out)


# ---- stories ----

class Story:
    """BABILong qa1: people moving between places, and things picked up on the
    way (distractors); the question asks where one person is, and the answer
    is the place of their latest move."""

    def __init__(self, rng, places, names=NAMES, objects=OBJECTS, single=False, mentions=False,
                 dense=False, polish=False):
        """single: one move each and nothing picked up (recall's first lessons);
        mentions: sentences that name a person and a place but say no move (the
        tail's: in a book a name comes up without a fact); dense: half the
        time as many people and moves as wim-eval's qa1 (3-6 people, the one
        asked about moving 2-5 times), where which move is whose is the task;
        polish: half the time the asked person's last two moves follow each
        other, and most of those side by side in the text (what the reader
        gets wrong is which of two close moves is the latest); a broken note
        never ends "the X." as a right one does (mangled's placeless)."""
        self.polish = polish
        close = polish and rng.random() < 0.5
        dense = dense and rng.random() < (0.9 if close else 0.5)
        # (people, the target's moves, each other's moves): the least and most
        n_people, own, other = ((3, 6), (2, 5), (1, 4)) if dense else ((1, 4), (1, 4), (1, 3))
        people = rng.sample(names, rng.randint(*n_people))
        target = people[0]
        events = [(target, "move")] * (1 if single else max(2 * close, rng.randint(*own)))
        for p in people[1:]:
            events += [(p, "move")] * (1 if single else rng.randint(*other))
        events += [(rng.choice(people), "pick")] * (0 if single else rng.randint(0, 2))
        events += [(rng.choice(people), "mention")] * (rng.randint(0, 3) if mentions else 0)
        rng.shuffle(events)
        self.glue = set()  # indices of facts the text puts right after the one before
        if close:
            mine = [i for i, e in enumerate(events) if e == (target, "move")]
            events.insert(mine[-2] + 1, events.pop(mine[-1]))
            if rng.random() < 0.6:
                self.glue.add(mine[-2] + 1)
        at = {}
        self.facts = []  # (text, person, place or None)
        for p, ev in events:
            if ev == "move":
                place = rng.choice([x for x in places if x != at.get(p)])
                at[p] = place
                self.facts.append((f"{p} {rng.choice(MOVES)} the {place}.", p, place))
            elif ev == "pick":
                self.facts.append((f"{p} {rng.choice(PICKS)} the {rng.choice(objects)}.", p, None))
            else:
                text = rng.choice(MENTIONS).format(p=p, x=rng.choice(places))
                self.facts.append((text, p, None))
        self.target = target
        self.query = f"Where is {target}?"
        self.answer = at[target]

    def relevant(self, facts):
        """The fact that answers from these (a prefix of the story's): the
        latest move of the person asked about, as a list of none or one."""
        moves = [f for f in facts if f[1] == self.target and f[2]]
        return moves[-1:]


# ---- documents ----

class Doc:
    """A document as sentences, cut into segments of about seg_tokens tokens."""

    def __init__(self, rng, story, filler, count, n_tokens, seg_tokens):
        sents, total = [], 0
        while total < n_tokens:
            s = rng.choice(filler)
            sents.append((s, None))
            total += count(s) + 1
        pos = sorted(rng.randint(0, len(sents)) for _ in story.facts)
        for j in story.glue:  # the same gap: inserted one after the other
            pos[j] = pos[j - 1]
        for j, p in enumerate(pos):  # in story order
            sents.insert(p + j, (story.facts[j][0], j))
        self.sents = sents
        pieces = []
        for k, (s, _) in enumerate(sents):
            sep = "" if k == 0 else ("\n\n" if rng.random() < 0.12 else " ")
            pieces.append(sep + s)
        # segments: whole sentences, each segment's text starts with its separator
        self.segments, self.seg_facts = [], []
        cur, cur_facts, cur_n = "", [], 0
        for (s, i), p in zip(sents, pieces):
            c = count(p)
            if cur and cur_n + c > seg_tokens:
                self.segments.append(cur)
                self.seg_facts.append(cur_facts)
                cur, cur_facts, cur_n = "", [], 0
            cur += p
            cur_n += c
            if i is not None:
                cur_facts.append(i)
        self.segments.append(cur)
        self.seg_facts.append(cur_facts)
        self.text = "".join(self.segments)


# ---- prompts: wim's templates in ChatML ----

def load_templates():
    t = {}
    for f in glob.glob(os.path.join(ROOT, "templates", "*.txt")):
        t[os.path.basename(f)[:-4]] = open(f, encoding="utf-8").read()
    return t


IM_START, IM_END = "<|im_start|>", "<|im_end|>"
GEN_HEADER = f"{IM_END}\n{IM_START}assistant\n"


def user_header(system):
    return f"{IM_START}system\n{system}{IM_END}\n{IM_START}user\n"


def fill(template, values):
    """Template pieces as wim_template_pieces cuts them: (text, is_template)."""
    out, pos = [], 0
    for m in re.finditer(r"\{(\w+)\}", template):
        if m.group(1) in values:
            out.append((template[pos:m.start()], True))
            out.append((values[m.group(1)], False))
            pos = m.end()
    out.append((template[pos:], True))
    return [p for p in out if p[0]]


YES_REASONS = ["it says where {who} went.", "it names the place.", "it has the fact."]
NO_REASONS = ["it does not say where {who} is.", "nothing about {who}.", "it has no fact."]


class Renderer:
    """Turns a story and a document into (tokens, loss mask) samples."""

    def __init__(self, sp, templates):
        self.sp, self.t = sp, templates
        self.bos = sp.bos_id()
        self.eos = sp.piece_to_id(IM_END)

    def enc(self, text):
        return self.sp.encode(text) if text else []

    def prompt(self, name, values, close=True):
        ids = []
        for text, _ in fill(self.t[name], values):
            ids += self.enc(text)
        return ids + (self.enc(GEN_HEADER) if close else [])

    def preamble(self):
        return [self.bos] + self.enc(user_header(self.t["system"])) + self.enc(self.t["context"])

    def sample(self, prefix, reply):
        r = self.enc(reply) + [self.eos]
        return prefix + r, [0] * len(prefix) + [1] * len(r)

    def segs(self, doc, upto):
        ids = []
        for s in doc.segments[:upto]:
            ids += self.enc(s)
        return ids


def facts_text(facts):
    return " ".join(f[0] for f in facts)


def who(story):
    return story.target


def margin_reply(story, doc, k, onepass, rng):
    """A quoted fact starts with a space: its first word is then the same token
    as in the document (" Mara"), where a reply's first word otherwise has none
    ("Mara", another token), and copying a name would first mean learning, name
    by name, that the two are one."""
    seen = [story.facts[i] for seg in doc.seg_facts[:k] for i in seg]
    rel = story.relevant(seen)
    if onepass:
        return ("YES# " + facts_text(rel)) if rel else "NO#" + rng.choice(NO_REASONS).format(
            who=who(story))
    return " " + facts_text(rel) if rel else "I don't know."


def mangled(note, rng, placeless=False):
    """A note broken as a weak margin breaks it: cut short, its place lost,
    words after the name that say nothing, or a word said over and over (a
    margin that loops). Judged NO. placeless: what says nothing takes the
    place of "the X" ("went to it."), not of X alone: the tail's "years" and
    "well" are places of its own stories too, and a note cannot be told from
    a right one without the document (measured, r24: its verdicts said NO to
    right notes whose place is one piece, " Mara went to the tower." 0.06)."""
    words = note.split()
    u = rng.random()
    if u < 0.4 and len(words) > 3:
        return " " + " ".join(words[:rng.randint(1, len(words) - 2)]) + rng.choice([".", "", " the."])
    if u < 0.7 and len(words) > 2:
        if placeless:  # "to it.": a note that ends "the X." is then always a move
            return " " + " ".join(words[:-2]) + " " + rng.choice(["it", "there", "and", "of"]) + "."
        return " " + " ".join(words[:-1]) + " " + rng.choice(["years", "it", "well", "the"]) + "."
    if u < 0.85:
        return " " + " ".join([words[0], rng.choice(words[1:] or ["well"]).rstrip(".")] *
                              rng.randint(2, 3)) + "."
    return " " + words[0] + rng.choice(["olt know.", " is read.", "son.", " and the."])


def verdict_reply(story, note_rel, rng):
    if note_rel:
        return "YES#" + rng.choice(YES_REASONS).format(who=who(story))
    return "NO#" + rng.choice(NO_REASONS).format(who=who(story))


def answer_reply(story):
    return f"The {story.answer}."


def recall_sample(rng, r, story, doc):
    """No prompt of wim's: the document, then "Where is P? P went to the X." for
    everyone in it, loss on all of those. Associative recall, dense in the
    one skill every prompt needs (find the person, copy the latest fact), to
    get it learned early; the prompts' own samples teach where to use it."""
    people = sorted({f[1] for f in story.facts})
    rng.shuffle(people)
    prefix = [r.bos] + r.segs(doc, len(doc.segments))
    ids, mask = list(prefix), [0] * len(prefix)
    for p in people:
        moves = [f for f in story.facts if f[1] == p and f[2]]
        if not moves:
            continue
        q, a = r.enc(f"\n\nWhere is {p}?"), r.enc(" " + moves[-1][0])
        ids += q + a
        mask += [0] * len(q) + [1] * len(a)
    return ids, mask


def kept_notes(story, doc, upto, rng):
    """The notes a reading keeps from segments 0..upto-1: each kept margin's
    fact, once, in order; now and then another person's, or a broken one, as
    a weak reading might have kept."""
    notes = []
    for k in range(1, upto + 1):
        m = margin_reply(story, doc, k, False, rng)
        if m != "I don't know." and m not in notes:
            notes.append(m)
    others = [f for f in story.facts if f[1] != story.target and f[2]]
    if others and rng.random() < 0.3:
        notes.insert(rng.randint(0, len(notes)), " " + rng.choice(others)[0])
    if notes and rng.random() < 0.3:
        notes.insert(rng.randint(0, len(notes)), mangled(rng.choice(notes), rng, story.polish))
    return notes


def window_sample(rng, r, story, doc, answer):
    """Reading past the context (wim's window): the preamble, the notes carried
    from the segments let go (templates/carried.txt), then the segments still
    shown. A margin quotes the latest fact in the shown text alone (the notes
    are there already); the answer reads the notes and the margins alike."""
    if len(doc.segments) < 2:
        return make_sample(rng, r, story, doc, "answer" if answer else "margin")
    j = rng.randint(1, len(doc.segments) - 1)
    carried = kept_notes(story, doc, j, rng)
    k = len(doc.segments) if answer else rng.randint(j + 1, len(doc.segments))
    prefix = r.preamble() + r.prompt("carried", {"margins": notes_text(carried)}, close=False)
    for s in doc.segments[j:k]:
        prefix += r.enc(s)
    shown = story.relevant([story.facts[i] for seg in doc.seg_facts[j:k] for i in seg])
    if not answer:
        return r.sample(prefix + r.prompt("extract", {"query": story.query}),
                        " " + facts_text(shown) if shown else "I don't know.")
    notes = carried + [" " + facts_text(shown)] * bool(shown)
    return r.sample(prefix + r.prompt("answer", {"query": story.query, "margins": notes_text(notes)}),
                    answer_reply(story))


def notes_text(notes):
    return "\n".join("- " + n for n in notes) or "(none)"


def make_sample(rng, r, story, doc, kind, hard=False):
    """One sample of a kind: margin, onepass, verdict, segverdict, answer, llm, rag,
    recall; hard: verdicts of broken notes too (the tail's)."""
    q = story.query
    if kind == "recall":
        return recall_sample(rng, r, story, doc)
    if kind in ("margin", "onepass"):
        k = rng.randint(1, len(doc.segments))
        tpl = "extract_onepass" if kind == "onepass" else "extract"
        prefix = r.preamble() + r.segs(doc, k) + r.prompt(tpl, {"query": q})
        return r.sample(prefix, margin_reply(story, doc, k, kind == "onepass", rng))
    if kind == "verdict":
        k = rng.randint(1, len(doc.segments))
        note = margin_reply(story, doc, k, False, rng)
        if rng.random() < 0.25:  # notes of other people's moves, as a weak margin might write
            others = [f for f in story.facts if f[1] != story.target]
            if others:
                note = " " + facts_text(rng.sample(others, min(len(others), rng.randint(1, 2))))
        elif hard and note != "I don't know." and rng.random() < 0.35:
            note = mangled(note, rng, story.polish)
        rel = any(f[1] == story.target and f[2] and f[0] in note for f in story.facts)
        prefix = [r.bos] + r.enc(user_header(r.t["system"])) + r.prompt(
            "classify", {"query": q, "margin": note})
        return r.sample(prefix, verdict_reply(story, rel, rng))
    if kind == "segverdict":
        k = rng.randrange(len(doc.segments))
        facts = [story.facts[i] for i in doc.seg_facts[k]]
        rel = bool(story.relevant(facts))
        prefix = [r.bos] + r.enc(user_header(r.t["system"])) + r.prompt(
            "classify_segment", {"query": q, "segment": doc.segments[k]})
        return r.sample(prefix, verdict_reply(story, rel, rng))
    if kind == "answer":
        notes = []
        for k in range(1, len(doc.segments) + 1):
            m = margin_reply(story, doc, k, False, rng)
            if m != "I don't know.":
                notes.append("- " + m)
        prefix = r.preamble() + r.segs(doc, len(doc.segments)) + r.prompt(
            "answer", {"query": q, "margins": "\n".join(notes) or "(none)"})
        return r.sample(prefix, answer_reply(story))
    if kind in ("window", "window_answer"):
        return window_sample(rng, r, story, doc, kind == "window_answer")
    if kind == "llm":
        prefix = r.preamble() + r.segs(doc, len(doc.segments)) + r.prompt("answer_llm", {"query": q})
        return r.sample(prefix, answer_reply(story))
    # rag: the segments with a relevant fact, in order
    keep = [k for k in range(len(doc.segments))
            if story.relevant([story.facts[i] for i in doc.seg_facts[k]])]
    ids = r.preamble()
    for k in keep:
        ids += r.enc(doc.segments[k])
    return r.sample(ids + r.prompt("answer_llm", {"query": q}), answer_reply(story))


KINDS = [("margin", 0.26), ("onepass", 0.14), ("verdict", 0.14), ("segverdict", 0.04),
         ("answer", 0.12), ("llm", 0.10), ("rag", 0.06), ("window", 0.08), ("window_answer", 0.06)]


class Tasks:
    """A seeded stream of samples no longer than max_tokens."""

    def __init__(self, sp, seed, max_tokens, recall=0.0, single=False):
        self.recall = recall  # the share of recall samples
        self.single = single  # recall's stories with one move each
        self.rng = random.Random(seed)
        self.r = Renderer(sp, load_templates())
        self.filler = filler_sentences()
        self.plain_places = filler_places(self.filler, made=False)
        self.made_places = filler_places(self.filler)
        self.tail = (any_places(self.filler), any_names())
        self.piece_tail = (self.tail[0] + piece_places(sp), self.tail[1])
        self.phase(0)
        self.max_tokens = max_tokens
        self.count = lambda s: len(sp.encode(s))

    def phase(self, phase):
        """The places and names of a phase of the schedule: 0 the plain places,
        1 the made ones too and stories as dense as wim-eval's half the time, 2
        the tail's (any word, names of any shape, names mentioned without a
        move, broken notes judged NO), 3 the polish: the tail's, half the
        places made of any pieces, the asked person's last two moves close
        half the time, broken notes that cannot be right ones."""
        self.places, self.names = [(self.plain_places, NAMES), (self.made_places, NAMES),
                                   self.tail, self.piece_tail][phase]
        self.hard = phase >= 2
        self.dense = phase >= 1
        self.polishing = phase == 3

    def draw(self, doc_tokens):
        rng = self.rng
        u = rng.random()
        kind = "recall" if u < self.recall else \
            rng.choices([k for k, _ in KINDS], [w for _, w in KINDS])[0]
        story = Story(rng, self.places, self.names, single=self.single and kind == "recall",
                      mentions=self.hard, dense=self.dense, polish=self.polishing)
        seg = rng.choice([64, 128, 192, 256, 384, 512, 768, 1024])
        doc = Doc(rng, story, self.filler, self.count, doc_tokens, seg)
        ids, mask = make_sample(rng, self.r, story, doc, kind, self.hard)
        return ids[-self.max_tokens:], mask[-self.max_tokens:], kind
