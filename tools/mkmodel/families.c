/*
 * families.c - the architectures wim-mkmodel writes: their GGUF keys and their tensors.
 *
 * Each family writes exactly the keys and tensors llama.cpp's loader requires for its
 * architecture (src/models/<arch>.cpp in llama.cpp), with the shapes it checks. Norm weights
 * are ones and recurrent decay rates negative, so random models give finite logits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mkmodel.h"

/* ----------------------------------------------------------------------------
 * Built-in chat templates, for the families whose vocab file may carry none
 */

/* Llama 3 instruct format; llama.cpp recognises it by its header tokens. */
static const char llama3_template[] =
    "{{- bos_token -}}"
    "{%- for message in messages -%}"
    "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'"
    " + message['content'] | trim + '<|eot_id|>' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}"
    "{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}"
    "{%- endif -%}";

/* ChatML as used by Qwen2; recognised by <|im_start|>. */
static const char chatml_template[] =
    "{%- for message in messages -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}"
    "{{- '<|im_start|>assistant\\n' -}}"
    "{%- endif -%}";

/* Phi-3 format; recognised by <|assistant|> together with <|end|>. */
static const char phi3_template[] =
    "{%- for message in messages -%}"
    "{{- '<|' + message['role'] + '|>\\n' + message['content'] + '<|end|>\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}"
    "{{- '<|assistant|>\\n' -}}"
    "{%- endif -%}";

/* ----------------------------------------------------------------------------
 * Shape helpers
 */

int shape_head_dim(const struct shape *s)
{
    return s->head_dim ? s->head_dim : s->n_embd / s->n_head;
}

int shape_n_rot(const struct shape *s)
{
    return s->n_rot ? s->n_rot : shape_head_dim(s);
}

char layer_kind(const struct shape *s, int il)
{
    return s->layers ? s->layers[(size_t)il % strlen(s->layers)] : LAYER_ATTN;
}

/* Delta net: value heads of ssm_state values. */
static int64_t deltanet_value_dim(const struct shape *s)
{
    return (int64_t)s->ssm_state * s->ssm_head;
}

/* Delta net: key (and query) heads of ssm_state values. */
static int64_t deltanet_key_dim(const struct shape *s)
{
    return (int64_t)s->ssm_state * s->ssm_group;
}

/* Mamba2 as llama.cpp supports it: an expansion factor of 2. */
static int64_t mamba2_inner(const struct shape *s)
{
    return 2 * (int64_t)s->n_embd;
}

/* ----------------------------------------------------------------------------
 * Keys
 */

static void set_hparam_u32(struct gguf_context *g, const struct shape *s, const char *key, int v)
{
    char name[128];
    snprintf(name, sizeof(name), "%s.%s", s->fam->arch, key);
    gguf_set_val_u32(g, name, (uint32_t)v);
}

static void set_hparam_f32(struct gguf_context *g, const struct shape *s, const char *key, float v)
{
    char name[128];
    snprintf(name, sizeof(name), "%s.%s", s->fam->arch, key);
    gguf_set_val_f32(g, name, v);
}

static void set_hparam_str(struct gguf_context *g, const struct shape *s, const char *key,
                           const char *v)
{
    char name[128];
    snprintf(name, sizeof(name), "%s.%s", s->fam->arch, key);
    gguf_set_val_str(g, name, v);
}

static void set_hparam_arr(struct gguf_context *g, const struct shape *s, const char *key,
                           enum gguf_type type, const void *data, size_t n)
{
    char name[128];
    snprintf(name, sizeof(name), "%s.%s", s->fam->arch, key);
    gguf_set_arr_data(g, name, type, data, n);
}

/* head_count_kv per layer: 0 marks the recurrent layers of lfm2 and granitehybrid. */
static void set_kv_heads_per_layer(struct gguf_context *g, const struct shape *s)
{
    int32_t kv[MAX_LAYERS];
    for (int il = 0; il < s->n_layer; il++)
        kv[il] = layer_kind(s, il) == LAYER_RECUR ? 0 : s->n_head_kv;
    set_hparam_arr(g, s, "attention.head_count_kv", GGUF_TYPE_INT32, kv, (size_t)s->n_layer);
}

