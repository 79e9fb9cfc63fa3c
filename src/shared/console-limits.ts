/**
 * Limits of the human's seat that both the broker and the web console know. Kept free of
 * imports so the browser bundle can use it without the protocol's schema library.
 */

/** The console counts unread messages up to this many; the count means "this many or more". */
export const UNREAD_COUNT_CAP = 1000;
