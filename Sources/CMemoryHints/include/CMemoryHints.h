#ifndef CMEMORY_HINTS_H
#define CMEMORY_HINTS_H

/* Memory hints Swift cannot express: cache prefetch for the per-packet paths (SRTP contexts, the relay's fan-out),
   and giving freed heap back to the kernel when the server goes idle. */

/// Asks the CPU to start loading the cache line at `address` (a hint; never faults).
static inline void skylark_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }

/// Returns free memory at the top of every malloc arena and whole free pages inside them to the kernel
/// (glibc's malloc_trim); does nothing with another C library.
void skylark_release_free_memory(void);

#endif
