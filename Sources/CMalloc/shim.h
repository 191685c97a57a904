#ifndef SAMBAT_CMALLOC_SHIM_H
#define SAMBAT_CMALLOC_SHIM_H
/* glibc's malloc_trim: an idle node hands the memory its store gave back to the system. */
#include <malloc.h>
#endif
