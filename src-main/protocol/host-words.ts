// Web Crypto (globalThis.crypto) rather than node:crypto: the profile editor in the renderer makes
// hosts and tokens with the same code.
const randomBytes = (n: number): Uint8Array => globalThis.crypto.getRandomValues(new Uint8Array(n));

/** An unbiased random integer in [0, n), n a power of two up to 256. */
function randomBelow(n: number): number {
  return randomBytes(1)[0]! % n;
}

// Five words, one from each list, as the FPW seed names hosts: planet, nature, animal, colour, fruit
// (moon-flower-snake-red-apple). 32 words a list gives 2^25 names.
const PLANETS = [
  'moon',
  'sun',
  'mars',
  'venus',
  'earth',
  'pluto',
  'comet',
  'star',
  'saturn',
  'jupiter',
  'mercury',
  'neptune',
  'uranus',
  'titan',
  'europa',
  'io',
  'ceres',
  'vega',
  'sirius',
  'orion',
  'nova',
  'luna',
  'sol',
  'atlas',
  'rhea',
  'phobos',
  'deimos',
  'triton',
  'oberon',
  'ariel',
  'callisto',
  'ganymede',
];
const NATURE = [
  'flower',
  'river',
  'forest',
  'ocean',
  'cloud',
  'rain',
  'snow',
  'wind',
  'stone',
  'leaf',
  'tree',
  'lake',
  'hill',
  'field',
  'storm',
  'frost',
  'sand',
  'wave',
  'mist',
  'dawn',
  'dusk',
  'meadow',
  'valley',
  'brook',
  'cliff',
  'grove',
  'reef',
  'dune',
  'glade',
  'moss',
  'fern',
  'spring',
];
const ANIMALS = [
  'snake',
  'tiger',
  'panda',
  'eagle',
  'otter',
  'fox',
  'wolf',
  'bear',
  'whale',
  'horse',
  'rabbit',
  'owl',
  'hawk',
  'lion',
  'crane',
  'deer',
  'koala',
  'lynx',
  'moose',
  'seal',
  'swan',
  'yak',
  'zebra',
  'bison',
  'camel',
  'gecko',
  'heron',
  'ibis',
  'lemur',
  'mole',
  'newt',
  'robin',
];
const COLOURS = [
  'red',
  'blue',
  'green',
  'gold',
  'pink',
  'gray',
  'black',
  'white',
  'amber',
  'azure',
  'coral',
  'cyan',
  'indigo',
  'ivory',
  'jade',
  'lime',
  'navy',
  'olive',
  'plum',
  'ruby',
  'rust',
  'sage',
  'teal',
  'violet',
  'bronze',
  'copper',
  'silver',
  'cream',
  'mint',
  'peach',
  'sky',
  'tan',
];
const FRUITS = [
  'apple',
  'banana',
  'cherry',
  'grape',
  'lemon',
  'mango',
  'melon',
  'orange',
  'peach',
  'pear',
  'plum',
  'kiwi',
  'lime',
  'fig',
  'date',
  'berry',
  'guava',
  'papaya',
  'apricot',
  'olive',
  'quince',
  'lychee',
  'durian',
  'pomelo',
  'cocoa',
  'coconut',
  'citron',
  'damson',
  'medlar',
  'nectarine',
  'persimmon',
  'tangerine',
];

/** Makes a five-word DNS label such as `moon-flower-snake-red-apple`. */
export function fiveWordLabel(): string {
  return [PLANETS, NATURE, ANIMALS, COLOURS, FRUITS].map((list) => list[randomBelow(list.length)]).join('-');
}

/** A random claim token: 128 bits, URL-safe. */
export function randomToken(): string {
  let s = '';
  for (const b of randomBytes(16)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** True for a syntactically valid lower-case host name (labels of letters, digits and hyphens). */
export function isValidHostName(host: string): boolean {
  if (host.length === 0 || host.length > 253) return false;
  return host.split('.').every((label) => LABEL.test(label));
}

/**
 * Normalises a Host header value to a bare lower-case name: port and trailing dot removed,
 * IPv6 brackets kept.
 */
export function normaliseHost(value: string | undefined): string {
  if (!value) return '';
  let host = value.trim().toLowerCase();
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end === -1 ? host : host.slice(0, end + 1);
  }
  const colon = host.indexOf(':');
  if (colon !== -1) host = host.slice(0, colon);
  return host.endsWith('.') ? host.slice(0, -1) : host;
}
