#include "CMemoryHints.h"

/* <stdlib.h> first: __GLIBC__ is defined by glibc's own headers, not by the compiler. */
#include <stdlib.h>

#if defined(__GLIBC__)
#include <malloc.h>
void skylark_release_free_memory(void) { (void)malloc_trim(0); }
#else
void skylark_release_free_memory(void) {}
#endif
