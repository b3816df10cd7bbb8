// client.test.mjs - wim-server's OpenAI-compatible endpoint through OpenAI's own
// JavaScript client (the `openai` package, pinned in package-lock.json), as an
// application would use it: node client.test.mjs BASE_URL KEY
//
// The server runs a tiny made model, so the words are noise; what is checked is
// the shape every client relies on: models, streamed chunks with the margins
// as reasoning_content and the answer as content, usage, errors as APIError.
import assert from 'node:assert/strict';
import OpenAI from 'openai';

const [base, key] = process.argv.slice(2);
const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: key, maxRetries: 0 });

// A document of about 1000 tokens, read in 256-token segments, and a question.
const doc = Array.from({ length: 60 }, (_, i) => `The cat number ${i} sat on the mat by door ${i % 7}.`).join(' ');
const reading = {
  model: 'any',
  messages: [
    { role: 'system', content: doc },
    { role: 'user', content: 'Which door did cat 12 sit by?' },
  ],
  max_tokens: 6,
  seed: 7,
  wim: { min_document_tokens: 100, options: { segment_tokens: 256, max_margin_tokens: 8, fixed_length: true } },
};

async function models() {
  const list = await client.models.list();
  assert.equal(list.data.length, 1);
  assert.equal(list.data[0].object, 'model');
  assert.match(list.data[0].id, /\.gguf$/);
  console.log(`models: ${list.data[0].id}`);
}

async function streamed() {
  const stream = await client.chat.completions.create({
    ...reading, stream: true, stream_options: { include_usage: true },
  });
  let reasoning = '', content = '', finish = null, usage = null, chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    assert.equal(chunk.object, 'chat.completion.chunk');
    if (chunk.usage) usage = chunk.usage;
    const choice = chunk.choices[0];
    if (!choice) continue;
    reasoning += choice.delta.reasoning_content ?? '';
    content += choice.delta.content ?? '';
    finish = choice.finish_reason ?? finish;
  }
  // four segments, so four margins, each followed by its verdict
  assert.match(reasoning, /^Reading \d+ tokens in 4 segments/);
  for (let k = 1; k <= 4; k++) assert.ok(reasoning.includes(`[${k}/4]`), `margin ${k} in: ${reasoning}`);
  assert.equal(finish, 'length'); // fixed_length: the answer ran to max_tokens
  assert.ok(usage, 'include_usage gives a last chunk with usage');
  assert.equal(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens);
  // every margin, verdict and answer token is counted, and every document token
  assert.ok(usage.completion_tokens >= 4 * 8 + 6, JSON.stringify(usage));
  assert.ok(usage.prompt_tokens > 900, JSON.stringify(usage));
  console.log(`streamed: ${chunks} chunks, ${reasoning.length} bytes of reasoning, usage ${JSON.stringify(usage)}`);
  return content;
}

async function whole(expected) {
  const r = await client.chat.completions.create(reading);
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(r.choices[0].finish_reason, 'length');
  assert.match(r.choices[0].message.reasoning_content, /\[4\/4\]/);
  // greedy: the same answer, streamed or not
  assert.equal(r.choices[0].message.content, expected);
  console.log(`whole: ${r.usage.completion_tokens} completion tokens, same content as streamed`);
}

async function shortChat() {
  const r = await client.chat.completions.create({
    model: 'any', messages: [{ role: 'user', content: 'Hello!' }], max_tokens: 5,
    wim: { options: { fixed_length: true } },
  });
  // a short chat goes to the model as it is: no margins
  assert.equal(r.choices[0].message.reasoning_content, undefined);
  assert.equal(r.usage.completion_tokens, 5);
  console.log(`short chat: ${r.usage.prompt_tokens} prompt tokens, untouched`);
}

async function errors() {
  await assert.rejects(
    client.chat.completions.create({ model: 'any', messages: [{ role: 'user', content: 'hi' }], n: 2 }),
    (e) => e instanceof OpenAI.BadRequestError && e.status === 400 && /"n" must be 1/.test(e.message));
  const stranger = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'wrong', maxRetries: 0 });
  await assert.rejects(stranger.models.list(), (e) => e instanceof OpenAI.AuthenticationError);
  console.log('errors: 400 and 401 arrive as the client\'s own error classes');
}

await models();
const content = await streamed();
await whole(content);
await shortChat();
await errors();
console.log('openai client: all passed');
