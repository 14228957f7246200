// Reads a Hugging Face tokenizer.json with a WordPiece model (BERT's) into a vocabulary and
// WordPieceTokenizer options. The file is untrusted: every field used is checked before use, and
// what we cannot reproduce exactly (another normalizer, pre-tokenizer, post-processor or
// template) is refused rather than silently tokenised differently.
import { JsonFields } from './json-fields.js';
import type { WordPieceOptions } from './wordpiece.js';

export interface WordPieceTokenizerJson {
  /** Tokens indexed by id. */
  vocab: string[];
  options: WordPieceOptions;
  /** [token, id] pairs the post-processor names, to check against the vocabulary. */
  postProcessorIds: [path: string, token: string, id: number][];
}

export function readWordPieceTokenizerJson(json: string | object, source: string): WordPieceTokenizerJson {
  const f = new JsonFields(source);
  const spec = f.object(f.parse(json), 'the top level');
  const model = f.object(spec.model, 'model');
  if (model.type !== 'WordPiece') f.fail('model.type', '"WordPiece" (only WordPiece tokenizer.json files are read)', model.type);
  const vocab = readVocab(f, model.vocab);

  const options: WordPieceOptions = {
    unkToken: f.optionalString(model.unk_token, 'model.unk_token'),
    continuingSubwordPrefix: f.optionalString(model.continuing_subword_prefix, 'model.continuing_subword_prefix'),
    maxInputCharsPerWord: f.optionalInteger(model.max_input_chars_per_word, 'model.max_input_chars_per_word', 1),
  };
  const norm = f.optionalObject(spec.normalizer, 'normalizer');
  if (norm === undefined) Object.assign(options, { cleanText: false, handleChineseChars: false, lowercase: false, stripAccents: false });
  else if (norm.type === 'BertNormalizer') {
    options.cleanText = f.optionalBoolean(norm.clean_text, 'normalizer.clean_text') ?? true;
    options.handleChineseChars = f.optionalBoolean(norm.handle_chinese_chars, 'normalizer.handle_chinese_chars') ?? true;
    options.lowercase = f.optionalBoolean(norm.lowercase, 'normalizer.lowercase') ?? true;
    options.stripAccents = f.optionalBoolean(norm.strip_accents, 'normalizer.strip_accents') ?? options.lowercase;
  } else f.fail('normalizer.type', '"BertNormalizer" (the only normalizer supported)', norm.type);
  const pre = f.optionalObject(spec.pre_tokenizer, 'pre_tokenizer');
  if (pre !== undefined && pre.type !== 'BertPreTokenizer')
    f.fail('pre_tokenizer.type', '"BertPreTokenizer" (the only pre-tokenizer supported)', pre.type);

  const postProcessorIds: WordPieceTokenizerJson['postProcessorIds'] = [];
  const post = f.optionalObject(spec.post_processor, 'post_processor');
  if (post?.type === 'BertProcessing') {
    const pair = (key: 'cls' | 'sep'): string => {
      const v = post[key];
      if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== 'string' || !Number.isSafeInteger(v[1]) || v[1] < 0) {
        return f.fail(`post_processor.${key}`, '[token, id]', v);
      }
      postProcessorIds.push([`post_processor.${key}`, v[0], v[1]]);
      return v[0];
    };
    options.clsToken = pair('cls');
    options.sepToken = pair('sep');
  } else if (post?.type === 'TemplateProcessing') {
    [options.clsToken, options.sepToken] = readSingleTemplate(f, post.single);
  } else if (post !== undefined) {
    f.fail('post_processor.type', '"BertProcessing" or "TemplateProcessing"', post.type);
  }

  const added = spec.added_tokens == null ? [] : f.array(spec.added_tokens, 'added_tokens');
  if (added.length) {
    options.specialTokens = added.map((t, i) => {
      const content = f.object(t, `added_tokens[${i}]`).content;
      return typeof content === 'string' && content !== '' ? content : f.fail(`added_tokens[${i}].content`, 'a non-empty string', content);
    });
  }
  const padding = f.optionalObject(spec.padding, 'padding');
  const pad = f.optionalString(padding?.pad_token, 'padding.pad_token');
  if (pad !== undefined) options.padToken = pad;
  return { vocab, options, postProcessorIds };
}

/** model.vocab: every id 0..n-1 given to exactly one of the n tokens. */
function readVocab(f: JsonFields, value: unknown): string[] {
  const expected = 'an object of token -> id';
  if (value === null || typeof value !== 'object' || Array.isArray(value)) f.fail('model.vocab', expected, value);
  const entries = Object.entries(value as Record<string, unknown>);
  const vocab: string[] = new Array(entries.length);
  for (const [token, id] of entries) {
    const path = `model.vocab[${JSON.stringify(token.length > 40 ? token.slice(0, 40) + '...' : token)}]`;
    if (!Number.isSafeInteger(id) || (id as number) < 0) f.fail(path, 'a non-negative integer id', id);
    const i = id as number;
    if (i >= entries.length) f.fail(path, `an id below ${entries.length} (the number of tokens; ids run 0..${entries.length - 1})`, id);
    if (vocab[i] !== undefined) f.fail(path, `an id no other token has (${JSON.stringify(vocab[i])} has ${i} too)`, id);
    vocab[i] = token;
  }
  return vocab;
}

/** TemplateProcessing.single, which must be [SpecialToken, Sequence A, SpecialToken] (BERT's): the two special tokens. */
function readSingleTemplate(f: JsonFields, value: unknown): [string, string] {
  const expected = '[{SpecialToken}, {Sequence: {id: "A"}}, {SpecialToken}] (the only template supported)';
  const items = Array.isArray(value) && value.length === 3 ? value : f.fail('post_processor.single', expected, value);
  const special = (i: number): string => {
    const id = f.object(f.object(items[i], `post_processor.single[${i}]`).SpecialToken, `post_processor.single[${i}].SpecialToken`).id;
    return typeof id === 'string' ? id : f.fail(`post_processor.single[${i}].SpecialToken.id`, 'a string', id);
  };
  const sequence = f.object(f.object(items[1], 'post_processor.single[1]').Sequence, 'post_processor.single[1].Sequence');
  if (sequence.id !== 'A') f.fail('post_processor.single[1].Sequence.id', '"A"', sequence.id);
  return [special(0), special(2)];
}
