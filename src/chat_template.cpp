/*
 * chat_template.cpp - a model's Jinja chat template rendered by llama.cpp's own
 * engine, for chat.c.
 *
 * llama_chat_apply_template (C) only knows template styles it recognises by
 * pattern; the real templates (Gemma 4, Nemotron-H, thinking models) need a
 * Jinja engine, and llama.cpp's is C++, in its "common" library. This file is
 * the one place wim speaks C++: it turns C strings into common's inputs and
 * every C++ exception into a one-line message, so nothing throws into C.
 */
#include "chat.h"

#include <llama.h>

/* by their folder: common's chat.h has the same name as ours */
#include <common/chat.h>
#include <common/log.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

/* common's own log would print its warnings and errors (and start a thread)
 * unless told otherwise; wim reports one line of its own, and shows
 * llama.cpp's chatter only with WIM_VERBOSE, like model.c. */
static void quiet_common_log()
{
    static const bool done = [] {
        common_log_set_verbosity_thold(std::getenv("WIM_VERBOSE") ? LOG_LEVEL_INFO : -1);
        return true;
    }();
    (void)done;
}

static common_chat_templates_ptr parse(const llama_model *model, const std::string &src)
{
    try {
        return common_chat_templates_init(model, src);
    } catch (const std::exception &) {
        /* common rethrows a syntax error as a bare std::exception, its
         * message lost; parsing again throws the original */
        common_chat_template again(src, "", "");
        throw;
    }
}

static bool ends_with(const std::string &s, const std::string &end)
{
    return s.size() >= end.size() && s.compare(s.size() - end.size(), end.size(), end) == 0;
}

/* Not thinking, the reply must begin past the model's thinking. Most
 * templates see to that themselves when enable_thinking is false; the rest
 * are handled here, in one place:
 * - some always open a thought (DeepSeek-R1, Nemotron Nano 2, MiniMax-M2:
 *   their switch, if any, is a word in the prompt); an opened thought is
 *   closed with the end tag common found for the template;
 * - gpt-oss's template has no switch at all (reasoning_effort goes no lower
 *   than "low") and stops at "<|start|>assistant", leaving the channel to the
 *   model, and common adds nothing; in its harmony format a reply that skips
 *   the analysis channel opens the final one. */
static void skip_thinking(const common_chat_params &p, std::string &prompt)
{
    if (p.thinking_start_tag == "<|channel|>analysis<|message|>") {
        if (ends_with(prompt, "<|start|>assistant")) prompt += "<|channel|>final<|message|>";
        return;
    }
    if (p.thinking_start_tag.empty() || p.thinking_end_tags.empty()) return;
    size_t end = prompt.find_last_not_of(" \t\r\n");
    if (end != std::string::npos && ends_with(prompt.substr(0, end + 1), p.thinking_start_tag))
        prompt += p.thinking_end_tags[0];
}

static const char *template_source(const llama_model *model, const char *tmpl)
{
    const char *src = tmpl ? tmpl : model ? llama_model_chat_template(model, nullptr) : nullptr;
    if (!src) throw std::runtime_error("the model has none");
    return src;
}

/* msgs rendered up to the reply. Some templates raise on a system turn or
 * insist that turns alternate starting with the user's; they get each system
 * text at the head of the next user's words instead. */
static std::string apply(const llama_model *model, const char *tmpl,
                         std::vector<common_chat_msg> msgs, bool think)
{
    common_chat_templates_ptr tmpls = parse(model, template_source(model, tmpl));
    common_chat_templates_inputs in;
    in.messages = msgs;
    in.add_generation_prompt = true;
    in.use_jinja = true;
    in.enable_thinking = think;
    common_chat_params out;
    try {
        out = common_chat_templates_apply(tmpls.get(), in);
    } catch (const std::exception &) {
        std::string held;
        in.messages.clear();
        for (auto &m : msgs) {
            if (m.role == "system") {
                held += m.content + "\n\n";
                continue;
            }
            if (m.role == "user") {
                m.content = held + m.content;
                held.clear();
            }
            in.messages.push_back(m);
        }
        out = common_chat_templates_apply(tmpls.get(), in);
    }
    if (!think) skip_thinking(out, out.prompt);
    return out.prompt;
}

