// The fine-tune page's small synthetic tasks, drawn from a seed so a page trains them in seconds:
// part-of-speech tagging from a little grammar of sea sentences (some words are nouns or verbs by
// their place), and extractive QA over sentences naming a sailor, a ship and a port ("Which ship
// is it?").
import * as bg from '../../src/index.js';

export const TAG_NAMES = ['DET', 'ADJ', 'NOUN', 'VERB', 'ADP', 'PRON', 'PUNCT'];
export const TAG_COLOURS: Record<string, string> = {
  DET: '#dbe4ff',
  ADJ: '#ffe8a3',
  NOUN: '#c3fae8',
  VERB: '#ffc9c9',
  ADP: '#e5dbff',
  PRON: '#d3f9d8',
  PUNCT: '#e9ecef',
};

const DET = ['the', 'a', 'every', 'this', 'one'];
const ADJ = ['white', 'old', 'great', 'dark', 'quiet', 'wild', 'cold', 'long'];
const NOUNS = ['whale', 'ship', 'captain', 'sea', 'harpoon', 'boat', 'island', 'storm', 'crew', 'deck'];
const PLURALS = ['sailors', 'whalers', 'men', 'mates', 'harpooners', 'boats'];
const VERBS = ['see', 'chase', 'follow', 'find', 'hear', 'fear', 'watch', 'hunt', 'leave'];
/** Nouns after a determiner or an adjective, verbs after a subject. */
const BOTH = ['watch', 'fear', 'sail', 'hunt', 'wake'];
const ADP = ['on', 'near', 'across', 'under', 'beyond'];
const PRON = ['they', 'we', 'you'];

/** `n` tagged sentences ({tokens, tags}, the tag task's JSON lines shape). */
export function tagCorpus(n: number, seed: number): { tokens: string[]; tags: string[] }[] {
  const r = bg.seededRandom(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  const out: { tokens: string[]; tags: string[] }[] = [];
  for (let i = 0; i < n; i++) {
    const tokens: string[] = [];
    const tags: string[] = [];
    const push = (w: string, t: string) => (tokens.push(w), tags.push(t));
    const nounPhrase = () => {
      push(pick(DET), 'DET');
      if (r() < 0.5) push(pick(ADJ), 'ADJ');
      push(r() < 0.3 ? pick(BOTH) : pick(NOUNS), 'NOUN');
    };
    // subject: plural noun phrase or pronoun, so the verb is the bare form (as the ambiguous words)
    if (r() < 0.3) push(pick(PRON), 'PRON');
    else {
      push('the', 'DET');
      if (r() < 0.5) push(pick(ADJ), 'ADJ');
      push(pick(PLURALS), 'NOUN');
    }
    push(r() < 0.4 ? pick(BOTH) : pick(VERBS), 'VERB');
    nounPhrase();
    if (r() < 0.5) {
      push(pick(ADP), 'ADP');
      nounPhrase();
    }
    push('.', 'PUNCT');
    tokens[0] = tokens[0][0].toUpperCase() + tokens[0].slice(1);
    out.push({ tokens, tags });
  }
  return out;
}

const SAILORS = ['Ahab', 'Starbuck', 'Stubb', 'Flask', 'Queequeg', 'Tashtego', 'Daggoo', 'Pip', 'Ishmael', 'Fleece', 'Perth', 'Bulkington'];
const SHIPS = ['Pequod', 'Rachel', 'Jeroboam', 'Bachelor', 'Delight', 'Samuel Enderby', 'Virgin', 'Albatross'];
const PORTS = ['Nantucket', 'New Bedford', 'Sag Harbor', 'Manhattan', 'Lima', 'Java', 'Bombay', 'Tahiti'];
/** Every name a context can hold (sailors, ships, ports), for the baseline's position rule. */
export const QA_NAMES = [...SAILORS, ...SHIPS, ...PORTS];
/** One sentence per context, the sailor (N), ship (S) and port (P) in each of the six orders. */
const TEMPLATES = [
  '{N} sailed the {S} from {P}.',
  '{N} left {P} on the {S}.',
  'The {S} carried {N} to {P}.',
  'The {S} left {P} with {N} aboard.',
  'From {P}, {N} took the {S}.',
  'At {P}, the {S} took on {N}.',
];
const QUESTIONS: Record<'N' | 'S' | 'P', string[]> = {
  N: ['Who was aboard?', 'Which sailor is named?'],
  S: ['Which ship is it?', 'What is the ship called?'],
  P: ['Which port is named?', 'Where was the ship?'],
};

/**
 * `n` questions (SQuAD's shape) over one-sentence contexts naming a sailor, a ship and a port in
 * one of six orders; the question asks for one of the three, so the answer's place varies and the
 * model has to learn what each question asks for and which words are sailors, ships and ports.
 */
export function qaCorpus(n: number, seed: number) {
  const r = bg.seededRandom(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  return Array.from({ length: n }, (_, i) => {
    const names = { N: pick(SAILORS), S: pick(SHIPS), P: pick(PORTS) };
    const template = pick(TEMPLATES);
    const asked = pick(['N', 'S', 'P'] as const);
    const fill = (t: string) => t.replace(/\{([NSP])\}/g, (_, k: 'N' | 'S' | 'P') => names[k]);
    return {
      id: `q${seed}-${i}`,
      question: pick(QUESTIONS[asked]),
      context: fill(template),
      answers: { text: [names[asked]], answer_start: [fill(template.slice(0, template.indexOf(`{${asked}}`))).length] },
    };
  });
}

/** The names of a context in order (the baseline's positions). */
export function namesIn(context: string): string[] {
  return context.match(NAME_RE) ?? [];
}
const NAME_RE = new RegExp([...QA_NAMES].sort((a, b) => b.length - a.length).join('|'), 'g');
