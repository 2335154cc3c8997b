// Documented input limits (README "Limits"), all in one place. Every store
// method checks its arguments against these before touching the database,
// the same on both backends. "Characters" are UTF-16 code units, as
// JavaScript counts them; "bytes" are the string's UTF-8 size.

/**
 * Identifiers: user ids, channels, thread ids, roles, setting keys, tool and
 * model names, categories, modes, event types… in UTF-8 bytes. Two of them
 * form one PostgreSQL index entry (settings, routines, conversations), which
 * may not exceed 2704 bytes; counting characters would let 512 four-byte
 * characters (2 KiB) through twice.
 */
export const MAX_NAME_BYTES = 512;
/**
 * A workspace path, in UTF-8 bytes: with a user id (512) and an agent id it
 * forms one PostgreSQL index entry (measured: a 2100-byte path fits, 2150 not).
 */
export const MAX_PATH_BYTES = 2048;

/** Long free text: message content, document content, job descriptions, sandbox tasks, action output, run summaries. */
export const MAX_TEXT_CHARS = 4 * 1024 * 1024;
/** Routine prompts and full-job descriptions. */
export const MAX_PROMPT_CHARS = 1024 * 1024;
/** Chunk text. */
export const MAX_CHUNK_CHARS = 128 * 1024;
/**
 * UTF-8 bytes of a chunk's distinct words (after NFKC: "㍿" is four CJK
 * characters). A PostgreSQL tsvector addresses its words with 20-bit
 * offsets: past 1 MiB they wrap, silently, and the last words are never found.
 */
export const MAX_CHUNK_WORD_BYTES = 1_000_000;
/** Search query text. */
export const MAX_QUERY_CHARS = 64 * 1024;
/** Shorter text: job titles, failure reasons, error messages, warnings, trigger details, routine descriptions. */
export const MAX_SHORT_TEXT_CHARS = 64 * 1024;
/** Labels: routine names of conversations, event patterns, filter values, context paths, tool permissions, project dirs, full-job titles. */
export const MAX_LABEL_CHARS = 4096;
/** A cron expression. */
export const MAX_SCHEDULE_CHARS = 256;
/** An IANA time zone name. */
export const MAX_TIMEZONE_CHARS = 64;

/** Serialized size of one JSON value (metadata, a setting value, event data, credential grants), UTF-8 bytes. */
export const MAX_JSON_BYTES = 1024 * 1024;
/** Nesting depth of one JSON value. Kept well under protobuf decoding's own
 * limit of 100 message levels (each JSON level is two or three of them on the
 * wire), so the documented limit is what a gRPC client actually meets. */
export const MAX_JSON_DEPTH = 32;

/** Digits of an exact decimal (before and after the point). */
export const MAX_DECIMAL_DIGITS = 40;

/** Largest `limit` a list method accepts. */
export const MAX_LIST_LIMIT = 1000;
/** Entries of any list or map in one request: ids of a batch, SetAllSettings entries, tool names, warnings, filters… */
export const MAX_LIST_ENTRIES = 1000;
/** Entries of a job's transition history. */
export const MAX_TRANSITIONS = 200;
/** Largest rrf_k of a search. */
export const MAX_RRF_K = 1_000_000;

/** Counts, token totals, durations, ids of events: exact in a JavaScript number, so they fit int64 too. */
export const MAX_COUNT = Number.MAX_SAFE_INTEGER;
/** Fields the schema keeps as 32-bit integers (guardrails, chunk index, tokens of a run, thresholds). */
export const MAX_INT32 = 2 ** 31 - 1;
/** Action sequence numbers and repair attempts (unsigned 32-bit in the reference). */
export const MAX_UINT32 = 2 ** 32 - 1;