/* sliding_window and the per-layer pattern: true where a layer attends over the window. */
static void set_sliding_window(struct gguf_context *g, const struct shape *s)
{
    int8_t swa[MAX_LAYERS];
    for (int il = 0; il < s->n_layer; il++)
        swa[il] = layer_kind(s, il) == LAYER_SWA;
    set_hparam_u32(g, s, "attention.sliding_window", s->n_swa);
    set_hparam_arr(g, s, "attention.sliding_window_pattern", GGUF_TYPE_BOOL, swa,
                   (size_t)s->n_layer);
}

void add_hparams(struct gguf_context *g, const struct shape *s, int n_vocab)
{
    set_hparam_u32(g, s, "vocab_size", n_vocab);
    set_hparam_u32(g, s, "context_length", s->n_ctx_train);
    set_hparam_u32(g, s, "embedding_length", s->n_embd);
    set_hparam_u32(g, s, "block_count", s->n_layer);
    set_hparam_u32(g, s, "feed_forward_length", s->n_ff);
    set_hparam_u32(g, s, "attention.head_count", s->n_head);
    if (s->fam->kv_per_layer)
        set_kv_heads_per_layer(g, s);
    else
        set_hparam_u32(g, s, "attention.head_count_kv", s->n_head_kv);
    set_hparam_f32(g, s, "attention.layer_norm_rms_epsilon", s->fam->rms_eps);
    set_hparam_f32(g, s, "rope.freq_base", s->fam->rope_base);
    set_hparam_u32(g, s, "rope.dimension_count", shape_n_rot(s));
    if (s->head_dim) {
        set_hparam_u32(g, s, "attention.key_length", s->head_dim);
        set_hparam_u32(g, s, "attention.value_length", s->head_dim);
    }
    if (s->fam->add_hparams) s->fam->add_hparams(g, s);
}

/* ----------------------------------------------------------------------------
 * Blocks: the parts families share
 */

/* Q, K, V (fused or not, with biases if the family has them) and the output projection.
 * q_factor 2 doubles Q's width for Qwen3.5's output gate. */
static void add_attention(struct layout *L, const struct shape *s, int il, int q_factor)
{
    const int64_t n_embd = s->n_embd, hd = shape_head_dim(s);
    const int64_t n_q = hd * s->n_head, n_kv = hd * s->n_head_kv; /* widths of Q and of K, V */

    if (s->fam->fused) {
        add_block_tensor(L, il, "attn_qkv.weight", n_embd, n_q + 2 * n_kv, FILL_RANDOM);
    } else {
        add_block_tensor(L, il, "attn_q.weight", n_embd, q_factor * n_q, FILL_RANDOM);
        add_block_tensor(L, il, "attn_k.weight", n_embd, n_kv, FILL_RANDOM);
        add_block_tensor(L, il, "attn_v.weight", n_embd, n_kv, FILL_RANDOM);
    }
    if (s->fam->qkv_bias) {
        add_block_tensor(L, il, "attn_q.bias", n_q, 0, FILL_RANDOM);
        add_block_tensor(L, il, "attn_k.bias", n_kv, 0, FILL_RANDOM);
        add_block_tensor(L, il, "attn_v.bias", n_kv, 0, FILL_RANDOM);
    }
    add_block_tensor(L, il, "attn_output.weight", n_q, n_embd, FILL_RANDOM);
}

/* Per-head RMS norms of Q and K. */
static void add_qk_norm(struct layout *L, const struct shape *s, int il)
{
    add_block_tensor(L, il, "attn_q_norm.weight", shape_head_dim(s), 0, FILL_ONES);
    add_block_tensor(L, il, "attn_k_norm.weight", shape_head_dim(s), 0, FILL_ONES);
}

/* SwiGLU feed-forward: gate, up, down. */
static void add_ffn(struct layout *L, const struct shape *s, int il)
{
    add_block_tensor(L, il, "ffn_gate.weight", s->n_embd, s->n_ff, FILL_RANDOM);
    add_block_tensor(L, il, "ffn_up.weight", s->n_embd, s->n_ff, FILL_RANDOM);
    add_block_tensor(L, il, "ffn_down.weight", s->n_ff, s->n_embd, FILL_RANDOM);
}

/* ----------------------------------------------------------------------------
 * llama, qwen2, phi3, qwen3: every layer attends
 */

static void add_classic_block(struct layout *L, const struct shape *s, int il)
{
    add_block_tensor(L, il, "attn_norm.weight", s->n_embd, 0, FILL_ONES);
    add_attention(L, s, il, 1);
    add_block_tensor(L, il, "ffn_norm.weight", s->n_embd, 0, FILL_ONES);
    if (s->fam->fused) {
        add_block_tensor(L, il, "ffn_up.weight", s->n_embd, 2 * (int64_t)s->n_ff, FILL_RANDOM);
        add_block_tensor(L, il, "ffn_down.weight", s->n_ff, s->n_embd, FILL_RANDOM);
    } else {
        add_ffn(L, s, il);
    }
}

