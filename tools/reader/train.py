"""train.py - train the reader: a small llama-family model for wim's prompts.

    train.py vocab  OUT_DIR                  SentencePiece BPE vocabulary (OUT_DIR/sp.model)
    train.py train  OUT_DIR --steps N        the model, checkpoints and loss log in OUT_DIR
    train.py export OUT_DIR -o reader.gguf   the last checkpoint as a llama GGUF file
    train.py latest OUT_DIR -n 150           margins on a person's last two moves, adjacent / apart

Debian's python3-torch and python3-sentencepiece, llama.cpp's gguf-py (the pinned
source's, on PYTHONPATH) for export. Everything is seeded: the same seed and step
count give the same model on the same machine.

The model is llama's architecture (RMSNorm, rotary positions on adjacent pairs as
llama.cpp's LLAMA rope does, SwiGLU), so its file runs through exactly the path a
user's model does, with a vocabulary of its own, small enough that the output
layer does not dominate training on a CPU.
"""
import argparse
import csv
import math
import os
import random
import sys
import time

import torch
import torch.nn.functional as F

import tasks

# ---- shapes ----
# Measured here: d=192 with 4 layers at 2e-3 stayed at the copy-less plateau
# (the reply's loss 1.9) for 300 steps of recall; d=128 with 3 layers at 3e-3
# broke through at step 150.
CONFIG = dict(vocab=2560, dim=128, layers=3, heads=2, head_dim=64, ffn=384, ctx=2048,
              rope_base=1e6, eps=1e-5)
SINGLE = 1200  # steps of recall with one fact a person in short documents (the look-up alone)
GROW = 1500  # steps after SINGLE over which documents grow to the context
WARM = 2700  # steps of recall alone, several facts a person after SINGLE
BLEND = 1600  # steps over which wim's tasks come in after it
RECALL = 0.3  # the share of recall samples at the end
MADE = 7400  # from here made places of two words (run r10 measured why), and dense stories


# ============================================================================
# The vocabulary
# ============================================================================

def corpus_lines(seed):
    """Text the vocabulary is learned from: filler, facts, questions and prompts."""
    rng = random.Random(seed)
    lines = tasks.filler_sentences()
    places = tasks.filler_places(lines)
    for _ in range(20000):
        s = tasks.Story(rng, places)
        lines.append(" ".join(f[0] for f in s.facts) + " " + s.query + " The " + s.answer + ".")
    t = tasks.load_templates()
    lines += list(t.values()) * 50
    lines += [" ".join(tasks.NAMES + tasks.PLACES + tasks.OBJECTS)] * 20
    lines += ["YES#" + r for r in tasks.YES_REASONS] * 200 + ["NO#" + r for r in tasks.NO_REASONS] * 200
    rng.shuffle(lines)
    return lines


def cmd_vocab(args):
    import sentencepiece as spm
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "corpus.txt")
    with open(path, "w", encoding="utf-8") as f:
        for line in corpus_lines(args.seed):
            f.write(line.replace("\n", " ") + "\n")
    spm.SentencePieceTrainer.train(
        input=path, model_prefix=os.path.join(args.out, "sp"), vocab_size=CONFIG["vocab"],
        model_type="bpe", character_coverage=1.0, byte_fallback=True, split_digits=True,
        add_dummy_prefix=False, remove_extra_whitespaces=False, normalization_rule_name="identity",
        user_defined_symbols=[tasks.IM_START, tasks.IM_END, "\n", "#"], unk_id=0, bos_id=1, eos_id=2,
        pad_id=-1, num_threads=1, minloglevel=2,
        allow_whitespace_only_pieces=True, max_sentencepiece_length=16)
    os.remove(path)


def load_sp(out):
    import sentencepiece as spm
    return spm.SentencePieceProcessor(model_file=os.path.join(out, "sp.model"))


# ============================================================================
# The model
# ============================================================================

