#include <sqlite3.h>

/* SQLITE_TRANSIENT is a cast of -1 to a function pointer, which Swift cannot import: a fixed-argument wrapper
   that makes SQLite copy the text before the call returns, so Swift's temporary buffer may go away. */
static inline int skylark_sqlite3_bind_text_transient(sqlite3_stmt *statement, int index, const char *text, int bytes) {
    return sqlite3_bind_text(statement, index, text, bytes, SQLITE_TRANSIENT);
}
