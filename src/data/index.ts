// Pre-training data: text -> documents -> sentences -> BERT / RoBERTa / ELECTRA instances ->
// masked, padded batches. Pure TypeScript (no GPU, no Node imports).
export { Rng, mixSeed, roundHalfEven, type RngState } from './rng.js';
export { splitSentences, splitBlankLines, textToDocuments, DEFAULT_ABBREVIATIONS, type SentenceSplitOptions, type DocumentOptions } from './text.js';
export { vocabInfo, tokenizeDocuments, type PretrainingTokenizer, type VocabInfo } from './vocab.js';
export { bertMask, electraMask, type MaskedInstance, type BertMaskingOptions, type ElectraMaskingOptions } from './masking.js';
export {
  bertInstancesFromDocument, createBertInstances, createElectraInstances, createRobertaInstances, truncateSeqPair,
  type Instance, type CreationStats, type BertInstanceOptions,
} from './instances.js';
export { PretrainingDataset, type PretrainingDatasetOptions, type PretrainingBatch, type PretrainingDatasetState, type PretrainingMode } from './dataset.js';
export { decodeCorpusText, readCorpus, describeDocuments, jsonlText, MAX_INVALID_UTF8_SHARE, type Corpus, type CorpusText, type DecodedText, type DocumentSplit, type SentenceSplit } from './corpus.js';
export {
  CorpusStream, StreamedPretrainingDataset, planShards, heldBackScore, lineAt, MAX_LINE_BYTES,
  type ByteSource, type ShardPiece, type StreamDocument, type CorpusStreamOptions, type ShardReport, type StreamedDatasetOptions, type StreamedDatasetState,
} from './stream.js';