static void add_qwen3_block(struct layout *L, const struct shape *s, int il)
{
    add_block_tensor(L, il, "attn_norm.weight", s->n_embd, 0, FILL_ONES);
    add_attention(L, s, il, 1);
    add_qk_norm(L, s, il);
    add_block_tensor(L, il, "ffn_norm.weight", s->n_embd, 0, FILL_ONES);
    add_ffn(L, s, il);
}

/* ----------------------------------------------------------------------------
 * qwen35: gated delta net layers, and every few a gated full-attention layer
 */

static void check_qwen35(const struct shape *s)
{
    if (!s->layers) die("qwen35 needs --layers, e.g. RRRA");
    const size_t n = strlen(s->layers);
    if (strspn(s->layers, "R") != n - 1 || s->layers[n - 1] != LAYER_ATTN)
        die("qwen35 --layers must be recurrent layers then one attention layer, e.g. RRRA");
    if (!s->ssm_state || !s->ssm_group || !s->ssm_head)
        die("qwen35 needs --ssm-state, --ssm-group and --ssm-head");
    if (s->ssm_head % s->ssm_group) die("--ssm-head must be a multiple of --ssm-group");
}

static void add_qwen35_hparams(struct gguf_context *g, const struct shape *s)
{
    /* M-RoPE sections over the rotary pairs, split as Qwen3.5's 11/11/10 of 32 */
    const int pairs = shape_n_rot(s) / 2;
    const int32_t sections[4] = {(pairs + 2) / 3, (pairs + 2) / 3, pairs - 2 * ((pairs + 2) / 3),
                                 0};
    set_hparam_arr(g, s, "rope.dimension_sections", GGUF_TYPE_INT32, sections, 4);
    set_hparam_u32(g, s, "ssm.conv_kernel", s->ssm_conv);
    set_hparam_u32(g, s, "ssm.inner_size", (int)deltanet_value_dim(s));
    set_hparam_u32(g, s, "ssm.state_size", s->ssm_state);
    set_hparam_u32(g, s, "ssm.time_step_rank", s->ssm_head);
    set_hparam_u32(g, s, "ssm.group_count", s->ssm_group);
    set_hparam_u32(g, s, "full_attention_interval", (int)strlen(s->layers));
}

static void add_deltanet(struct layout *L, const struct shape *s, int il)
{
    const int64_t n_embd = s->n_embd, key_dim = deltanet_key_dim(s);
    const int64_t value_dim = deltanet_value_dim(s);

    add_block_tensor(L, il, "attn_qkv.weight", n_embd, 2 * key_dim + value_dim, FILL_RANDOM);
    add_block_tensor(L, il, "attn_gate.weight", n_embd, value_dim, FILL_RANDOM);
    add_block_f32(L, il, "ssm_conv1d.weight", s->ssm_conv, 2 * key_dim + value_dim, FILL_RANDOM);
    add_block_tensor(L, il, "ssm_dt.bias", s->ssm_head, 0, FILL_RANDOM);
    add_block_tensor(L, il, "ssm_a", s->ssm_head, 0, FILL_DECAY);
    add_block_tensor(L, il, "ssm_beta.weight", n_embd, s->ssm_head, FILL_RANDOM);
    add_block_tensor(L, il, "ssm_alpha.weight", n_embd, s->ssm_head, FILL_RANDOM);
    add_block_tensor(L, il, "ssm_norm.weight", s->ssm_state, 0, FILL_ONES);
    add_block_tensor(L, il, "ssm_out.weight", value_dim, n_embd, FILL_RANDOM);
}

static void add_qwen35_block(struct layout *L, const struct shape *s, int il)
{
    add_block_tensor(L, il, "attn_norm.weight", s->n_embd, 0, FILL_ONES);
    add_block_tensor(L, il, "post_attention_norm.weight", s->n_embd, 0, FILL_ONES);
    if (layer_kind(s, il) == LAYER_RECUR) {
        add_deltanet(L, s, il);
    } else {
        add_attention(L, s, il, 2);
        add_qk_norm(L, s, il);
    }
    add_ffn(L, s, il);
}

/* ----------------------------------------------------------------------------
 * gemma3: sliding-window layers and full ones, norms after attention and FFN too
 */

