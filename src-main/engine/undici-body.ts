import type { Dispatcher } from 'undici';

/**
 * A request body as undici takes it. undici streams any async iterable of bytes (its docs list
 * `AsyncIterable`), but its type declarations name only Readable and friends; this alias is where
 * an iterable is passed as one, so that no copy through a Readable is made on the hot path.
 */
export type RequestBody = Dispatcher.DispatchOptions['body'];
