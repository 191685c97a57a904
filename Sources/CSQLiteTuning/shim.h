#ifndef SAMBAT_CSQLITETUNING_SHIM_H
#define SAMBAT_CSQLITETUNING_SHIM_H
/* Process-wide SQLite settings that only the variadic sqlite3_config sets, which Swift
 * cannot call. Each must run before SQLite initializes (the first connection opened);
 * afterwards sqlite3_config answers SQLITE_MISUSE and changes nothing. */
#include <sqlite3.h>

/* Debian builds SQLite without lookaside (SQLITE_OMIT_LOOKASIDE), so every statement step
 * allocates through sqlite3_malloc, and with memory statistics on each allocation and free
 * takes one process-wide mutex to count it. Nothing in Sambat reads those statistics. */
static inline int sambat_sqlite_disable_memory_statistics(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

/* Whether SQLite still counts its memory: the figure is 0 when it does not. */
static inline sqlite3_int64 sambat_sqlite_memory_counted(void) {
    return sqlite3_memory_used();
}
#endif