static common_chat_msg message(const char *role, const char *content)
{
    common_chat_msg m;
    m.role = role;
    m.content = content;
    return m;
}

static std::string render(const llama_model *model, const char *tmpl, const char *system,
                          const char *user, bool think)
{
    return apply(model, tmpl, {message("system", system), message("user", user)}, think);
}

/* ============================================================================
 * Rendered prompts, remembered
 *
 * common parses and analyses a template each time (20-75 ms, and its
 * allocations), and a server makes a session per request from the same model
 * and prompts. So the last few renderings are kept, keyed by everything that
 * shapes them: the template text, the model's BOS and EOS, the messages and
 * the thinking switch.
 * ========================================================================= */

enum { REMEMBERED = 16 };

static std::string token_text(const llama_model *model, llama_token (*which)(const llama_vocab *))
{
    if (!model) return "";
    const llama_vocab *v = llama_model_get_vocab(model);
    llama_token t = which(v);
    return t == LLAMA_TOKEN_NULL ? "" : llama_vocab_get_text(v, t);
}

static std::string render_remembered(const llama_model *model, const char *tmpl, const char *system,
                                     const char *user, bool think)
{
    static std::mutex mu;
    static std::deque<std::pair<std::string, std::string>> kept; /* key, prompt; newest first */
    const char *src = tmpl ? tmpl : model ? llama_model_chat_template(model, nullptr) : nullptr;
    std::string key = std::string(src ? src : "") + '\0' + token_text(model, llama_vocab_bos) +
                      '\0' + token_text(model, llama_vocab_eos) + '\0' + system + '\0' + user +
                      '\0' + (think ? "1" : "0");
    {
        std::lock_guard<std::mutex> lock(mu);
        for (const auto &k : kept)
            if (k.first == key) return k.second;
    }
    std::string prompt = render(model, tmpl, system, user, think);
    std::lock_guard<std::mutex> lock(mu);
    kept.emplace_front(std::move(key), prompt);
    if (kept.size() > REMEMBERED) kept.pop_back();
    return prompt;
}

/* Jinja's messages quote the template over several lines; wim's are one. */
static void one_line(char *s)
{
    char *w = s;
    for (const char *r = s; *r; r++) {
        bool space = *r == ' ' || *r == '\t' || *r == '\r' || *r == '\n';
        if (!space || (w > s && w[-1] != ' ')) *w++ = space ? ' ' : *r;
    }
    while (w > s && w[-1] == ' ')
        w--;
    *w = '\0';
}

/* what() rendered, as a malloc'd C string; every exception a line in err. */
template <typename F> static char *to_c(F what, char *err, size_t errlen)
{
    try {
        quiet_common_log();
        char *s = strdup(what().c_str());
        if (!s) snprintf(err, errlen, "out of memory formatting the chat template");
        return s;
    } catch (const std::exception &e) {
        snprintf(err, errlen, "the chat template failed: %s", e.what());
    } catch (...) {
        snprintf(err, errlen, "the chat template failed");
    }
    one_line(err);
    return nullptr;
}

extern "C" char *wim_chat_template_apply(const struct llama_model *model, const char *tmpl,
                                         const char *system, const char *user, bool think,
                                         char *err, size_t errlen)
{
    return to_c([&] { return render_remembered(model, tmpl, system, user, think); }, err, errlen);
}

extern "C" char *wim_chat_template_conversation(const struct llama_model *model, const char *tmpl,
                                                const char *const *roles,
                                                const char *const *contents, int n, bool think,
                                                char *err, size_t errlen)
{
    return to_c(
        [&] {
            std::vector<common_chat_msg> msgs;
            for (int i = 0; i < n; i++)
                msgs.push_back(message(roles[i], contents[i]));
            return apply(model, tmpl, msgs, think);
        },
        err, errlen);
}