class Block(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        d, a = c["dim"], c["heads"] * c["head_dim"]  # a: the heads' width
        self.heads, self.eps = c["heads"], c["eps"]
        self.attn_norm = torch.nn.Parameter(torch.ones(d))
        self.wq = torch.nn.Linear(d, a, bias=False)  # [out, in], as GGUF stores it
        self.wk = torch.nn.Linear(d, a, bias=False)
        self.wv = torch.nn.Linear(d, a, bias=False)
        self.wo = torch.nn.Linear(a, d, bias=False)
        self.ffn_norm = torch.nn.Parameter(torch.ones(d))
        self.w_gate = torch.nn.Linear(d, c["ffn"], bias=False)
        self.w_up = torch.nn.Linear(d, c["ffn"], bias=False)
        self.w_down = torch.nn.Linear(c["ffn"], d, bias=False)

    def forward(self, x, cos, sin, mask):
        b, t, d = x.shape
        h = rmsnorm(x, self.attn_norm, self.eps)
        q = rope(self.wq(h).view(b, t, self.heads, -1), cos, sin).transpose(1, 2)
        k = rope(self.wk(h).view(b, t, self.heads, -1), cos, sin).transpose(1, 2)
        v = self.wv(h).view(b, t, self.heads, -1).transpose(1, 2)
        y = attend(q, k, v, mask).transpose(1, 2).reshape(b, t, -1)
        x = x + self.wo(y)
        h = rmsnorm(x, self.ffn_norm, self.eps)
        return x + self.w_down(F.silu(self.w_gate(h)) * self.w_up(h))


ATTEND_ROWS = 256  # queries a block of attention takes at once


def attend(q, k, v, mask):
    """Causal attention, [b, heads, t, head_dim] each, a block of queries at a
    time over the keys up to its last: the keys after it are masked anyway, so
    the result is the same, at about half the work for a long row, and the
    scale and mask ride in the matmul (baddbmm) rather than in passes of their
    own over [t, t]. Measured on AMD EPYC (2 cores, f32): 40 steps of the main
    schedule from step 8000 took 24.8-26.1 s against 27.0-27.7 s (a long row's
    step 2-2.4x faster, short rows' little), 19.4-19.8 s with OpenBLAS on two
    threads and torch on one; the logits the same within 4e-5 of 30."""
    b, h, t, d = q.shape
    q, v = q.reshape(b * h, t, d), v.reshape(b * h, t, d)
    kt = k.reshape(b * h, t, d).transpose(1, 2)
    out = []
    for s in range(0, t, ATTEND_ROWS):
        e = min(t, s + ATTEND_ROWS)
        att = torch.baddbmm(mask[s:e, :e], q[:, s:e], kt[:, :, :e], alpha=1 / math.sqrt(d))
        out.append(att.softmax(-1) @ v[:, :e])
    return torch.cat(out, 1).view(b, h, t, d)


def rmsnorm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rope(x, cos, sin):
    """Rotates adjacent pairs (x0, x1), (x2, x3)... as llama.cpp's LLAMA rope."""
    x0, x1 = x[..., 0::2], x[..., 1::2]
    return torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), -1).flatten(-2)