static void add_gemma3_hparams(struct gguf_context *g, const struct shape *s)
{
    set_sliding_window(g, s);
    set_hparam_f32(g, s, "rope.freq_base_swa", 10000.0f);
}

static void add_gemma3_block(struct layout *L, const struct shape *s, int il)
{
    add_block_tensor(L, il, "attn_norm.weight", s->n_embd, 0, FILL_ONES);
    add_attention(L, s, il, 1);
    add_block_tensor(L, il, "post_attention_norm.weight", s->n_embd, 0, FILL_ONES);
    add_qk_norm(L, s, il);
    add_block_tensor(L, il, "ffn_norm.weight", s->n_embd, 0, FILL_ONES);
    add_ffn(L, s, il);
    add_block_tensor(L, il, "post_ffw_norm.weight", s->n_embd, 0, FILL_ONES);
}

/* ----------------------------------------------------------------------------
 * lfm2: short gated convolutions, and attention on some layers
 */

static void add_lfm2_hparams(struct gguf_context *g, const struct shape *s)
{
    set_hparam_u32(g, s, "shortconv.l_cache", s->ssm_conv);
}

static void add_lfm2_block(struct layout *L, const struct shape *s, int il)
{
    const int64_t n_embd = s->n_embd;
    add_block_tensor(L, il, "ffn_norm.weight", n_embd, 0, FILL_ONES);
    add_ffn(L, s, il);
    add_block_tensor(L, il, "attn_norm.weight", n_embd, 0, FILL_ONES);
    if (layer_kind(s, il) == LAYER_RECUR) {
        /* a kernel of ones: with random ones the gated convolution adds next to nothing
           to the residual stream, and its state (the last tokens) would not matter */
        add_block_f32(L, il, "shortconv.conv.weight", s->ssm_conv, n_embd, FILL_ONES);
        add_block_tensor(L, il, "shortconv.in_proj.weight", n_embd, 3 * n_embd, FILL_RANDOM);
        add_block_tensor(L, il, "shortconv.out_proj.weight", n_embd, n_embd, FILL_RANDOM);
    } else {
        add_qk_norm(L, s, il);
        add_attention(L, s, il, 1);
    }
}

/* ----------------------------------------------------------------------------
 * granitehybrid: mamba2 layers and a few attention layers, no positions (NoPE)
 */

static void check_granite(const struct shape *s)
{
    if (!s->ssm_state || !s->ssm_group || !s->ssm_head)
        die("granitehybrid needs --ssm-state, --ssm-group and --ssm-head");
    if (mamba2_inner(s) % s->ssm_head || mamba2_inner(s) % s->ssm_group)
        die("2 x --n-embd must be a multiple of --ssm-head and of --ssm-group");
}

static void add_granite_hparams(struct gguf_context *g, const struct shape *s)
{
    char name[128];
    snprintf(name, sizeof(name), "%s.rope.scaling.finetuned", s->fam->arch);
    gguf_set_val_bool(g, name, false); /* Granite 4.0-H turns rope off this way */
    set_hparam_u32(g, s, "ssm.conv_kernel", s->ssm_conv);
    set_hparam_u32(g, s, "ssm.state_size", s->ssm_state);
    set_hparam_u32(g, s, "ssm.group_count", s->ssm_group);
    set_hparam_u32(g, s, "ssm.inner_size", (int)mamba2_inner(s));
    set_hparam_u32(g, s, "ssm.time_step_rank", s->ssm_head);
}

static void add_mamba2(struct layout *L, const struct shape *s, int il)
{
    const int64_t d_inner = mamba2_inner(s), n_head = s->ssm_head;
    const int64_t d_bc = 2 * (int64_t)s->ssm_group * s->ssm_state; /* B and C */

    add_block_tensor(L, il, "ssm_in.weight", s->n_embd, 2 * d_inner + d_bc + n_head, FILL_RANDOM);
    add_block_f32(L, il, "ssm_conv1d.weight", s->ssm_conv, d_inner + d_bc, FILL_RANDOM);
    add_block_tensor(L, il, "ssm_conv1d.bias", d_inner + d_bc, 0, FILL_RANDOM);
    add_block_tensor(L, il, "ssm_dt.bias", n_head, 0, FILL_RANDOM);
    add_block_f32(L, il, "ssm_a", 1, n_head, FILL_DECAY);
    add_block_f32(L, il, "ssm_d", 1, n_head, FILL_ONES);
    add_block_f32(L, il, "ssm_norm.weight", d_inner / s->ssm_group, s->ssm_group, FILL_ONES);
    add_block_tensor(L, il, "ssm_out.weight", d_inner, s->n_embd, FILL_RANDOM);
}

