#ifndef CMEMORY_HINTS_H
#define CMEMORY_HINTS_H

/* Cache hints for the per-packet paths (SRTP contexts, the relay's fan-out), which Swift cannot express. */

/// Asks the CPU to start loading the cache line at `address` (a hint; never faults).
static inline void skylark_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }

#endif