class Reader(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embed = torch.nn.Embedding(c["vocab"], c["dim"])
        self.blocks = torch.nn.ModuleList(Block(c) for _ in range(c["layers"]))
        self.norm = torch.nn.Parameter(torch.ones(c["dim"]))
        # tied to the embedding: copying a token (what every margin does) is then
        # attending to it, where an output layer of its own must first learn the
        # inverse of the embedding for every token (measured: a copy task of 2560
        # tokens untied was still at chance after 200 steps; tied, falling by 75)
        self.out = torch.nn.Linear(c["dim"], c["vocab"], bias=False)
        self.out.weight = self.embed.weight
        hd = c["head_dim"]
        inv = c["rope_base"] ** (-torch.arange(0, hd, 2).float() / hd)
        ang = torch.arange(c["ctx"]).float()[:, None] * inv[None, :]
        self.register_buffer("cos", ang.cos()[None, :, None, :], persistent=False)
        self.register_buffer("sin", ang.sin()[None, :, None, :], persistent=False)
        for p in self.parameters():
            if p.dim() == 2:
                torch.nn.init.normal_(p, std=0.02)
        for blk in self.blocks:  # residual branches start small
            torch.nn.init.normal_(blk.wo.weight, std=0.02 / math.sqrt(2 * c["layers"]))
            torch.nn.init.normal_(blk.w_down.weight, std=0.02 / math.sqrt(2 * c["layers"]))

    def residual(self, ids, n):
        """The residual stream after the first n blocks."""
        t = ids.shape[1]
        mask = torch.full((t, t), float("-inf")).triu(1)
        cos, sin = self.cos[:, :t], self.sin[:, :t]
        x = self.embed(ids)
        for blk in self.blocks[:n]:
            x = blk(x, cos, sin, mask)
        return x

    def forward(self, ids):
        return self.out(rmsnorm(self.residual(ids, len(self.blocks)), self.norm, self.c["eps"]))


# ============================================================================
# The look-up, laid out at the start
# ============================================================================
#
# Every prompt of wim's needs an induction head: find where the words just read
# occurred before, and copy what followed them. Gradient descent forms one
# only after tens of millions of tokens (docs/reader.md: not within 1200 steps
# here, from random weights), so the first two layers start with one laid out
# by hand, and training goes on from there (measured on random-token copies at
# varying distance: loss 7.9 to 3.8 in 150 steps, where random weights stayed
# at 7.5). The residual stream is split: the content (the embedding's first
# CONTENT dimensions), the previous token's code (CODE dimensions after it),
# and one dimension that is the same for every token (the last), which gives
# the first head a query and key that depend on position alone. The embedding
# is kept out of the rest (its gradient is masked there), so the split holds
# as it trains. Heads of 64 with rotary base 1e6: the first rotary pairs turn
# fast (position), the last hardly at all over the context (content).
#
# That look-up matches " the" and brings every place after one at once; which
# is the person's is a binding it does not make (docs/reader.md: another
# person's place was a quarter of the answers). So a second circuit binds a
# sentence to its person: a name flag (the last but one dimension) on the
# pieces names are made of, a name head in layer 0 (head 1) that writes a code
# of the nearest name (WHO dimensions after the previous token's code), and
# the look-up matches that code too.

CONTENT, CODE, WHO = 80, 24, 8
CODE_DIMS = slice(CONTENT, CONTENT + CODE)  # the previous token's code
WHO_DIMS = slice(CONTENT + CODE, CONTENT + CODE + WHO)  # the nearest name's code
POS_PAIRS = 6  # rotary pairs of the previous-token head's query and key
MATCH_PAIRS = 12  # the slowest pairs, where the induction head matches content
WHO_PAIRS = range(16, 20)  # the next slowest, where it matches the person too
NEAR_PAIRS = 16  # the fastest pairs, the name head's fall with distance
FLAG = -2  # the dimension that marks a name's pieces (the last but one)


def flagged_pieces(sp):
    """The pieces a name is made of: a capital after a space, or letters
    inside a word (so "Aldo" is its three pieces), but none of the pieces of
    wim's prompts and chat headers ("assistant", "YES", an answer's "The"),
    so that a reply's name head finds the person it is about (run r14 flagged
    those too: its answers stalled; r15 flagged first pieces alone: recall
    came no faster than without the binding)."""
    prompts = {tasks.user_header(""), tasks.GEN_HEADER, *tasks.load_templates().values()}
    skip = {i for text in prompts for i in sp.encode(text)}
    out = []
    for i in range(sp.get_piece_size()):
        p = sp.id_to_piece(i)
        w = p.lstrip("\u2581")
        if i not in skip and (w[:1].isupper() or (w[:1].islower() and not p.startswith("\u2581"))):
            out.append(i)
    return out


def near_kernel(theta, span=24, slope=1.0):
    """Per rotary pair, the cosine and sine weights of a score over distance
    that falls by `slope` a token over the last `span` tokens and stays below
    that beyond (least squares, ridge-damped so the weights stay small)."""
    dist = torch.arange(CONFIG["ctx"], dtype=torch.float64)
    th = theta[:NEAR_PAIRS].double()
    f = torch.cat([torch.cos(dist[:, None] * th), torch.sin(dist[:, None] * th)], 1)
    target = torch.where(dist < span, -dist * slope, torch.full_like(dist, -span * slope - 5))
    w = torch.where(dist < span, 10.0, 1.0)
    a = torch.cat([f * w[:, None], torch.eye(2 * NEAR_PAIRS, dtype=torch.float64)])
    b = torch.cat([target * w, torch.zeros(2 * NEAR_PAIRS, dtype=torch.float64)])
    c = torch.linalg.lstsq(a, b[:, None]).solution[:, 0]
    return c[:NEAR_PAIRS].float(), c[NEAR_PAIRS:].float()


def random_projection(rng, rows):
    """rows random directions over the content dimensions, of about unit gain."""
    proj = torch.tensor([[rng.gauss(0, 1) for _ in range(CONTENT)] for _ in range(rows)])
    return proj / math.sqrt(CONTENT)


def lay_lookup(blk, proj):
    """Head 0 of a block as the look-up: it matches the current token (its
    content through proj) against each position's code of the token before,
    and the person's code against theirs, and copies what it finds."""
    hd = blk.wq.weight.shape[0] // blk.heads
    code, who = CODE_DIMS, WHO_DIMS
    match = slice(hd - 2 * MATCH_PAIRS, hd)
    blk.wq.weight[match, :CONTENT] = proj * 3
    blk.wk.weight[match, code] = torch.eye(CODE) * 3
    blk.wv.weight[:hd, :hd] = torch.eye(hd)
    blk.wo.weight[:hd, :hd] = torch.eye(hd) * 0.3
    rows = slice(2 * WHO_PAIRS[0], 2 * WHO_PAIRS[-1] + 2)
    blk.wq.weight[rows, who] = torch.eye(WHO) * 2.7
    blk.wk.weight[rows, who] = torch.eye(WHO) * 2.7


def lay_circuit(model, rng, flagged):
    """Layer 0, head 0 attends to the previous token and writes a code of it;
    layer 0, head 1 attends to the nearest name's pieces and writes a code of
    them (who the sentence is about); layer 1, head 0 matches the current
    token's code and person against those and copies the content of the
    position after the match (scales measured at init: 0.90 of the first
    head's attention on the previous token, 0.82 of the look-up's on the copy's
    source; of its attention over a story's places, 0.66 on the person's own,
    0.555 without the name head). The heads' other rows stay random: zeroed
    in query and key alike they never get a gradient."""
    c, d = model.c, model.c["dim"]
    hd = c["head_dim"]
    one, flag = d - 1, d + FLAG
    code, who = CODE_DIMS, WHO_DIMS
    with torch.no_grad():
        e = model.embed.weight
        e[:, CONTENT:] = 0
        e[:, one] = 0.06
        e[flagged, flag] = 0.06
        h = rmsnorm(e, torch.ones(d), c["eps"])
        const = h[:, one].mean().item()
        theta = c["rope_base"] ** (-torch.arange(0, hd, 2).float() / hd)
        b0, b1 = model.blocks[0], model.blocks[1]
        # q . k = sum_i a^2 cos(theta_i (1 - distance)): largest one token back
        a = 10.0 / const
        for i in range(POS_PAIRS):
            b0.wq.weight[2 * i, one] = a
            b0.wk.weight[2 * i, one] = a * math.cos(theta[i])
            b0.wk.weight[2 * i + 1, one] = a * math.sin(theta[i])
        proj = random_projection(rng, CODE)
        b0.wv.weight[:CODE, :CONTENT] = proj
        b0.wo.weight[code, :CODE] = torch.eye(CODE) * 0.03
        # the name head: a flagged key scores 25 plus a kernel falling with
        # distance (near_kernel), an unflagged one 0; q . k / sqrt(hd) per pair
        # is q_a (k_a cos + k_b sin) of the distance's angle
        kc, ks = near_kernel(theta)
        unit = math.sqrt(math.sqrt(hd)) / const
        for i in range(NEAR_PAIRS):
            b0.wq.weight[hd + 2 * i, one] = unit
            b0.wk.weight[hd + 2 * i, flag] = kc[i] * unit
            b0.wk.weight[hd + 2 * i + 1, flag] = ks[i] * unit
        last = hd + hd - 2
        b0.wq.weight[last, one] = unit
        b0.wk.weight[last, flag] = 25.0 * unit
        b0.wv.weight[hd:hd + WHO, :CONTENT] = random_projection(rng, WHO)
        b0.wo.weight[who, hd:hd + WHO] = torch.eye(WHO) * 0.03
        lay_lookup(b1, proj)
    mask = torch.ones_like(model.embed.weight)
    mask[:, CONTENT:] = 0
    model.embed.weight.register_hook(lambda g: g * mask)


# Which of a person's moves is the latest: the look-up scores two of them a
# sentence apart alike (its match turns too slowly with distance to part
# them), and no run learned to (docs/reader.md: r18-r20). So a third circuit
# marks a later move. Layer 0, head 2, the recency head, attends from every
# position to a name's pieces 9-44 tokens back (the sentence before, not its
# own), else to a sink on the first token (whose content is held at zero),
# and writes the name's code into WHO2 dimensions: a person's code present
# where they were named just before. The look-up matches WHO2 as it matches
# WHO, so of two moves of a person a sentence apart it favours the later.
# (In layer 1, with the look-up in layer 2, recall came slower: measured.)

WHO2 = slice(WHO_DIMS.stop, WHO_DIMS.stop + WHO)
SINK = -3  # the dimension that marks the first token


def window_kernel(theta, lo=9, hi=44, depth=12.0):
    """Per fast rotary pair, cosine and sine weights of a score over distance
    that is 0 from lo to hi tokens back and about -depth elsewhere."""
    dist = torch.arange(CONFIG["ctx"], dtype=torch.float64)
    th = theta[:NEAR_PAIRS].double()
    f = torch.cat([torch.cos(dist[:, None] * th), torch.sin(dist[:, None] * th)], 1)
    target = torch.where((dist >= lo) & (dist <= hi), 0.0, -depth)
    w = torch.where(dist < 2 * hi, 10.0, 1.0)
    a = torch.cat([f * w[:, None], 0.1 * torch.eye(2 * NEAR_PAIRS, dtype=torch.float64)])
    b = torch.cat([target * w, torch.zeros(2 * NEAR_PAIRS, dtype=torch.float64)])
    c = torch.linalg.lstsq(a, b[:, None]).solution[:, 0]
    return c[:NEAR_PAIRS].float(), c[NEAR_PAIRS:].float()


def layer_input(model, rows, layer):
    """A block's normalized input over some rows of token ids, stacked."""
    norm = model.blocks[layer].attn_norm
    with torch.no_grad():
        return torch.cat([rmsnorm(model.residual(torch.tensor([ids]), layer), norm, model.c["eps"])[0]
                          for ids in rows])


def lay_recency(model, bos, calib, s_flag=8.0, s_sink=4.0, beta=0.5, g=0.03):
    """The recency head (above) in layer 0, head 2, and the look-up's match of
    WHO2 at beta times its match of WHO (measured over calib, rows of token
    ids, at init)."""
    c, d = model.c, model.c["dim"]
    hd = c["head_dim"]
    one, flag, sink = d - 1, d + FLAG, d + SINK
    who = WHO_DIMS
    b0, b1 = model.blocks[0], model.blocks[1]
    r = slice(2 * hd, 3 * hd)
    with torch.no_grad():
        e = model.embed.weight
        e[bos, :CONTENT] = 0
        e[bos, sink] = 0.06
        h = rmsnorm(e, torch.ones(d), c["eps"])
        const, s0 = h[:, one].mean().item(), h[bos, sink].item()
        theta = c["rope_base"] ** (-torch.arange(0, hd, 2).float() / hd)
        kc, ks = window_kernel(theta)
        unit = math.sqrt(math.sqrt(hd)) / const
        q, k = b0.wq.weight[r], b0.wk.weight[r]
        for i in range(NEAR_PAIRS):
            q[2 * i, one] = unit
            k[2 * i, flag] = kc[i] * unit
            k[2 * i + 1, flag] = ks[i] * unit
        q[hd - 2, one] = unit
        k[hd - 2, flag] = s_flag * unit
        q[hd - 4, one] = unit
        k[hd - 4, sink] = s_sink * unit * const / s0
        b0.wv.weight[r][:WHO] = 0
        b0.wv.weight[r][:WHO, :CONTENT] = b0.wv.weight[hd:hd + WHO, :CONTENT]
        b0.wo.weight[:, r] = 0
        b0.wo.weight[WHO2] = 0  # WHO2 carries the recency head's code alone at first
        b0.w_down.weight[WHO2] = 0
        b0.wo.weight[WHO2, 2 * hd:2 * hd + WHO] = torch.eye(WHO) * g
        h1 = layer_input(model, calib, 1)
        w1 = h1[:, who].norm(dim=-1).mean().item()
        w2 = h1[:, WHO2].norm(dim=-1)
        w2 = w2[w2 > 0.5 * w2.max()].mean().item()
        rows = slice(2 * WHO_PAIRS[0], 2 * WHO_PAIRS[-1] + 2)
        b1.wk.weight[rows, WHO2] = b1.wk.weight[rows, who] * beta * w1 / w2
    model.embed.weight.register_hook(lambda gr: torch.cat([gr[:bos], gr[bos:bos + 1] * 0, gr[bos + 1:]]))


# ============================================================================
# Training
# ============================================================================

def doc_length(rng, ctx, step):
    """Short documents first (many samples a step: measured, the look-up formed
    by step 1100 with documents of 20-120 tokens and not by 1200 with a tenth
    of them near the context), then mostly short ones (cheap, dense in signal)
    and some near the context, the longest growing by degrees (run b lost its
    look-up when documents of every length came in at once)."""
    if step < SINGLE:
        return rng.randint(20, 120)
    cap = 120 + (ctx - 420) * min(1.0, (step - SINGLE) / GROW)
    u = rng.random()
    n = rng.randint(40, 300) if u < 0.7 else rng.randint(300, 800) if u < 0.9 else \
        rng.randint(800, ctx - 300)
    return int(min(n, cap))


def batch(tk, rng, ctx, budget, step, steps, tail):
    """Token ids and the targets: the replies' tokens alone (a language-modelling
    loss on the rest, weighted 0.25, kept the copy from being learned at all in
    300 steps: the model learned the filler's statistics instead)."""
    # measured: going from recall alone to wim's tasks at once (run b, step
    # 1200) lost the look-up learned so far; so they come in by degrees
    new = min(1.0, max(0.0, (step - WARM) / BLEND))
    n = doc_length(rng, ctx, step)
    tk.recall = 1.0 if step < WARM else RECALL + (1.0 - RECALL) * (1.0 - new)
    tk.single = step < SINGLE  # one fact a person until the model can look one up
    tk.phase(3 if step >= steps + tail else 2 if step >= steps else 1 if step >= MADE else 0)
    rows = [tk.draw(n) for _ in range(max(1, budget // (n + 150)))]
    t = max(len(r[0]) for r in rows)
    ids = torch.zeros(len(rows), t, dtype=torch.long)
    tgt = torch.full((len(rows), t), -100, dtype=torch.long)
    for i, (x, m, _) in enumerate(rows):
        ids[i, :len(x)] = torch.tensor(x)
        tgt[i, :len(x) - 1] = torch.tensor([x[j + 1] if m[j + 1] else -100 for j in range(len(x) - 1)])
    return ids, tgt, [r[2] for r in rows]


def lr_at(step, steps, tail, polish, peak):
    """A short warm-up (the laid-out heads are lost to the first full steps
    otherwise), the full rate through the first phase, then a cosine down to
    a tenth, where the tail stays; the polish a cosine from there to nothing
    (measured: at the tail's rate, dev sets of 200 moved 3-5 points between
    checkpoints 500 steps apart)."""
    if step >= steps + tail:
        return peak * 0.1 * 0.5 * (1 + math.cos(math.pi * (step - steps - tail) / max(1, polish)))
    if step >= steps:
        return peak * 0.1
    if step < WARM:
        return peak * min(1.0, (step + 1) / 60)
    p = (step - WARM) / max(1, steps - WARM)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p)))


def cmd_train(args):
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)
    sp = load_sp(args.out)
    assert sp.get_piece_size() == CONFIG["vocab"]
    tk = tasks.Tasks(sp, args.seed + 1, CONFIG["ctx"])
    CONFIG["layers"], CONFIG["heads"] = args.layers, args.heads
    model = Reader(CONFIG)
    lay_circuit(model, random.Random(args.seed + 2), flagged_pieces(sp))
    if args.recency:
        cal = tasks.Tasks(sp, args.seed + 3, CONFIG["ctx"], recall=0.5)
        lay_recency(model, sp.bos_id(), [cal.draw(400)[0] for _ in range(6)])

    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.0)
    ckpt = os.path.join(args.out, "reader.pt")
    start = 0
    if os.path.exists(ckpt) and not args.fresh:
        st = load_checkpoint(args.out)
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        rng.setstate(st["rng"])
        tk.rng.setstate(st["task_rng"])
        start = st["step"]
    log = open(os.path.join(args.out, "loss.csv"), "a", newline="")
    w = csv.writer(log)
    if start == 0:
        w.writerow(["step", "seconds", "tokens", "loss", "reply_acc", "kind"])
    t0, seen = time.time(), 0
    end = args.steps + args.tail + args.polish
    for step in range(start, min(end, args.stop_at or end)):
        ids, tgt, kinds = batch(tk, rng, CONFIG["ctx"], args.batch_tokens, step, args.steps, args.tail)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, args.steps, args.tail, args.polish, args.lr)
        # bf16: the weights, gradients and optimizer stay f32. On AMD EPYC
        # (AVX-512 BF16; Debian's torch runs bf16 matmuls in oneDNN) a step
        # 1.4-2.5x faster than f32's, but run r22b learned less in the same
        # steps and ended quoting earlier moves (docs/reader.md)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
            logits = model(ids).float()
        loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), tgt.view(-1), ignore_index=-100)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        seen += ids.numel()
        with torch.no_grad():
            ok = (logits.argmax(-1) == tgt) | (tgt == -100)
            # a reply counts as right when every one of its tokens is
            acc = ok.all(-1).float().mean().item()
        w.writerow([step, round(time.time() - t0, 1), seen, round(loss.item(), 4), round(acc, 3),
                    max(set(kinds), key=kinds.count)])
        if step % 20 == 0:
            log.flush()
            print(f"step {step} loss {loss.item():.3f} acc {acc:.2f} tok/s "
                  f"{seen / (time.time() - t0):.0f}", flush=True)
        if (step + 1) % args.save_every == 0 or step + 1 in (end, args.stop_at):
            torch.save({"config": CONFIG, "model": model.state_dict(), "opt": opt.state_dict(), "step": step + 1,
                        "rng": rng.getstate(), "task_rng": tk.rng.getstate()}, ckpt + ".tmp")
            os.replace(ckpt + ".tmp", ckpt)
    log.close()


