// The fine-tune page's small synthetic tasks, drawn from a seed so a page trains them in seconds:
// part-of-speech tagging from a little grammar of sea sentences (some words are nouns or verbs by
// their place), and extractive QA over three facts about a crew ("Who is the cook?").
import { seededRandom } from '../../src/index.js';

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
  const r = seededRandom(seed);
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

const ROLES = ['captain', 'mate', 'cook', 'harpooner', 'carpenter', 'blacksmith', 'cabin boy', 'lookout'];
const NAMES = ['Ahab', 'Starbuck', 'Stubb', 'Flask', 'Queequeg', 'Tashtego', 'Daggoo', 'Pip', 'Ishmael', 'Fleece', 'Perth', 'Bulkington'];

/** `n` questions over contexts of three "The ROLE is NAME." facts (SQuAD's shape). */
export function qaCorpus(n: number, seed: number) {
  const r = seededRandom(seed);
  const draw = <T>(xs: T[], k: number) => {
    const a = [...xs];
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a.slice(0, k);
  };
  return Array.from({ length: n }, (_, i) => {
    const roles = draw(ROLES, 3);
    const names = draw(NAMES, 3);
    let context = '';
    const starts: number[] = [];
    roles.forEach((role, k) => {
      const fact = `The ${role} is `;
      context += (k ? ' ' : '') + fact;
      starts.push(context.length);
      context += `${names[k]}.`;
    });
    const k = Math.floor(r() * 3);
    return {
      id: `q${seed}-${i}`,
      question: `Who is the ${roles[k]}?`,
      context,
      answers: { text: [names[k]], answer_start: [starts[k]] },
    };
  });
}