static void add_granite_block(struct layout *L, const struct shape *s, int il)
{
    add_block_tensor(L, il, "attn_norm.weight", s->n_embd, 0, FILL_ONES);
    if (layer_kind(s, il) == LAYER_RECUR)
        add_mamba2(L, s, il);
    else
        add_attention(L, s, il, 1);
    add_block_tensor(L, il, "ffn_norm.weight", s->n_embd, 0, FILL_ONES);
    add_ffn(L, s, il);
}

/* ----------------------------------------------------------------------------
 * gpt-oss: mixture of experts, attention sinks, sliding-window and full layers alternating
 */

static void check_gpt_oss(const struct shape *s)
{
    if (!s->n_expert || !s->n_expert_used) die("gpt-oss needs --n-expert and --n-expert-used");
    if (s->n_expert_used > s->n_expert) die("--n-expert-used must be at most --n-expert");
}

static void add_gpt_oss_hparams(struct gguf_context *g, const struct shape *s)
{
    set_hparam_u32(g, s, "expert_count", s->n_expert);
    set_hparam_u32(g, s, "expert_used_count", s->n_expert_used);
    set_hparam_u32(g, s, "expert_feed_forward_length", s->n_ff);
    set_sliding_window(g, s);
    set_hparam_str(g, s, "rope.scaling.type", "yarn");
    set_hparam_f32(g, s, "rope.scaling.factor", 32.0f);
    set_hparam_u32(g, s, "rope.scaling.original_context_length", 4096);
}

static void add_gpt_oss_block(struct layout *L, const struct shape *s, int il)
{
    const int64_t n_embd = s->n_embd, n_ff = s->n_ff, n_expert = s->n_expert;

    add_block_tensor(L, il, "attn_norm.weight", n_embd, 0, FILL_ONES);
    add_block_tensor(L, il, "post_attention_norm.weight", n_embd, 0, FILL_ONES);
    add_attention(L, s, il, 1);
    add_block_tensor(L, il, "attn_output.bias", n_embd, 0, FILL_RANDOM);
    add_block_tensor(L, il, "attn_sinks.weight", s->n_head, 0, FILL_RANDOM);
    add_block_tensor(L, il, "ffn_gate_inp.weight", n_embd, n_expert, FILL_RANDOM);
    add_block_tensor(L, il, "ffn_gate_inp.bias", n_expert, 0, FILL_RANDOM);
    add_block_experts(L, il, "ffn_gate_exps.weight", n_embd, n_ff, n_expert);
    add_block_experts(L, il, "ffn_up_exps.weight", n_embd, n_ff, n_expert);
    add_block_experts(L, il, "ffn_down_exps.weight", n_ff, n_embd, n_expert);
    add_block_f32(L, il, "ffn_gate_exps.bias", n_ff, n_expert, FILL_RANDOM);
    add_block_f32(L, il, "ffn_up_exps.bias", n_ff, n_expert, FILL_RANDOM);
    add_block_f32(L, il, "ffn_down_exps.bias", n_embd, n_expert, FILL_RANDOM);
}

/* ----------------------------------------------------------------------------
 * The table
 */

/* Gemma 4's vocabulary is Gemma 3's, but for the names of the turn markers. */
static const char *const gemma3_renames[] = {"<|turn>=<start_of_turn>", "<turn|>=<end_of_turn>",
                                             NULL};

/* Harmony format markers on Llama 3's reserved special tokens. */
static const char *const gpt_oss_renames[] = {"<|reserved_special_token_0|>=<|start|>",
                                              "<|reserved_special_token_1|>=<|end|>",
                                              "<|reserved_special_token_2|>=<|message|>",
                                              "<|reserved_special_token_3|>=<|channel|>",
                                              "<|reserved_special_token_4|>=<|return|>",
                                              "<|reserved_special_token_5|>=<|call|>",
                                              NULL};

/* Granite's role markers on Llama 3's reserved special tokens. */
static const char *const granite_renames[] = {"<|reserved_special_token_0|>=<|start_of_role|>",
                                              "<|reserved_special_token_1|>=<|end_of_role|>", NULL};