# ============================================================================
# Export
# ============================================================================

CHAT_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")


def load_checkpoint(out):
    """The last checkpoint, its shapes made the current ones."""
    st = torch.load(os.path.join(out, "reader.pt"))
    CONFIG.update(st["config"])
    return st


def cmd_export(args):
    import gguf
    import numpy as np
    sp = load_sp(args.out)
    st = load_checkpoint(args.out)["model"]
    c = CONFIG
    w = gguf.GGUFWriter(args.output, "llama")
    w.add_name("wim reader")
    w.add_context_length(c["ctx"])
    w.add_embedding_length(c["dim"])
    w.add_block_count(c["layers"])
    w.add_feed_forward_length(c["ffn"])
    w.add_head_count(c["heads"])
    w.add_head_count_kv(c["heads"])
    w.add_rope_dimension_count(c["head_dim"])
    w.add_key_length(c["head_dim"])
    w.add_value_length(c["head_dim"])
    w.add_rope_freq_base(c["rope_base"])
    w.add_layer_norm_rms_eps(c["eps"])
    w.add_vocab_size(c["vocab"])
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    tokens, scores, types = [], [], []
    for i in range(sp.get_piece_size()):
        tokens.append(sp.id_to_piece(i).encode("utf-8"))
        scores.append(sp.get_score(i))
        types.append(gguf.TokenType.UNKNOWN if sp.is_unknown(i) else
                     gguf.TokenType.BYTE if sp.is_byte(i) else
                     gguf.TokenType.CONTROL if sp.is_control(i) or sp.id_to_piece(i) in (
                         tasks.IM_START, tasks.IM_END) else
                     gguf.TokenType.USER_DEFINED if sp.id_to_piece(i) in ("\n", "#") else
                     gguf.TokenType.NORMAL)
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(sp.bos_id())
    w.add_eos_token_id(sp.piece_to_id(tasks.IM_END))
    w.add_unk_token_id(sp.unk_id())
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    w.add_add_space_prefix(False)
    w.add_chat_template(CHAT_TEMPLATE)

    def put(name, t, f16=True):
        a = t.detach().float().numpy()
        w.add_tensor(name, a.astype(np.float16) if f16 and a.ndim == 2 else a.astype(np.float32))

    put("token_embd.weight", st["embed.weight"])
    for i in range(c["layers"]):
        p = f"blocks.{i}."
        put(f"blk.{i}.attn_norm.weight", st[p + "attn_norm"])
        put(f"blk.{i}.attn_q.weight", st[p + "wq.weight"])
        put(f"blk.{i}.attn_k.weight", st[p + "wk.weight"])
        put(f"blk.{i}.attn_v.weight", st[p + "wv.weight"])
        put(f"blk.{i}.attn_output.weight", st[p + "wo.weight"])
        put(f"blk.{i}.ffn_norm.weight", st[p + "ffn_norm"])
        put(f"blk.{i}.ffn_gate.weight", st[p + "w_gate.weight"])
        put(f"blk.{i}.ffn_up.weight", st[p + "w_up.weight"])
        put(f"blk.{i}.ffn_down.weight", st[p + "w_down.weight"])
    put("output_norm.weight", st["norm"])  # no output.weight: llama.cpp ties it to token_embd
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def load_model(out):
    """The vocabulary, the last checkpoint's model and its step."""
    st = load_checkpoint(out)
    model = Reader(CONFIG)
    model.load_state_dict(st["model"])
    return load_sp(out), model, st["step"]


def cmd_sample(args):
    """Greedy replies of the current checkpoint to a few fresh samples (a quick look)."""
    sp, model, step = load_model(args.out)
    tk = tasks.Tasks(sp, args.seed + 999, CONFIG["ctx"])
    rng = random.Random(args.seed)
    with torch.no_grad():
        for _ in range(args.n):
            ids, mask, kind = tk.draw(rng.randint(60, 300))
            start = mask.index(1)
            x = ids[:start]
            for _ in range(60):
                nxt = model(torch.tensor([x]))[0, -1].argmax().item()
                x.append(nxt)
                if nxt == tk.r.eos:
                    break
            print(f"[{kind}] want: {sp.decode(ids[start:-1])!r}\n        got:  "
                  f"{sp.decode(x[start:-1] if x[-1] == tk.r.eos else x[start:])!r}")


def cmd_probe(args):
    """What recall has learned: the loss, in nats, of each answer's name (a copy
    of the question's last words), verb and place (both looked up in the
    document by the name), over fresh one-fact-a-person samples; each summed
    over its tokens. A model that copies nothing pays about 10, 2 and 12."""
    sp, model, step = load_model(args.out)
    tk = tasks.Tasks(sp, args.seed + 77, CONFIG["ctx"], recall=1.0, single=True)
    rng = random.Random(args.seed)
    slots = {"name": [], "verb": [], "place": []}
    with torch.no_grad():
        for _ in range(args.n):
            ids, mask, _ = tk.draw(rng.randint(30, 200))
            lp = F.log_softmax(model(torch.tensor([ids]))[0], -1)
            pieces, costs = [], []
            for j in range(len(ids) - 1):
                if not mask[j + 1]:
                    continue
                pieces.append(sp.id_to_piece(ids[j + 1]).replace("\u2581", " "))
                costs.append(-lp[j, ids[j + 1]].item())
                if pieces[-1] == ".":  # " Name verb to the place."
                    probe_answer(pieces, costs, slots)
                    pieces, costs = [], []
    print(f"step {step}: " + ", ".join(
        f"{k} {sum(v) / len(v):.2f}" for k, v in slots.items()))