const struct family families[N_FAMILIES] = {
    [FAM_LLAMA] = {.arch = "llama",
                   .vocab_file = "ggml-vocab-llama-bpe.gguf",
                   .chat_template = llama3_template,
                   .memory = "A",
                   .rope_base = 500000.0f,
                   .rms_eps = 1e-5f,
                   .tied = true,
                   .add_block = add_classic_block},
    [FAM_QWEN2] = {.arch = "qwen2",
                   .vocab_file = "ggml-vocab-qwen2.gguf",
                   .chat_template = chatml_template,
                   .memory = "A",
                   .rope_base = 1000000.0f,
                   .rms_eps = 1e-6f,
                   .qkv_bias = true,
                   .tied = true,
                   .add_block = add_classic_block},
    [FAM_PHI3] = {.arch = "phi3",
                  .vocab_file = "ggml-vocab-phi-3.gguf",
                  .chat_template = phi3_template,
                  .memory = "A",
                  .rope_base = 10000.0f,
                  .rms_eps = 1e-5f,
                  .fused = true,
                  .add_block = add_classic_block},
    [FAM_QWEN3] = {.arch = "qwen3",
                   .vocab_file = "ggml-vocab-qwen2.gguf",
                   .template_file = "Qwen-Qwen3-0.6B",
                   .memory = "A",
                   .rope_base = 1000000.0f,
                   .rms_eps = 1e-6f,
                   .tied = true,
                   .add_block = add_qwen3_block},
    [FAM_QWEN35] = {.arch = "qwen35",
                    .vocab_file = "ggml-vocab-qwen35.gguf",
                    .template_file = "Qwen3.5-4B",
                    .memory = "AR",
                    .rope_base = 10000000.0f,
                    .rms_eps = 1e-6f,
                    .tied = true,
                    .partial_rope = true,
                    .check = check_qwen35,
                    .add_hparams = add_qwen35_hparams,
                    .add_block = add_qwen35_block},
    [FAM_GEMMA3] = {.arch = "gemma3",
                    .vocab_file = "ggml-vocab-gemma-4.gguf",
                    .template_file = "google-gemma-2-2b-it",
                    .renames = gemma3_renames,
                    .memory = "AS",
                    .rope_base = 1000000.0f,
                    .rms_eps = 1e-6f,
                    .tied = true,
                    .add_hparams = add_gemma3_hparams,
                    .add_block = add_gemma3_block},
    [FAM_LFM2] = {.arch = "lfm2",
                  .vocab_file = "ggml-vocab-qwen2.gguf",
                  .template_file = "LFM2.5-Instruct",
                  .memory = "AR",
                  .rope_base = 1000000.0f,
                  .rms_eps = 1e-5f,
                  .tied = true,
                  .kv_per_layer = true,
                  .output_norm =
                      "token_embd_norm.weight", /* LFM2's name for it, kept by llama.cpp */
                  .add_hparams = add_lfm2_hparams,
                  .add_block = add_lfm2_block},
    [FAM_GRANITEHYBRID] = {.arch = "granitehybrid",
                           .vocab_file = "ggml-vocab-llama-bpe.gguf",
                           .template_file = "ibm-granite-granite-4.0",
                           .renames = granite_renames,
                           .memory = "AR",
                           .rope_base = 10000.0f,
                           .rms_eps = 1e-5f,
                           .tied = true,
                           .kv_per_layer = true,
                           .check = check_granite,
                           .add_hparams = add_granite_hparams,
                           .add_block = add_granite_block},
    [FAM_GPT_OSS] = {.arch = "gpt-oss",
                     .vocab_file = "ggml-vocab-llama-bpe.gguf",
                     .template_file = "openai-gpt-oss-120b",
                     .renames = gpt_oss_renames,
                     .memory = "AS",
                     .rope_base = 150000.0f,
                     .rms_eps = 1e-5f,
                     .qkv_bias = true,
                     .check = check_gpt_oss,
                     .add_hparams = add_gpt_oss_hparams,
                     .add_block = add_gpt_oss_block},
};

const char *family_names(void)
{
    static char names[256];
    size_t used = 0;
    for (size_t i = 0; i < N_FAMILIES && used < sizeof(names); i++)
        used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%s", i ? ", " : "",
                                 families[i].arch);
    return names;
}

const struct family *find_family(const char *arch)
{
    for (size_t i = 0; i < N_FAMILIES; i++)
        if (!strcmp(families[i].arch, arch)) return &families[i];
    die("unknown architecture '%s' (%s)", arch, family_names());
}