def cmd_latest(args):
    """Which move is the latest: margins teacher-forced over training-like
    stories (the made places, dense half the time) in one segment, -n whose
    asked person's last two moves are adjacent sentences and -n whose are 200
    characters or more apart; a margin counts as right when every one of its
    tokens is the model's first choice."""
    sp, model, step = load_model(args.out)
    tk = tasks.Tasks(sp, args.seed + 55, CONFIG["ctx"])
    tk.phase(1)
    rng = random.Random(args.seed)
    got = {"adjacent": [0, 0], "apart": [0, 0]}
    with torch.no_grad():
        while min(n for _, n in got.values()) < args.n:
            story = tasks.Story(rng, tk.places, tk.names, dense=True)
            moves = [i for i, f in enumerate(story.facts) if f[1] == story.target and f[2]]
            if len(moves) < 2:
                continue
            doc = tasks.Doc(rng, story, tk.filler, tk.count, 400, CONFIG["ctx"])
            a, b = [k for k, (_, i) in enumerate(doc.sents) if i in moves[-2:]]
            gap = sum(len(doc.sents[k][0]) + 1 for k in range(a + 1, b))
            kind = "adjacent" if b == a + 1 else "apart" if gap >= 200 else None
            if kind is None or got[kind][1] >= args.n:
                continue
            ids, mask = tasks.make_sample(rng, tk.r, story, doc, "margin")  # one segment: its margin
            best = model(torch.tensor([ids]))[0].argmax(-1).tolist()
            got[kind][0] += all(best[j - 1] == ids[j] for j in range(1, len(ids)) if mask[j])
            got[kind][1] += 1
    print(f"step {step}: margins right, the last two moves adjacent {got['adjacent'][0]} / "
          f"{args.n}, apart {got['apart'][0]} / {args.n}")


def probe_answer(pieces, costs, slots):
    """Adds one answer's cost per slot, each token counted where it begins."""
    text = "".join(pieces)
    name_end = text.index(" ", 1)
    place_at = text.rindex(" the ") + 5
    got = {"name": 0.0, "verb": 0.0, "place": 0.0}
    at = 0
    for p, c in zip(pieces, costs):
        slot = "name" if at < name_end else "verb" if at < place_at - 5 else \
            "place" if place_at - 1 <= at < len(text) - 1 else None
        if slot:
            got[slot] += c
        at += len(p)
    for k, v in got.items():
        slots[k].append(v)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["vocab", "train", "export", "sample", "probe", "latest"])
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=20261205)
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--batch-tokens", type=int, default=3072)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--save-every", type=int, default=50)
    ap.add_argument("--tail", type=int, default=0,
                    help="steps after --steps at a tenth of the rate, with places and names of any shape")
    ap.add_argument("--polish", type=int, default=0,
                    help="steps after the tail, the rate down to nothing: places of any piece, close moves")
    ap.add_argument("--stop-at", type=int, default=0, help="stop after this step (schedule of --steps)")
    ap.add_argument("--fresh", action="store_true")
    ap.add_argument("--layers", type=int, default=CONFIG["layers"], help="a new model's depth")
    ap.add_argument("--heads", type=int, default=CONFIG["heads"], help="a new model's heads")
    ap.add_argument("--recency", action="store_true",
                    help="a new model with the recency circuit (in layer 0's third head)")
    ap.add_argument("--bf16", action="store_true",
                    help="train in bfloat16 autocast (faster; learned less: docs/reader.md, r22b)")

    ap.add_argument("-n", type=int, default=8)
    ap.add_argument("-o", "--output")
    args = ap.parse_args()
    if args.recency and args.heads < 3:
        ap.error("--recency needs --heads 3 or more: the recency head is layer 0's third")
    {"vocab": cmd_vocab, "train": cmd_train, "export": cmd_export, "sample": cmd_sample,
     "probe": cmd_probe, "latest": cmd_latest}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
